import { describe, expect, it } from 'vitest';
import { GIB, MAX_PARTS, MAX_PART_SIZE, MIN_CHUNK_SIZE, isValidChunkSize, partRanges, planChunks } from '../../src/plan/chunks.js';
import { MIB, isTreeHashAligned } from '../../src/verify/tree-hash.js';

const TIB = 1024 * GIB;

describe('chunk plans', () => {
  it('sends an archive no larger than one range in a single verified PutObject', () => {
    expect(planChunks(0)).toMatchObject({ singlePut: true, partCount: 0 });
    expect(planChunks(MIN_CHUNK_SIZE)).toMatchObject({ singlePut: true, partCount: 1 });
    expect(planChunks(MIN_CHUNK_SIZE + 1)).toMatchObject({ singlePut: false, partCount: 2, rangeSize: MIN_CHUNK_SIZE });
  });

  it.each([
    [1, 8 * MIB],
    [100 * GIB, 16 * MIB],
    [1 * TIB, 128 * MIB],
    [39 * TIB, 4 * GIB],
  ])('keeps an archive of %d bytes within 10,000 parts with the smallest power-of-two range', (size, rangeSize) => {
    const plan = planChunks(size);
    expect(plan.rangeSize).toBe(rangeSize);
    expect(plan.partCount).toBeLessThanOrEqual(MAX_PARTS);
    if (plan.rangeSize > MIN_CHUNK_SIZE) expect(Math.ceil(size / (plan.rangeSize / 2))).toBeGreaterThan(MAX_PARTS);
  });

  it('covers Glacier\'s 40 TiB maximum with 5 GiB parts of five 1 GiB ranges', () => {
    const plan = planChunks(40 * TIB);
    expect(plan).toMatchObject({ rangeSize: GIB, partSize: MAX_PART_SIZE, partCount: 8192 });
    const last = partRanges(40 * TIB, plan, plan.partCount);
    expect(last.end).toBe(40 * TIB - 1);
    expect(partRanges(40 * TIB, plan, 2).ranges).toHaveLength(5);
  });

  it('makes every range of every part tree-hash aligned, and the parts cover the archive exactly', () => {
    for (const size of [8 * MIB + 1, 100 * MIB + 12345, 40 * TIB - 7]) {
      const plan = planChunks(size);
      let next = 0;
      for (let p = 1; p <= plan.partCount; p += Math.max(1, Math.floor(plan.partCount / 50))) {
        const part = partRanges(size, plan, p);
        for (const r of part.ranges) expect(isTreeHashAligned(r.start, r.end, size), `${size} ${r.start}-${r.end}`).toBe(true);
        if (p === 1) expect(part.start).toBe(0);
        next = part.end + 1;
      }
      expect(partRanges(size, plan, plan.partCount).end).toBe(size - 1);
      expect(next).toBeGreaterThan(0);
    }
  });

  it('accepts only power-of-two MiB chunk sizes from 8 MiB to 4 GiB', () => {
    expect([4 * MIB, 12 * MIB, 8 * MIB + 1, 8 * GIB].map(isValidChunkSize)).toEqual([false, false, false, false]);
    expect([8 * MIB, 64 * MIB, 4 * GIB].map(isValidChunkSize)).toEqual([true, true, true]);
    expect(() => planChunks(1, 12 * MIB)).toThrow(/power-of-two/);
  });
});
