import type { S3Client, _Object } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { listedArchives } from '../plan/already-copied.js';
import type { ArchiveRow, TransferConfig, TransferState } from '../state/db.js';
import { headArchiveObject, whyNotTheArchive } from '../transfer/archive-copy.js';

/** Something in the bucket that is not as the transfer's state says it should be. */
export type CheckProblem =
  /** A verified archive's object is not at its key */
  | { kind: 'missing'; key: string; archiveId: string }
  /** The object at an archive's key is not (or no longer) the archive as it was copied */
  | { kind: 'different'; key: string; archiveId: string; why: string }
  /** The transfer did not copy this archive (yet): it is failed or still in progress */
  | { kind: 'not-copied'; key: string | null; archiveId: string; status: string; reason: string | null }
  /** An object under the prefix that no archive of the state is named */
  | { kind: 'extra'; key: string; size: number };

export interface CheckTotals {
  /** Objects listed under the prefix (transfer markers aside) */
  listed: number;
  /** Archives whose object matches in every respect */
  matched: number;
  missing: number;
  different: number;
  notCopied: number;
  extra: number;
}

/** How to check; what is checked (bucket, prefix, storage class) is the transfer's own configuration. */
export interface CheckOptions {
  /** HeadObject calls in flight */
  concurrency: number;
  onProblem(problem: CheckProblem): void;
  /** Told after each page of the listing, with the totals so far */
  onProgress?(totals: CheckTotals): void;
}

/**
 * Checks the bucket against the state from outside, as rclone's `check` does: the prefix is listed (size and
 * storage class of every object), and each object named by an archive is then read with HeadObject (archive id
 * and tree hash metadata, and the SHA-256 checksum S3 computed, against the one recorded when it was copied).
 * Verified archives that were not listed are missing. Costs one LIST per 1,000 objects and one HEAD per archive.
 */
export async function checkBucket(s3: S3Client, state: TransferState, options: CheckOptions): Promise<CheckTotals> {
  const config = state.config();
  const totals: CheckTotals = { listed: 0, matched: 0, missing: 0, different: 0, notCopied: 0, extra: 0 };
  const report = (problem: CheckProblem) => {
    totals[problem.kind === 'not-copied' ? 'notCopied' : problem.kind]++;
    options.onProblem(problem);
  };
  // One bit per archive (seq): which keys the listing found. 10M archives take 1.25 MB.
  const seen = new Uint8Array((state.lastSeq() >> 3) + 1);
  const limit = pLimit(options.concurrency);
  for await (const page of listedArchives(s3, state)) {
    const checks: Promise<void>[] = [];
    for (const { object, archive } of page) {
      totals.listed++;
      if (!archive) {
        report({ kind: 'extra', key: object.Key!, size: object.Size ?? 0 });
        continue;
      }
      seen[archive.seq >> 3]! |= 1 << (archive.seq & 7);
      if (archive.status !== 'verified') continue; // reported below with the other archives not copied
      checks.push(limit(() => checkObject(s3, config, archive, object).then((why) => (why ? report({ kind: 'different', key: archive.key!, archiveId: archive.archive_id, why }) : void totals.matched++))));
    }
    await Promise.all(checks);
    options.onProgress?.(totals);
  }
  for (const archive of state.iterateArchivesSnapshot()) {
    if (archive.status !== 'verified') {
      report({ kind: 'not-copied', key: archive.key, archiveId: archive.archive_id, status: archive.status, reason: archive.error });
    } else if ((seen[archive.seq >> 3]! & (1 << (archive.seq & 7))) === 0) {
      report({ kind: 'missing', key: archive.key!, archiveId: archive.archive_id });
    }
  }
  return totals;
}

/** Why the object at a verified archive's key is not that archive as copied, or undefined when it is. */
async function checkObject(s3: S3Client, config: TransferConfig, archive: ArchiveRow, listed: _Object): Promise<string | undefined> {
  if (listed.Size !== archive.size) return `size ${listed.Size}, the archive has ${archive.size}`;
  const storageClass = listed.StorageClass ?? 'STANDARD';
  if (storageClass !== config.storageClass) return `storage class ${storageClass}, asked for ${config.storageClass}`;
  const head = await headArchiveObject(s3, config, archive.key!);
  if (!head) return 'deleted while the check ran';
  const why = whyNotTheArchive(head, archive, archive.object_checksum ?? undefined);
  if (why) return why;
  if (archive.version_id && head.VersionId !== archive.version_id) return `version ${head.VersionId ?? '(none)'}, recorded ${archive.version_id}`;
  return undefined;
}
