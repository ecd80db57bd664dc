import { createCipheriv, createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { MIB, combineTreeHashes, treeHash } from '../../verify/tree-hash.js';

/** The bytes of one archive, however they are kept. */
export interface ArchiveContent {
  readonly size: number;
  /** SHA-256 tree hash of the whole archive, hex */
  treeHash(): string;
  /** Tree hash (hex) of bytes [start, endInclusive], which the caller has checked to be tree-hash aligned */
  rangeTreeHash(start: number, endInclusive: number): string;
  /** Streams bytes [start, endInclusive] */
  read(start: number, endInclusive: number): Readable;
}

/** Archive bytes held in a buffer (archives uploaded by clients). */
export class BufferContent implements ArchiveContent {
  private cachedTreeHash?: string;
  constructor(private readonly data: Buffer) {}
  get size() {
    return this.data.length;
  }
  treeHash() {
    return (this.cachedTreeHash ??= treeHash(this.data).toString('hex'));
  }
  rangeTreeHash(start: number, endInclusive: number) {
    return treeHash(this.data.subarray(start, endInclusive + 1)).toString('hex');
  }
  read(start: number, endInclusive: number) {
    return Readable.from([this.data.subarray(start, endInclusive + 1)], { objectMode: false });
  }
}

/** Bytes at the end of every generated leaf that make it unique to its archive and position. */
const TAIL = 32;
/** Distance between the saved SHA-256 states of the pattern's prefixes. */
const MIDSTATE_STEP = 1024;

/**
 * The shared 1 MiB pattern of a generated vault, and SHA-256 states after every KiB of it. Every generated leaf is
 * a prefix of this pattern followed by 32 bytes unique to (archive, leaf index), so a leaf's hash costs a copied
 * state and at most 1 KiB of hashing, not a pass over up to 1 MiB: a 100 GiB vault, or one of ten million small
 * archives, is inventoried quickly, yet no two leaves anywhere are equal, so a swapped, shifted or repeated chunk
 * is caught by the tree hash like any other corruption.
 */
export class GeneratedPattern {
  readonly block: Buffer;
  /** midstates[k]: the hash state after the first k × MIDSTATE_STEP bytes */
  private readonly midstates: Hash[] = [];

  constructor(seed: string) {
    const key = createHash('sha256').update(`pattern:${seed}`).digest();
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    this.block = Buffer.concat([cipher.update(Buffer.alloc(MIB)), cipher.final()]);
    const running = createHash('sha256');
    for (let offset = 0; offset < MIB; offset += MIDSTATE_STEP) {
      this.midstates.push(running.copy());
      running.update(this.block.subarray(offset, offset + MIDSTATE_STEP));
    }
  }

  /** SHA-256 of the pattern's first `prefixLength` bytes followed by `tail`. */
  leafHash(prefixLength: number, tail: Buffer): Buffer {
    const step = Math.floor(prefixLength / MIDSTATE_STEP);
    return this.midstates[step]!.copy()
      .update(this.block.subarray(step * MIDSTATE_STEP, prefixLength))
      .update(tail)
      .digest();
  }
}

export class GeneratedContent implements ArchiveContent {
  private cachedTreeHash?: string;
  private digest?: Buffer;

  constructor(
    private readonly pattern: GeneratedPattern,
    /** unique per archive */
    private readonly archiveSeed: string,
    readonly size: number,
  ) {}

  private leafCount(): number {
    return Math.ceil(this.size / MIB);
  }

  private leafLength(leaf: number): number {
    return Math.min(MIB, this.size - leaf * MIB);
  }

  /** The archive's own digest, with the leaf index mixed into its last bytes. */
  private tail(leaf: number): Buffer {
    this.digest ??= createHash('sha256').update(this.archiveSeed).digest();
    const tail = Buffer.from(this.digest);
    tail.writeUInt32BE((tail.readUInt32BE(TAIL - 4) ^ leaf) >>> 0, TAIL - 4);
    return tail;
  }

  /** The bytes of one leaf as (at most) two slices: the pattern, then the leaf's tail. */
  private leafSlices(leaf: number): Buffer[] {
    const length = this.leafLength(leaf);
    const tailLength = Math.min(TAIL, length);
    return [this.pattern.block.subarray(0, length - tailLength), this.tail(leaf).subarray(0, tailLength)];
  }

  private leafHash(leaf: number): Buffer {
    const [prefix, tail] = this.leafSlices(leaf);
    return this.pattern.leafHash(prefix!.length, tail!);
  }

  private leafRangeHash(firstLeaf: number, lastLeaf: number): string {
    if (this.size === 0) return createHash('sha256').digest('hex');
    const leaves: Buffer[] = [];
    for (let i = firstLeaf; i <= lastLeaf; i++) leaves.push(this.leafHash(i));
    return combineTreeHashes(leaves).toString('hex');
  }

  treeHash(): string {
    return (this.cachedTreeHash ??= this.leafRangeHash(0, this.leafCount() - 1));
  }

  rangeTreeHash(start: number, endInclusive: number): string {
    return this.leafRangeHash(Math.floor(start / MIB), Math.floor(endInclusive / MIB));
  }

  read(start: number, endInclusive: number): Readable {
    const self = this;
    function* slices(): Generator<Buffer> {
      if (endInclusive < start) return;
      for (let leaf = Math.floor(start / MIB); leaf * MIB <= endInclusive; leaf++) {
        let offset = leaf * MIB;
        for (const slice of self.leafSlices(leaf)) {
          const from = Math.max(start, offset);
          const to = Math.min(endInclusive + 1, offset + slice.length);
          if (to > from) yield slice.subarray(from - offset, to - offset);
          offset += slice.length;
        }
      }
    }
    return Readable.from(slices(), { objectMode: false });
  }
}
