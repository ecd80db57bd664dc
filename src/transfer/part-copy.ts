import type { Readable } from 'node:stream';
import type { MiddlewareStack } from '@aws-sdk/types';
import { GetJobOutputCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { PutObjectCommand, UploadPartCommand, type PutObjectCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { ArchiveFailure, ChunkVerificationError } from '../aws/errors.js';
import { TreeHasher, isTreeHashAligned } from '../verify/tree-hash.js';
import { Sha256TrailerBody } from './trailer-body.js';

/** Where a range's bytes come from: plain data, so that a worker thread can be handed it. */
export interface RangeSpec {
  vault: string;
  archiveId: string;
  archiveSize: number;
  jobId: string;
}

export interface RangeSource extends RangeSpec {
  glacier: GlacierClient;
}

export interface ByteRange {
  start: number;
  end: number;
}

/** What a streaming copy is told while it runs: when to stop, and how many bytes passed (for progress). */
export interface StreamOptions {
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

/** Bytes of one download range, verified against the tree hash Glacier sends with it. */
export interface VerifiedRange extends ByteRange {
  treeHash: string;
}

/**
 * Streams bytes [range.start, range.end] of a retrieval job's output to `sink`, hashing them as they pass, and
 * checks the range's tree hash against `x-amz-sha256-tree-hash`. `onBytes` counts bytes for progress. Throws
 * ChunkVerificationError on a mismatch or a short body, before the last byte reaches the caller's commit point.
 */
export async function streamRange(
  source: RangeSource,
  range: ByteRange,
  sink: (chunk: Buffer) => Promise<void> | void,
  options: StreamOptions = {},
): Promise<VerifiedRange> {
  const out = await source.glacier.send(
    new GetJobOutputCommand({ accountId: '-', vaultName: source.vault, jobId: source.jobId, range: `bytes=${range.start}-${range.end}` }),
    { abortSignal: options.signal },
  );
  const body = out.body as Readable;
  // Errors after we stop reading (an abort, a socket closing late) must not become uncaught exceptions.
  body.on('error', () => undefined);
  // A copy given up while its download waits for bytes (its upload failed, the run stops) ends now, not at the
  // download's next chunk or socket timeout.
  const giveUp = () => body.destroy(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('stream given up'));
  options.signal?.addEventListener('abort', giveUp, { once: true });
  const hasher = new TreeHasher();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      const room = sink(chunk);
      if (room) await room;
      options.onBytes?.(chunk.length);
    }
  } finally {
    options.signal?.removeEventListener('abort', giveUp);
    body.destroy();
  }
  const expectedLength = range.end - range.start + 1;
  const actual = hasher.digest().toString('hex');
  const expected = out.checksum ?? '';
  // Glacier sends the hash of every aligned range (all of ours are): bytes without one are not verified bytes.
  const unverifiable = expected === '' && isTreeHashAligned(range.start, range.end, source.archiveSize);
  if (hasher.bytes !== expectedLength || unverifiable || (expected !== '' && expected !== actual)) {
    throw new ChunkVerificationError(
      source.vault,
      source.archiveId,
      range,
      expected || (unverifiable ? 'an x-amz-sha256-tree-hash header' : `${expectedLength} bytes`),
      hasher.bytes !== expectedLength ? `${hasher.bytes} bytes` : unverifiable ? 'none' : actual,
    );
  }
  return { ...range, treeHash: actual };
}

export interface PartSpec {
  bucket: string;
  key: string;
  uploadId: string;
  partNumber: number;
  expectedBucketOwner?: string;
}

export interface PartTarget extends PartSpec {
  s3: S3Client;
}

export interface CopiedPart {
  etag: string;
  /** base64 SHA-256 of the part, as S3 checks it */
  checksumSha256: string;
  ranges: VerifiedRange[];
}

/**
 * Streams download ranges, one GetJobOutput each, into one S3 request body (an UploadPart or a PutObject) that
 * `send` starts at once. The body carries the SHA-256 of its bytes as a trailer (trailer-body.ts), which S3 checks
 * against what it received (BadDigest otherwise); the trailer goes only once the body ends, and the body ends only
 * once every range's tree hash verified (and `beforeEnd` accepted them), so wrong bytes abort the request before
 * S3 can store anything. Each byte is hashed twice here, tree hash and SHA-256, as design §6 budgets.
 */
export async function streamIntoRequest<R>(
  source: RangeSource,
  ranges: ByteRange[],
  send: (body: Sha256TrailerBody, signal: AbortSignal) => Promise<R>,
  options: StreamOptions & { beforeEnd?: (ranges: VerifiedRange[]) => void } = {},
): Promise<{ result: R; ranges: VerifiedRange[] }> {
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (options.signal?.aborted) onOuterAbort();
  const body = new Sha256TrailerBody(ranges.reduce((n, r) => n + r.end - r.start + 1, 0));
  const request = send(body, abort.signal);
  // Set once this copy gives the request up itself; until then a failed request is the cause of whatever follows.
  let givingUp = false;
  let uploadFailure: unknown;
  // If the request fails first, stop feeding it and stop the download (it may be waiting for bytes); the caller
  // is told the request's failure (e.g. NoSuchUpload), not the download's abort.
  const requestFailed = request.then(
    () => undefined,
    (e: unknown) => {
      body.destroy();
      if (!givingUp) {
        uploadFailure = e;
        abort.abort(e);
      }
      return e;
    },
  );
  const closed = async () => (await requestFailed) ?? new Error('upload stream closed');
  const write = async (chunk: Buffer) => {
    if (!body.destroyed) await body.feed(chunk);
    if (body.destroyed) throw await closed();
  };
  try {
    const verified: VerifiedRange[] = [];
    for (const range of ranges) verified.push(await streamRange(source, range, write, { signal: abort.signal, onBytes: options.onBytes }));
    options.beforeEnd?.(verified);
    if (body.destroyed) throw await closed();
    body.finish();
    return { result: await request, ranges: verified };
  } catch (e) {
    givingUp = true;
    abort.abort(e);
    body.destroy();
    await requestFailed;
    throw uploadFailure ?? e;
  } finally {
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** `command` with `body` as its streamed, SHA-256-trailed request body. */
function withTrailer<C extends UploadPartCommand | PutObjectCommand>(command: C, body: Sha256TrailerBody): C {
  body.attachTo(command.middlewareStack as unknown as MiddlewareStack<object, object>);
  return command;
}

/** Copies one part of a multipart upload; reported (and then recorded) only once S3 confirmed its SHA-256. */
export async function copyPart(
  source: RangeSource,
  target: PartTarget,
  ranges: ByteRange[],
  options: StreamOptions = {},
): Promise<CopiedPart> {
  const { result, ranges: verified } = await streamIntoRequest(
    source,
    ranges,
    (body, signal) =>
      target.s3.send(
        withTrailer(
          new UploadPartCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: target.uploadId,
            PartNumber: target.partNumber,
            Body: body,
            ExpectedBucketOwner: target.expectedBucketOwner,
          }),
          body,
        ),
        { abortSignal: signal },
      ),
    options,
  );
  if (!result.ChecksumSHA256 || !result.ETag) {
    throw new Error(`S3 did not confirm the SHA-256 of part ${target.partNumber} of ${target.key}`);
  }
  return { etag: result.ETag, checksumSha256: result.ChecksumSHA256, ranges: verified };
}

/** A streamed PutObject's settings: everything but its body, which the copy supplies. */
export type PutSpec = Omit<PutObjectCommandInput, 'Body' | 'ContentLength' | 'ChecksumAlgorithm' | 'ChecksumSHA256' | 'IfNoneMatch'> & { Bucket: string; Key: string };

/** The object an archive became: S3's checksum of it, and its version in a versioned bucket. */
export interface StoredObject {
  checksum: string;
  versionId?: string;
}

export function treeHashFailure(inventoryTreeHash: string, actual: string): ArchiveFailure {
  return new ArchiveFailure(`retrieved bytes have tree hash ${actual}, the inventory says ${inventoryTreeHash}`);
}

/**
 * One GetJobOutput of a whole archive streamed into one PutObject (If-None-Match: *): one billed request. The
 * archive's tree hash must be the inventory's before the body ends, so S3 stores the object only if its bytes
 * are the archive's.
 */
export async function putStreamed(source: RangeSource, s3: S3Client, put: PutSpec, inventoryTreeHash: string, options: StreamOptions = {}): Promise<StoredObject> {
  const { result } = await streamIntoRequest(
    source,
    [{ start: 0, end: source.archiveSize - 1 }],
    (body, signal) => s3.send(withTrailer(new PutObjectCommand({ ...put, Body: body, IfNoneMatch: '*' }), body), { abortSignal: signal }),
    {
      ...options,
      beforeEnd: ([whole]) => {
        if (whole!.treeHash !== inventoryTreeHash) throw treeHashFailure(inventoryTreeHash, whole!.treeHash);
      },
    },
  );
  if (!result.ChecksumSHA256) throw new Error(`S3 did not confirm the SHA-256 of ${put.Key}`);
  return { checksum: result.ChecksumSHA256, versionId: result.VersionId };
}
