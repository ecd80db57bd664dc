import { stringHash } from '../state/hash.js';

/** Bits per key: with 7 probes, about 1 false "maybe" in 100. */
const BITS_PER_KEY = 10;
const PROBES = 7;

/**
 * A Bloom filter over keys, by their 53-bit hashes: "certainly not taken" answered from a bit array of about
 * 1.2 bytes per key, so that finding a free name for each of millions of same-named archives does not cost a
 * database lookup per try; only a "maybe" is checked against the state.
 */
export class KeyFilter {
  private readonly bits: Uint8Array;
  private readonly size: number;

  constructor(expectedKeys: number) {
    this.size = Math.max(64, expectedKeys * BITS_PER_KEY);
    this.bits = new Uint8Array(Math.ceil(this.size / 8));
  }

  addHash(hash: number): void {
    for (const bit of this.probes(hash)) this.bits[bit >>> 3]! |= 1 << (bit & 7);
  }

  add(key: string): void {
    this.addHash(stringHash(key));
  }

  /** False: no key added is `key`. True: it may be. */
  mayHold(key: string): boolean {
    for (const bit of this.probes(stringHash(key))) if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    return true;
  }

  /** Bit positions by double hashing from the hash's low and high parts. */
  private *probes(hash: number): Generator<number> {
    const low = hash >>> 0;
    const high = Math.floor(hash / 2 ** 32) | 1;
    for (let i = 0; i < PROBES; i++) yield (low + i * high) % this.size;
  }
}
