import { createHash } from 'node:crypto';

const HALF = 2 ** 24;
/** The largest number a Permutation48 takes. */
export const MAX_PERMUTED = 2 ** 48 - 1;

/**
 * A keyed bijection on 48-bit numbers (a 4-round Feistel network), written as 6 bytes: indexes and sequence
 * numbers carried inside ids look random, like AWS's, yet read back in O(1).
 */
export class Permutation48 {
  private readonly roundKeys: number[];

  constructor(key: string) {
    const digest = createHash('sha256').update(key).digest();
    this.roundKeys = [0, 4, 8, 12].map((offset) => digest.readUInt32LE(offset));
  }

  encode(n: number): Buffer {
    if (!Number.isInteger(n) || n < 0 || n > MAX_PERMUTED) throw new RangeError(`not a 48-bit number: ${n}`);
    let left = Math.floor(n / HALF);
    let right = n % HALF;
    for (const k of this.roundKeys) [left, right] = [right, left ^ round(right, k)];
    const bytes = Buffer.alloc(6);
    bytes.writeUIntBE(left, 0, 3);
    bytes.writeUIntBE(right, 3, 3);
    return bytes;
  }

  decode(bytes: Buffer): number {
    let left = bytes.readUIntBE(0, 3);
    let right = bytes.readUIntBE(3, 3);
    for (let r = this.roundKeys.length - 1; r >= 0; r--) [left, right] = [right ^ round(left, this.roundKeys[r]!), left];
    return left * HALF + right;
  }
}

/** The Feistel round function: 24 bits in, 24 bits out. */
function round(half: number, key: number): number {
  return (Math.imul(half ^ key, 0x9e3779b1) >>> 8) & 0xffffff;
}
