import { paginateListObjectsV2, type S3Client, type _Object } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { COUNTER, type ArchiveRow, type TransferState } from '../state/db.js';
import { adoptExistingObject, type StoredObject } from '../transfer/archive-copy.js';
import { isTargetLockKey } from '../transfer/target-lock.js';

/** HeadObject requests in flight at once */
const HEAD_CONCURRENCY = 32;

export interface AlreadyCopied {
  archives: number;
  bytes: number;
}

/**
 * Records as verified, before anything is retrieved, the archives whose verified copy is already at their
 * planned key (an earlier transfer into the same bucket and prefix), so that none is paid for twice. Cheap at
 * millions: the prefix is listed page by page (1,000 keys a request), each key is looked up in the state's key
 * index, and only archives still waiting whose key and size match are checked with HeadObject (the object must
 * carry their archive id and tree hash, and S3's SHA-256 of it), each page's finds written in one transaction.
 */
export async function recordAlreadyCopied(s3: S3Client, state: TransferState, signal: AbortSignal): Promise<AlreadyCopied> {
  const { bucket, expectedBucketOwner } = state.config();
  const head = pLimit(HEAD_CONCURRENCY);
  const found: AlreadyCopied = { archives: 0, bytes: 0 };
  for await (const page of listedArchives(s3, state)) {
    if (signal.aborted) break;
    const candidates: ArchiveRow[] = [];
    for (const { object, archive } of page) {
      // An archive with an upload of its own is being copied by this transfer: its parts decide.
      if (archive?.status === 'planned' && archive.upload_id === null && archive.size === object.Size) candidates.push(archive);
    }
    const checked = await Promise.all(
      candidates.map((archive) => head(async () => ({ archive, stored: await adoptExistingObject({ s3, bucket, expectedBucketOwner }, archive) }))),
    );
    const copied = checked.filter((c): c is { archive: ArchiveRow; stored: StoredObject } => c.stored !== undefined);
    if (copied.length === 0) continue;
    const bytes = copied.reduce((n, c) => n + c.archive.size, 0);
    state.transaction(() => {
      for (const { archive, stored } of copied) {
        state.updateArchive(archive.seq, { status: 'verified', object_checksum: stored.checksum, version_id: stored.versionId ?? null, error: null });
      }
      state.addCounters([
        [COUNTER.alreadyInS3, copied.length],
        [COUNTER.alreadyInS3Bytes, bytes],
      ]);
    });
    found.archives += copied.length;
    found.bytes += bytes;
  }
  return found;
}

/**
 * The objects under the transfer's prefix, one listing page (1,000 keys) at a time, each with the archive its key
 * names, if any (found through the state's key index). The transfer's marker on the target is left out.
 */
export async function* listedArchives(s3: S3Client, state: TransferState): AsyncGenerator<{ object: _Object; archive?: ArchiveRow }[]> {
  const { bucket, prefix, expectedBucketOwner } = state.config();
  const pages = paginateListObjectsV2({ client: s3, pageSize: 1000 }, { Bucket: bucket, Prefix: prefix || undefined, ExpectedBucketOwner: expectedBucketOwner });
  for await (const page of pages) {
    yield (page.Contents ?? []).filter((o) => !isTargetLockKey(o.Key!)).map((object) => ({ object, archive: state.archiveByKey(object.Key!) }));
  }
}
