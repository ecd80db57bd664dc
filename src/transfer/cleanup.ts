import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { TransferState } from '../state/db.js';

/**
 * Aborts multipart uploads under the transfer's keys. At the end of a run (`abandoned` false): those no
 * unfinished archive is using — orphans of crashes between CreateMultipartUpload and its record, of restarts,
 * and of failed archives but for transient failures, kept for the next `resume`. For a transfer that will not
 * be resumed (`abandoned`): every one, since S3 bills their parts until they are aborted. The upload of the KMS key
 * check, if it was left open, goes too. Uploads under keys the transfer did not plan are never touched. Returns
 * how many were aborted.
 */
export async function abortStaleUploads(s3: S3Client, state: TransferState, options: { abandoned: boolean }): Promise<number> {
  const config = state.config();
  const { bucket, prefix, expectedBucketOwner } = config;
  let aborted = 0;
  const abort = async (Key: string, UploadId: string) => {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId, ExpectedBucketOwner: expectedBucketOwner }));
    aborted++;
  };
  let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
  for (;;) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix || undefined, ExpectedBucketOwner: expectedBucketOwner, ...markers }));
    for (const upload of page.Uploads ?? []) {
      if (upload.Key === kmsCheckKey(config)) {
        await abort(upload.Key, upload.UploadId!);
        continue;
      }
      const archive = state.archiveByKey(upload.Key!);
      if (!archive) continue;
      const finished = archive.status === 'verified' || (archive.status === 'failed' && !archive.retryable);
      const inUse = archive.upload_id === upload.UploadId && !finished && !options.abandoned;
      if (inUse) continue;
      await abort(upload.Key!, upload.UploadId!);
      // An archive copied later (retried, or resumed after all) starts a new upload: its parts went with this one.
      if (archive.upload_id === upload.UploadId) state.forgetUpload(archive.seq);
    }
    if (!page.IsTruncated) return aborted;
    markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
  }
}

/** Where the KMS check (engine/validate.ts) creates its upload: under the prefix, named by the transfer's random id. */
export function kmsCheckKey(config: { prefix: string; transferId: string }): string {
  return `${config.prefix}.glacier-copy-kms-check-${config.transferId}`;
}
