import { describe, expect, it } from 'vitest';
import {
  BUFFERED_ARCHIVE_BYTES,
  DEFAULT_PART_SIZE,
  GIB,
  MAX_PARTS,
  MAX_PART_SIZE,
  MIN_PART_SIZE,
  isValidPartSize,
  partRanges,
  planArchive,
  type ArchivePlan,
} from '../../src/plan/chunks.js';
import { MIB, isTreeHashAligned } from '../../src/verify/tree-hash.js';

const TIB = 1024 * GIB;

/** S3 write requests an archive costs: one PutObject, or CreateMultipartUpload, its parts and Complete. */
const writeRequests = (plan: ArchivePlan) => (plan.method === 'multipart' ? plan.partCount + 2 : 1);
const MB = 1000 * 1000;

describe('archive plans', () => {
  it('writes an archive no larger than a part with one PutObject: tiny ones from memory, the rest streamed', () => {
    expect(planArchive(0)).toMatchObject({ method: 'buffered', partCount: 0 });
    expect(planArchive(BUFFERED_ARCHIVE_BYTES)).toMatchObject({ method: 'buffered', partCount: 1 });
    expect(planArchive(BUFFERED_ARCHIVE_BYTES + 1)).toMatchObject({ method: 'streamed', partCount: 1, rangeSize: BUFFERED_ARCHIVE_BYTES + 1 });
    expect(planArchive(DEFAULT_PART_SIZE)).toMatchObject({ method: 'streamed', partCount: 1 });
    expect(planArchive(DEFAULT_PART_SIZE + 1)).toMatchObject({ method: 'multipart', partCount: 2, rangeSize: DEFAULT_PART_SIZE, partSize: DEFAULT_PART_SIZE });
  });

  it('bills one S3 request for a 10 MB archive and at most four for a 1 GB one at the default part size', () => {
    expect(writeRequests(planArchive(10 * MB))).toBe(1);
    expect(writeRequests(planArchive(1000 * MB))).toBeLessThanOrEqual(4);
    expect(writeRequests(planArchive(1000 * MB, MIN_PART_SIZE))).toBe(122);
  });

  it.each([
    [100 * GIB, 8 * MIB, 16 * MIB],
    [1 * TIB, 8 * MIB, 128 * MIB],
    [1 * TIB, DEFAULT_PART_SIZE, DEFAULT_PART_SIZE],
    [39 * TIB, DEFAULT_PART_SIZE, 4 * GIB],
  ])('keeps an archive of %d bytes (preferred part %d) within 10,000 parts with the smallest power-of-two part', (size, preferred, partSize) => {
    const plan = planArchive(size, preferred);
    expect(plan).toMatchObject({ method: 'multipart', partSize, rangeSize: partSize });
    expect(plan.partCount).toBeLessThanOrEqual(MAX_PARTS);
    if (plan.partSize > preferred) expect(Math.ceil(size / (plan.partSize / 2))).toBeGreaterThan(MAX_PARTS);
  });

  it("covers Glacier's 40 TiB maximum with 5 GiB parts of five 1 GiB ranges", () => {
    const plan = planArchive(40 * TIB);
    expect(plan).toMatchObject({ rangeSize: GIB, partSize: MAX_PART_SIZE, partCount: 8192 });
    const last = partRanges(40 * TIB, plan, plan.partCount);
    expect(last.end).toBe(40 * TIB - 1);
    expect(partRanges(40 * TIB, plan, 2).ranges).toHaveLength(5);
  });

  it('makes every range of every part tree-hash aligned, and the parts cover the archive exactly', () => {
    for (const [size, preferred] of [
      [8 * MIB + 1, MIN_PART_SIZE],
      [100 * MIB + 12345, MIN_PART_SIZE],
      [3 * GIB + 5, DEFAULT_PART_SIZE],
      [40 * TIB - 7, DEFAULT_PART_SIZE],
    ] as const) {
      const plan = planArchive(size, preferred);
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

  it('reads a single-request archive as one range: the whole archive, which Glacier always hashes', () => {
    const size = 5 * MIB + 3;
    const plan = planArchive(size);
    expect(partRanges(size, plan, 1).ranges).toEqual([{ start: 0, end: size - 1 }]);
    expect(isTreeHashAligned(0, size - 1, size)).toBe(true);
  });

  it('accepts only power-of-two MiB part sizes from 8 MiB to 4 GiB', () => {
    expect([4 * MIB, 12 * MIB, 8 * MIB + 1, 8 * GIB].map(isValidPartSize)).toEqual([false, false, false, false]);
    expect([8 * MIB, 64 * MIB, 4 * GIB].map(isValidPartSize)).toEqual([true, true, true]);
    expect(() => planArchive(1, 12 * MIB)).toThrow(/power-of-two/);
  });
});
