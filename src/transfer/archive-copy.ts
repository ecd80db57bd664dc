import { setMaxListeners } from 'node:events';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectCommand,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import type { GlacierClient } from '@aws-sdk/client-glacier';
import { ArchiveFailure, describeError, httpStatusOf, isConditionalConflict, isNotFound, isRetryable } from '../aws/errors.js';
import { withRetries } from '../aws/retry.js';
import type { EventSink } from '../events.js';
import { partRanges, planArchive, type ArchivePlan } from '../plan/chunks.js';
import type { Accounting } from '../state/accounting.js';
import { COUNTER, type ArchiveRow, type TransferState } from '../state/db.js';
import { archiveTreeHash, compositeSha256, sha256Base64 } from '../verify/checksums.js';
import { treeHashHex } from '../verify/tree-hash.js';
import type { DataPlane } from './data-plane.js';
import { streamRange, treeHashFailure, type RangeSpec, type StoredObject } from './part-copy.js';

export type { StoredObject };

/** The archive's retrieval job output is gone (24 h window passed, or never existed): request it again. */
export class JobExpiredError extends Error {
  constructor(
    readonly archiveId: string,
    readonly jobId: string,
  ) {
    super(`retrieval job ${jobId} of archive ${archiveId} has expired`);
  }
}

/** The multipart upload is gone without having become the object: the archive is fetched and copied again. */
export class UploadLostError extends Error {
  constructor(
    readonly archiveId: string,
    readonly uploadId: string,
  ) {
    super(`multipart upload ${uploadId} of archive ${archiveId} no longer exists`);
  }
}

/** Runs `fn` in a slot of the pool of streams (parts, streamed archives) in flight. */
export type StreamSlot = <T>(fn: () => Promise<T>) => Promise<T>;

export interface ArchiveCopyContext {
  vault: string;
  bucket: string;
  storageClass: string;
  expectedBucketOwner?: string;
  /** Server-side encryption of the objects written */
  sse?: ObjectEncryption;
  glacier: GlacierClient;
  /** S3 client with the SDK's retries, for calls whose body can be sent again */
  s3: S3Client;
  /** Streams parts and whole archives (a stream cannot be rewound: each attempt is a whole part) */
  dataPlane: DataPlane;
  state: TransferState;
  accounting: Accounting;
  /** Preferred part size of the transfer: archives up to it are written with one PutObject */
  partSize: number;
  /** The shared pool of streams: one slot per part or streamed archive in flight */
  limit: StreamSlot;
  signal: AbortSignal;
  emit: EventSink;
  maxAttempts: number;
}

const EMPTY_TREE_HASH = treeHashHex(Buffer.alloc(0));

export interface ObjectEncryption {
  algorithm: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

/** The parameters that apply one object's settings on PutObject and CreateMultipartUpload alike. */
function objectSettings(ctx: ArchiveCopyContext, archive: ArchiveRow) {
  return {
    Bucket: ctx.bucket,
    Key: archive.key!,
    StorageClass: ctx.storageClass as StorageClass,
    Metadata: objectMetadata(archive),
    ExpectedBucketOwner: ctx.expectedBucketOwner,
    ServerSideEncryption: ctx.sse?.algorithm,
    SSEKMSKeyId: ctx.sse?.kmsKeyId,
  };
}

/**
 * Where the object came from, within S3's 2 KB user-metadata limit (descriptions are ≤ 1024 ASCII). A
 * description that a header cannot carry as it is (not printable ASCII, or with spaces at either end, which HTTP
 * trims from header values) is stored URI-encoded.
 */
export function objectMetadata(archive: ArchiveRow): Record<string, string> {
  const headerSafe = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/.test(archive.description);
  return {
    'glacier-archive-id': archive.archive_id,
    'glacier-tree-hash': archive.tree_hash,
    'glacier-creation-date': archive.creation_date,
    ...(headerSafe
      ? { 'glacier-description': archive.description }
      : { 'glacier-description-uri': encodeURIComponent(archive.description).slice(0, 1500) }),
  };
}

/** The archive's plan: the one its multipart upload was started with, else the one its size calls for now. */
export function planOf(archive: ArchiveRow, partSize: number): ArchivePlan {
  if (archive.upload_id) {
    return { method: 'multipart', rangeSize: archive.range_size!, partSize: archive.part_size!, partCount: archive.part_count! };
  }
  return planArchive(archive.size, partSize);
}

/**
 * Copies one archive whose retrieval job is ready (or which is empty) and records it verified. Throws
 * JobExpiredError when the job output is gone, ArchiveFailure when the archive cannot be copied as it is.
 */
export async function copyArchive(ctx: ArchiveCopyContext, archive: ArchiveRow): Promise<void> {
  if (archive.size === 0) return putBuffered(ctx, archive, Buffer.alloc(0), EMPTY_TREE_HASH);
  const source: RangeSpec = { vault: ctx.vault, archiveId: archive.archive_id, archiveSize: archive.size, jobId: archive.job_id! };
  const onBytes = (n: number) => ctx.emit({ type: 'bytes', n });
  const plan = planOf(archive, ctx.partSize);
  if (plan.method === 'buffered') {
    // Tiny: held in memory (not in a stream slot), so many can be in flight to hide round trips.
    const { data, treeHash } = await retrying(ctx, archive, 1, async () => {
      const chunks: Buffer[] = [];
      const verified = await streamRange({ ...source, glacier: ctx.glacier }, { start: 0, end: archive.size - 1 }, (c) => void chunks.push(c), { signal: ctx.signal, onBytes });
      return { data: Buffer.concat(chunks), treeHash: verified.treeHash };
    }, isRetryable, wholeRange(archive));
    return putBuffered(ctx, archive, data, treeHash);
  }
  if (plan.method === 'streamed') return ctx.limit(() => putStreamed(ctx, archive, source, onBytes));
  return copyMultipart(ctx, archive, plan, source, onBytes);
}

/** The bytes a retried request carries, as logs name them (HTTP's Range syntax). */
function byteRange(start: number, end: number): string {
  return `bytes=${start}-${end}`;
}

function wholeRange(archive: ArchiveRow): string {
  return byteRange(0, archive.size - 1);
}

/**
 * Retries one unit of work (`retryable`: the transient errors by default); a vanished job output surfaces as
 * JobExpiredError. Part 0 is the CompleteMultipartUpload.
 */
function retrying<T>(ctx: ArchiveCopyContext, archive: ArchiveRow, partNumber: number, fn: () => Promise<T>, retryable = isRetryable, range?: string): Promise<T> {
  return withRetries(
    async () => {
      try {
        return await fn();
      } catch (e) {
        if ((e as { name?: string }).name === 'ResourceNotFoundException') {
          throw new JobExpiredError(archive.archive_id, archive.job_id ?? '');
        }
        throw e;
      }
    },
    {
      attempts: ctx.maxAttempts,
      signal: ctx.signal,
      retryable,
      onRetry: (attempt, e) => ctx.emit({ type: 'part-retry', archiveId: archive.archive_id, partNumber, attempt, reason: describeError(e), ...(range && { range }) }),
    },
  );
}

/** A conditional write (If-None-Match): the client retries transient errors itself; one that raced another (409) is sent again here. */
function conditionalWrite<T>(ctx: ArchiveCopyContext, archive: ArchiveRow, partNumber: number, send: () => Promise<T>): Promise<T> {
  return retrying(ctx, archive, partNumber, send, isConditionalConflict);
}

async function putBuffered(ctx: ArchiveCopyContext, archive: ArchiveRow, data: Buffer, treeHash: string): Promise<void> {
  if (treeHash !== archive.tree_hash) throw treeHashFailure(archive.tree_hash, treeHash);
  const checksum = sha256Base64(data);
  let stored: StoredObject;
  try {
    const result = await conditionalWrite(ctx, archive, 1, () =>
      ctx.s3.send(
        new PutObjectCommand({ ...objectSettings(ctx, archive), Body: data, ContentLength: data.length, ChecksumSHA256: checksum, IfNoneMatch: '*' }),
        { abortSignal: ctx.signal },
      ),
    );
    stored = { checksum, versionId: result.VersionId };
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    const adopted = await adoptExistingObject(ctx, archive, checksum);
    if (!adopted) throw keyTaken(archive);
    stored = adopted;
  }
  recordVerified(ctx, archive, stored);
}

/** One GetJobOutput streamed into one PutObject: one billed request, ended only if its bytes are the archive's. */
async function putStreamed(ctx: ArchiveCopyContext, archive: ArchiveRow, source: RangeSpec, onBytes: (n: number) => void): Promise<void> {
  let stored: StoredObject;
  try {
    stored = await retrying(
      ctx,
      archive,
      1,
      () => ctx.dataPlane.putStreamed(source, objectSettings(ctx, archive), archive.tree_hash, { signal: ctx.signal, onBytes }),
      isRetryable,
      wholeRange(archive),
    );
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    // An earlier attempt whose answer was lost stored it (only verified bodies are ever ended), or it is not ours.
    const adopted = await adoptExistingObject(ctx, archive);
    if (!adopted) throw keyTaken(archive);
    stored = adopted;
  }
  recordVerified(ctx, archive, stored);
}

/** The archive is in S3 and verified: its job and upload records are no longer needed. */
function recordVerified(ctx: ArchiveCopyContext, archive: ArchiveRow, stored: StoredObject): void {
  // A multipart archive's bytes were counted part by part.
  if (!archive.upload_id) ctx.accounting.add(COUNTER.bytesCopied, archive.size);
  ctx.state.defer(() => {
    ctx.state.updateArchive(archive.seq, {
      status: 'verified',
      object_checksum: stored.checksum,
      version_id: stored.versionId ?? null,
      error: null,
      job_id: null,
      job_ready_at: null,
    });
    if (archive.upload_id) ctx.state.forgetUpload(archive.seq);
  });
}

async function ensureUpload(ctx: ArchiveCopyContext, archive: ArchiveRow, plan: ArchivePlan): Promise<string> {
  if (archive.upload_id) return archive.upload_id;
  const created = await ctx.s3.send(
    new CreateMultipartUploadCommand({ ...objectSettings(ctx, archive), ChecksumAlgorithm: 'SHA256' }),
    { abortSignal: ctx.signal },
  );
  // An upload created but not recorded (crash right here) is found and aborted by cleanup.
  const uploadId = created.UploadId!;
  ctx.state.setUpload(archive.seq, { uploadId, rangeSize: plan.rangeSize, partSize: plan.partSize, partCount: plan.partCount });
  Object.assign(archive, { upload_id: uploadId, range_size: plan.rangeSize, part_size: plan.partSize, part_count: plan.partCount });
  return uploadId;
}

async function copyMultipart(ctx: ArchiveCopyContext, archive: ArchiveRow, plan: ArchivePlan, source: RangeSpec, onBytes: (n: number) => void) {
  const uploadId = await ensureUpload(ctx, archive, plan);
  const done = new Set(ctx.state.parts(archive.seq).map((p) => p.part_number));
  // One failing part stops its siblings: they would fail the same way (expired job) or waste retrievals.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  setMaxListeners(0, signal); // one listener per part in flight
  const partCtx = { ...ctx, signal };
  const todo: number[] = [];
  for (let n = 1; n <= plan.partCount; n++) if (!done.has(n)) todo.push(n);
  const results = await Promise.allSettled(
    todo.map((partNumber) =>
      ctx.limit(async () => {
        if (signal.aborted) throw signal.reason;
        const { ranges } = partRanges(archive.size, plan, partNumber);
        try {
          const part = await retrying(partCtx, archive, partNumber, () =>
            ctx.dataPlane.copyPart(
              source,
              { bucket: ctx.bucket, key: archive.key!, uploadId, partNumber, expectedBucketOwner: ctx.expectedBucketOwner },
              ranges,
              { signal, onBytes },
            ),
            isRetryable,
            byteRange(ranges[0]!.start, ranges.at(-1)!.end),
          );
          ctx.state.defer(() =>
            ctx.state.recordPart({
            seq: archive.seq,
            part_number: partNumber,
            etag: part.etag,
            checksum_sha256: part.checksumSha256,
              tree_hashes: part.ranges.map((r) => r.treeHash),
            }),
          );
          ctx.accounting.add(COUNTER.bytesCopied, ranges.reduce((n, r) => n + r.end - r.start + 1, 0));
        } catch (e) {
          stop.abort(e);
          throw e;
        }
      }),
    ),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    const reason = stop.signal.reason ?? failure.reason;
    if ((reason as { name?: string }).name === 'NoSuchUpload') ctx.state.forgetUpload(archive.seq);
    throw reason;
  }
  await completeUpload(ctx, archive, uploadId);
}

async function completeUpload(ctx: ArchiveCopyContext, archive: ArchiveRow, uploadId: string): Promise<void> {
  const parts = ctx.state.parts(archive.seq);
  const treeHash = archiveTreeHash(parts.flatMap((p) => p.tree_hashes));
  if (treeHash !== archive.tree_hash) {
    await ctx.s3
      .send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: archive.key!, UploadId: uploadId, ExpectedBucketOwner: ctx.expectedBucketOwner }))
      .catch(() => undefined); // cleanup aborts it later if this fails
    ctx.state.forgetUpload(archive.seq);
    throw treeHashFailure(archive.tree_hash, treeHash);
  }
  const composite = compositeSha256(parts.map((p) => p.checksum_sha256));
  ctx.state.updateArchive(archive.seq, { status: 'completing' });
  let stored: StoredObject | undefined;
  try {
    // If S3 no longer has the upload after a race, it is started over below.
    const result = await conditionalWrite(ctx, archive, 0, () =>
      ctx.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: ctx.bucket,
          Key: archive.key!,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.part_number, ETag: p.etag, ChecksumSHA256: p.checksum_sha256 })) },
          ExpectedBucketOwner: ctx.expectedBucketOwner,
          IfNoneMatch: '*',
        }),
        { abortSignal: ctx.signal },
      ),
    );
    if (result.ChecksumSHA256 !== undefined && result.ChecksumSHA256 !== composite) {
      throw new ArchiveFailure(`S3 reports checksum ${result.ChecksumSHA256} for ${archive.key}, expected ${composite}`);
    }
    stored = { checksum: composite, versionId: result.VersionId };
  } catch (e) {
    stored = isNotFound(e) || isPreconditionFailed(e) ? await adoptExistingObject(ctx, archive, composite) : undefined;
    if (!stored) {
      ctx.state.updateArchive(archive.seq, { status: 'staged' });
      if (isPreconditionFailed(e)) throw keyTaken(archive);
      if ((e as { name?: string }).name === 'NoSuchUpload') {
        // Aborted meanwhile (a lifecycle rule, a cleanup) and not completed: its parts are gone with it.
        ctx.state.forgetUpload(archive.seq);
        throw new UploadLostError(archive.archive_id, uploadId);
      }
      throw e;
    }
  }
  recordVerified(ctx, archive, stored);
}

function isPreconditionFailed(e: unknown): boolean {
  return (e as { name?: string }).name === 'PreconditionFailed' || httpStatusOf(e) === 412;
}

/** Objects are written only where no object is (If-None-Match): a key already taken by something else stays as it is. */
function keyTaken(archive: ArchiveRow): ArchiveFailure {
  return new ArchiveFailure(`an object already exists at ${archive.key} and it is not this archive: left as it is, not overwritten`);
}

/**
 * A write that S3 carried out but whose answer we lost (crash, dropped connection): the object is there. Adopted
 * only if it names our archive and, where we know the checksum it must have (the composite of our recorded
 * parts, the SHA-256 of a buffered put), has that checksum. A streamed put's checksum is S3's own (the SDK
 * hashes the body as it goes), so there the object is adopted on its archive id with the checksum S3 reports:
 * it was written with If-None-Match, and the tool ends a body only after its bytes verified. Returns the
 * adopted object's checksum and version.
 */
export async function adoptExistingObject(
  ctx: Pick<ArchiveCopyContext, 's3' | 'bucket' | 'expectedBucketOwner'>,
  archive: ArchiveRow,
  checksum?: string,
): Promise<StoredObject | undefined> {
  const head = await headArchiveObject(ctx.s3, ctx, archive.key!);
  if (!head || whyNotTheArchive(head, archive, checksum) !== undefined) return undefined;
  return { checksum: head.ChecksumSHA256!, versionId: head.VersionId };
}

/** HeadObject of an archive's key, with S3's checksum; undefined when there is no object. */
export async function headArchiveObject(
  s3: S3Client,
  where: { bucket: string; expectedBucketOwner?: string },
  key: string,
): Promise<HeadObjectCommandOutput | undefined> {
  try {
    return await s3.send(new HeadObjectCommand({ Bucket: where.bucket, Key: key, ChecksumMode: 'ENABLED', ExpectedBucketOwner: where.expectedBucketOwner }));
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Why the object HeadObject described is not `archive` as this tool writes it (the metadata objectMetadata sets,
 * its size, a SHA-256 checksum kept by S3, `checksum` when it is known), or undefined when it is.
 */
export function whyNotTheArchive(head: HeadObjectCommandOutput, archive: ArchiveRow, checksum?: string): string | undefined {
  const meta = head.Metadata ?? {};
  if (meta['glacier-archive-id'] !== archive.archive_id) return `metadata names archive ${meta['glacier-archive-id'] ?? '(none)'}`;
  if (meta['glacier-tree-hash'] !== archive.tree_hash) return `metadata names tree hash ${meta['glacier-tree-hash'] ?? '(none)'}`;
  if (head.ContentLength !== archive.size) return `size ${head.ContentLength}, the archive has ${archive.size}`;
  const found = head.ChecksumSHA256;
  if (found === undefined || (checksum !== undefined && found !== checksum)) return `S3 checksum ${found ?? '(none)'}${checksum === undefined ? '' : `, recorded ${checksum}`}`;
  return undefined;
}
