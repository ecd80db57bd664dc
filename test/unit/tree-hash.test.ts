import { describe, expect, it } from 'vitest';
import { MIB, TreeHasher, combineTreeHashes, isTreeHashAligned, treeHash } from '../../src/verify/tree-hash.js';
import { loadVectors, vectorContent } from '../helpers/vectors.js';

const vectors = loadVectors();

describe('tree hash', () => {
  it.each(vectors.tree_hash)('matches the independent vector for $size bytes', ({ size, sha256_tree_hash }) => {
    expect(treeHash(vectorContent(size)).toString('hex')).toBe(sha256_tree_hash);
  });

  it.each(vectors.range_tree_hash)(
    'matches the vector for bytes $range_start..$range_end_exclusive taken on their own',
    ({ input_size, range_start, range_end_exclusive, sha256_tree_hash }) => {
      const data = vectorContent(input_size).subarray(range_start, range_end_exclusive);
      expect(treeHash(data).toString('hex')).toBe(sha256_tree_hash);
    },
  );

  it('gives the same root however the stream is sliced', () => {
    const data = vectorContent(8400953);
    const expected = vectors.tree_hash.find((v) => v.size === data.length)!.sha256_tree_hash;
    for (const slice of [7, 4093, MIB - 1, MIB, MIB + 7, 3 * MIB]) {
      const hasher = new TreeHasher();
      for (let i = 0; i < data.length; i += slice) hasher.update(data.subarray(i, i + slice));
      expect(hasher.digest().toString('hex'), `slice ${slice}`).toBe(expected);
    }
  });

  it('builds the archive root from the roots of aligned chunks', () => {
    const data = vectorContent(8400953);
    const chunk = 2 * MIB;
    const roots = [];
    for (let i = 0; i < data.length; i += chunk) roots.push(treeHash(data.subarray(i, i + chunk)));
    expect(combineTreeHashes(roots).toString('hex')).toBe(treeHash(data).toString('hex'));
  });
});

describe('tree-hash alignment', () => {
  const size = 8400953; // 8 MiB + a bit: leaves 0..8
  it.each([
    [0, MIB - 1, true],
    [MIB, 2 * MIB - 1, true],
    [2 * MIB, 4 * MIB - 1, true],
    [4 * MIB, 8 * MIB - 1, true],
    [8 * MIB, size - 1, true],
    [0, size - 1, true],
    [MIB, 3 * MIB - 1, false], // two leaves that are not siblings
    [0, 3 * MIB - 1, false], // not a power of two
    [4 * MIB, size - 1, false], // 5 leaves to the end: not one subtree
    [512, MIB - 1, false],
  ])('bytes %i-%i are aligned: %s', (start, end, aligned) => {
    expect(isTreeHashAligned(start, end, size)).toBe(aligned);
  });

  it('treats a short last range that completes a subtree as aligned', () => {
    expect(isTreeHashAligned(4 * MIB, 7 * MIB - 1, 7 * MIB)).toBe(true);
    expect(isTreeHashAligned(4 * MIB, 6 * MIB + 5, 6 * MIB + 6)).toBe(true);
  });
});
