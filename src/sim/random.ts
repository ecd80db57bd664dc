import { createHash } from 'node:crypto';

/** Small deterministic PRNG (mulberry32) so that a seed replays the same faults and generated vaults. */
export function seededRandom(seed: number | string): () => number {
  let a = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A string seed as the 32-bit number seededRandom starts from. */
export function hashSeed(seed: string): number {
  return createHash('sha256').update(seed).digest().readUInt32LE(0);
}

/**
 * The PRNG of item `index` (< 2^32) of a sequence seeded with `seedHash`: random access to deterministic items,
 * without hashing per item.
 */
export function itemRandom(seedHash: number, index: number): () => number {
  return seededRandom((seedHash ^ Math.imul(index, 0x9e3779b1)) >>> 0);
}
