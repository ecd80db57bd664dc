import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { S3Error, invalidArgument } from './errors.js';
import type { S3Object } from './store.js';

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export const STORAGE_CLASSES = new Set([
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
  'SNOW',
  'EXPRESS_ONEZONE',
]);

/** Archived objects must be restored before GetObject (AWS: 403 InvalidObjectState); HeadObject still works. */
export const ARCHIVED_STORAGE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export function storageClassOf(headers: IncomingHttpHeaders): string {
  const requested = header(headers, 'x-amz-storage-class') ?? 'STANDARD';
  if (!STORAGE_CLASSES.has(requested)) {
    throw new S3Error(400, 'InvalidStorageClass', 'The storage class you specified is not valid', {
      StorageClassRequested: requested,
    });
  }
  return requested;
}

/** User metadata: S3 counts the UTF-8 bytes of names (without `x-amz-meta-`) and values against 2 KB. */
const MAX_METADATA_BYTES = 2048;

export function metadataOf(headers: IncomingHttpHeaders): Record<string, string> {
  const metadata: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const key = name.slice('x-amz-meta-'.length);
    metadata[key] = Array.isArray(value) ? value.join(',') : value;
    size += Buffer.byteLength(key) + Buffer.byteLength(metadata[key]!);
  }
  if (size > MAX_METADATA_BYTES) {
    throw new S3Error(400, 'MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', {
      Size: size,
      MaxSizeAllowed: MAX_METADATA_BYTES,
    });
  }
  return metadata;
}

/** Standard headers S3 stores with an object and returns on GET/HEAD. */
const STORED_HEADERS = [
  'content-type',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
];

const SSE = 'x-amz-server-side-encryption';
const SSE_KMS_KEY = 'x-amz-server-side-encryption-aws-kms-key-id';
const SSE_ALGORITHMS = new Set(['AES256', 'aws:kms', 'aws:kms:dsse']);

/**
 * The server-side encryption of a write, checked as S3 checks it (InvalidArgument for an unknown algorithm, or a
 * KMS key without aws:kms), as S3 reports it: AES256 by default (S3's default since 2023); for SSE-KMS the key's
 * ARN, the account's AWS managed key (aws/s3) when none is named.
 */
export function encryptionOf(headers: IncomingHttpHeaders, region: string, accountId: string): Record<string, string> {
  const algorithm = header(headers, SSE);
  const keyId = header(headers, SSE_KMS_KEY);
  if (algorithm !== undefined && !SSE_ALGORITHMS.has(algorithm)) {
    throw invalidArgument('The encryption method specified is not supported', SSE, algorithm);
  }
  if (!algorithm?.startsWith('aws:kms')) {
    if (keyId !== undefined) {
      throw invalidArgument('Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms', SSE, algorithm ?? 'null');
    }
    return { [SSE]: 'AES256' };
  }
  const keyArn = (id: string) => (id.startsWith('arn:') || id.startsWith('alias/') ? id : `arn:aws:kms:${region}:${accountId}:key/${id}`);
  return { [SSE]: algorithm, [SSE_KMS_KEY]: keyArn(keyId ?? awsManagedKeyId(region, accountId)) };
}

/** The id of the account's AWS managed key for S3 in a region: stable, shaped like a KMS key id. */
function awsManagedKeyId(region: string, accountId: string): string {
  const hex = createHash('sha256').update(`aws/s3:${region}:${accountId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** The encryption headers among an object's or upload's stored headers, as every write and read answers them. */
export function encryptionHeaders(stored: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { [SSE]: stored[SSE] ?? 'AES256' };
  if (stored[SSE_KMS_KEY] !== undefined) out[SSE_KMS_KEY] = stored[SSE_KMS_KEY];
  return out;
}

/** Headers S3 keeps with an object (or upload) and returns on reads, encryption included. */
export function storedHeadersOf(headers: IncomingHttpHeaders, encryption: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...encryption };
  for (const name of STORED_HEADERS) {
    const v = header(headers, name);
    if (v !== undefined) out[name] = v;
  }
  // aws-chunked is transport framing: S3 strips it and keeps any real content coding.
  const encoding = (header(headers, 'content-encoding') ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e !== 'aws-chunked');
  if (encoding.length > 0) out['content-encoding'] = encoding.join(',');
  return out;
}

/** Object keys are at most 1024 bytes of UTF-8. */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key) > 1024) {
    throw new S3Error(400, 'KeyTooLongError', 'Your key is too long', { Size: Buffer.byteLength(key), MaxSizeAllowed: 1024 });
  }
}

/** An integer query parameter within [min, max]; `fallback` when absent. */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min)) {
    throw invalidArgument(`Provided ${name} not an integer or within integer range`, name, raw);
  }
  return Math.min(value, max);
}

/** `encoding-type=url`: keys and prefixes in list responses are URL-encoded (the AWS CLI asks for it). */
export function listEncoder(query: URLSearchParams): (s: string) => string {
  const type = query.get('encoding-type');
  if (type === null) return (s) => s;
  if (type !== 'url') {
    throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', type);
  }
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

const unquote = (etag: string) => etag.trim().replace(/^"(.*)"$/, '$1');

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((e) => e.trim() === '*' || unquote(e) === unquote(etag));
}

function notModifiedSince(since: string | undefined, object: S3Object): boolean {
  const t = since === undefined ? NaN : Date.parse(since);
  return !Number.isNaN(t) && Math.floor(object.lastModified.getTime() / 1000) * 1000 <= t;
}

/** GET/HEAD conditions, in AWS's precedence: a true If-Match overrides If-Unmodified-Since, etc. */
export function checkReadConditions(headers: IncomingHttpHeaders, object: S3Object): 'ok' | 'not-modified' {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifMatch !== undefined && !etagMatches(ifMatch, object.etag)) throw preconditionFailed('If-Match');
  if (ifMatch === undefined) {
    const since = header(headers, 'if-unmodified-since');
    if (since !== undefined && !notModifiedSince(since, object)) throw preconditionFailed('If-Unmodified-Since');
  }
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, object.etag) ? 'not-modified' : 'ok';
  return notModifiedSince(header(headers, 'if-modified-since'), object) ? 'not-modified' : 'ok';
}

/** Conditional writes (PutObject, CompleteMultipartUpload): `If-None-Match: *` and `If-Match: etag`. */
export function checkWriteConditions(headers: IncomingHttpHeaders, existing: S3Object | undefined, key: string): void {
  const ifNoneMatch = header(headers, 'if-none-match');
  const ifMatch = header(headers, 'if-match');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new S3Error(501, 'NotImplemented', 'If-None-Match on writes only takes *');
    if (existing) throw preconditionFailed('If-None-Match');
  }
  if (ifMatch !== undefined) {
    if (!existing) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    if (!etagMatches(ifMatch, existing.etag)) throw preconditionFailed('If-Match');
  }
}

function preconditionFailed(condition: string): S3Error {
  return new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
}
