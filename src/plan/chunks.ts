import { MIB } from '../verify/tree-hash.js';

export const GIB = 1024 * MIB;
/** S3 multipart limits */
export const MAX_PARTS = 10_000;
export const MAX_PART_SIZE = 5 * GIB;
/** The smallest power-of-two MiB that satisfies S3's 5 MiB minimum part size */
export const MIN_PART_SIZE = 8 * MIB;
/** Glacier's largest tree-hash-aligned range that S3 also takes as one part */
const MAX_RANGE_SIZE = 4 * GIB;
/**
 * Parts of 512 MiB: a 1 GB archive is two parts (four billed requests), a failed part costs at most 512 MiB of
 * download again, and memory does not depend on it (parts are streamed).
 */
export const DEFAULT_PART_SIZE = 512 * MIB;
/** Archives up to this size are held in memory, verified, then written: a failed write does not fetch them again. */
export const BUFFERED_ARCHIVE_BYTES = 256 * 1024;

/**
 * How one archive is written to S3, decided by its size:
 * - `buffered`: fetched into memory, verified, one PutObject (tiny archives);
 * - `streamed`: one GetJobOutput streamed into one PutObject, verified before its last byte leaves (one request);
 * - `multipart`: parts of `partSize`, each a whole number of download ranges of `rangeSize`.
 * A *range* is one GetJobOutput: the whole archive, or a power-of-two MiB at a multiple of its size, so that
 * Glacier returns its tree hash. A *part* is one UploadPart, at most 5 GiB.
 */
export interface ArchivePlan {
  method: 'buffered' | 'streamed' | 'multipart';
  rangeSize: number;
  partSize: number;
  partCount: number;
}

export class UncopyableArchiveError extends Error {}

export function isValidPartSize(size: number): boolean {
  return size >= MIN_PART_SIZE && size <= MAX_RANGE_SIZE && size % MIB === 0 && ((size / MIB) & (size / MIB - 1)) === 0;
}

/** The largest archive that fits in 10,000 parts of 5 GiB (more than Glacier's 40 TiB maximum). */
export const MAX_ARCHIVE_BYTES = MAX_PARTS * MAX_PART_SIZE;

/**
 * The plan for an archive of `size` bytes: one request where one will do, else the smallest parts, from
 * `partSize` up, that keep the archive within 10,000 parts. Past 4 GiB parts (about 39 TiB) parts become five
 * 1 GiB ranges, which covers Glacier's 40 TiB maximum.
 */
export function planArchive(size: number, partSize = DEFAULT_PART_SIZE): ArchivePlan {
  if (!isValidPartSize(partSize)) throw new RangeError(`part size must be a power-of-two MiB from 8 MiB to 4 GiB, got ${partSize}`);
  if (size <= partSize) {
    return { method: size <= BUFFERED_ARCHIVE_BYTES ? 'buffered' : 'streamed', rangeSize: size, partSize: size, partCount: size === 0 ? 0 : 1 };
  }
  let rangeSize = partSize;
  while (Math.ceil(size / rangeSize) > MAX_PARTS && rangeSize < MAX_RANGE_SIZE) rangeSize *= 2;
  if (Math.ceil(size / rangeSize) <= MAX_PARTS) {
    return { method: 'multipart', rangeSize, partSize: rangeSize, partCount: Math.ceil(size / rangeSize) };
  }
  if (size > MAX_ARCHIVE_BYTES) throw new UncopyableArchiveError(`archive of ${size} bytes needs more than ${MAX_PARTS} parts of 5 GiB`);
  return { method: 'multipart', rangeSize: GIB, partSize: MAX_PART_SIZE, partCount: Math.ceil(size / MAX_PART_SIZE) };
}

/** Bytes [start, end] (inclusive) of part `partNumber` (1-based) and the download ranges inside it. */
export function partRanges(size: number, plan: Pick<ArchivePlan, 'rangeSize' | 'partSize'>, partNumber: number) {
  const start = (partNumber - 1) * plan.partSize;
  const end = Math.min(size, start + plan.partSize) - 1;
  const ranges: { start: number; end: number }[] = [];
  for (let s = start; s <= end; s += plan.rangeSize) ranges.push({ start: s, end: Math.min(end, s + plan.rangeSize - 1) });
  return { start, end, ranges };
}
