import { MIB } from '../verify/tree-hash.js';

export const GIB = 1024 * MIB;
/** S3 multipart limits */
export const MAX_PARTS = 10_000;
export const MAX_PART_SIZE = 5 * GIB;
/** The smallest power-of-two MiB that satisfies S3's 5 MiB minimum part size */
export const MIN_CHUNK_SIZE = 8 * MIB;
/** Glacier's largest tree-hash-aligned range that S3 also takes as one part */
const MAX_RANGE_SIZE = 4 * GIB;

/**
 * How one archive is moved. A *range* is one GetJobOutput: a power-of-two MiB at a multiple of its size, so
 * Glacier returns its tree hash. A *part* is one UploadPart: a whole number of ranges, at most 5 GiB.
 */
export interface ChunkPlan {
  rangeSize: number;
  partSize: number;
  partCount: number;
  /** Small archives go in one PutObject after their bytes are verified */
  singlePut: boolean;
}

export class UncopyableArchiveError extends Error {}

export function isValidChunkSize(size: number): boolean {
  return size >= MIN_CHUNK_SIZE && size <= MAX_RANGE_SIZE && size % MIB === 0 && ((size / MIB) & (size / MIB - 1)) === 0;
}

/**
 * The smallest sizes, from `preferredRangeSize` up, that keep the archive within 10,000 parts. Past 4 GiB
 * ranges (about 39 TiB) parts become five 1 GiB ranges, which covers Glacier's 40 TiB maximum.
 */
export function planChunks(size: number, preferredRangeSize = MIN_CHUNK_SIZE): ChunkPlan {
  if (!isValidChunkSize(preferredRangeSize)) throw new RangeError(`chunk size must be a power-of-two MiB from 8 MiB to 4 GiB, got ${preferredRangeSize}`);
  if (size <= preferredRangeSize) return { rangeSize: preferredRangeSize, partSize: preferredRangeSize, partCount: size === 0 ? 0 : 1, singlePut: true };
  let rangeSize = preferredRangeSize;
  while (Math.ceil(size / rangeSize) > MAX_PARTS && rangeSize < MAX_RANGE_SIZE) rangeSize *= 2;
  if (Math.ceil(size / rangeSize) <= MAX_PARTS) {
    return { rangeSize, partSize: rangeSize, partCount: Math.ceil(size / rangeSize), singlePut: false };
  }
  const partCount = Math.ceil(size / MAX_PART_SIZE);
  if (partCount > MAX_PARTS) throw new UncopyableArchiveError(`archive of ${size} bytes needs more than ${MAX_PARTS} parts of 5 GiB`);
  return { rangeSize: GIB, partSize: MAX_PART_SIZE, partCount, singlePut: false };
}

/** Bytes [start, end] (inclusive) of part `partNumber` (1-based) and the download ranges inside it. */
export function partRanges(size: number, plan: Pick<ChunkPlan, 'rangeSize' | 'partSize'>, partNumber: number) {
  const start = (partNumber - 1) * plan.partSize;
  const end = Math.min(size, start + plan.partSize) - 1;
  const ranges: { start: number; end: number }[] = [];
  for (let s = start; s <= end; s += plan.rangeSize) ranges.push({ start: s, end: Math.min(end, s + plan.rangeSize - 1) });
  return { start, end, ranges };
}
