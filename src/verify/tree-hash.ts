import { createHash } from 'node:crypto';

/** Glacier hashes data in 1 MiB leaves. */
export const MIB = 1024 * 1024;

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Folds digests pairwise, level by level, to one root; an odd digest at the end of a level is carried up
 * unchanged. Used both for leaves (1 MiB hashes) and for aligned subtrees (chunk tree hashes).
 */
export function combineTreeHashes(digests: readonly Buffer[]): Buffer {
  if (digests.length === 0) return sha256();
  let level = [...digests];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? sha256(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}

/**
 * Streaming SHA-256 tree hash: feed bytes in any slicing, get the root. Memory is one digest per leaf
 * folded eagerly, so a multi-GiB stream costs O(log n) digests, not O(n).
 */
export class TreeHasher {
  private leaf = createHash('sha256');
  private leafBytes = 0;
  private total = 0;
  /** stack[i] holds a completed subtree of 2^i leaves waiting for its sibling */
  private readonly stack: (Buffer | undefined)[] = [];

  update(data: Buffer): this {
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(MIB - this.leafBytes, data.length - offset);
      this.leaf.update(data.subarray(offset, offset + take));
      this.leafBytes += take;
      offset += take;
      if (this.leafBytes === MIB) this.closeLeaf();
    }
    this.total += data.length;
    return this;
  }

  get bytes(): number {
    return this.total;
  }

  /** Root of everything fed so far. The hasher cannot be used afterwards. */
  digest(): Buffer {
    if (this.leafBytes > 0 || this.total === 0) this.closeLeaf();
    // Fold the remaining subtrees from the smallest up: the right-most (smallest) subtree is an odd one out
    // at each level until it meets a larger left sibling, which matches the level-by-level definition.
    let carry: Buffer | undefined;
    for (const node of this.stack) {
      if (node === undefined) continue;
      carry = carry === undefined ? node : sha256(node, carry);
    }
    return carry!;
  }

  private closeLeaf(): void {
    let node: Buffer = this.leaf.digest();
    this.leaf = createHash('sha256');
    this.leafBytes = 0;
    let i = 0;
    while (this.stack[i] !== undefined) {
      node = sha256(this.stack[i]!, node);
      this.stack[i] = undefined;
      i++;
    }
    this.stack[i] = node;
  }
}

export function treeHash(data: Buffer): Buffer {
  return new TreeHasher().update(data).digest();
}

export function treeHashHex(data: Buffer): string {
  return treeHash(data).toString('hex');
}

/**
 * Whether Glacier returns a tree hash for bytes [start, endInclusive] of an archive of `size` bytes:
 * the range must cover a whole subtree of the archive's tree, i.e. be 2^k MiB long (or run to the end of the
 * archive) and start at a multiple of that length.
 */
export function isTreeHashAligned(start: number, endInclusive: number, size: number): boolean {
  if (start < 0 || endInclusive < start || endInclusive >= size) return false;
  if (start === 0 && endInclusive === size - 1) return true;
  if (start % MIB !== 0) return false;
  const length = endInclusive - start + 1;
  const toEnd = endInclusive === size - 1;
  // The subtree size is the smallest power-of-two number of leaves that holds the range.
  let span = MIB;
  while (span < length) span *= 2;
  if (!toEnd && span !== length) return false;
  return start % span === 0;
}
