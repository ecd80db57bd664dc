import type { ServerResponse } from 'node:http';
import { unescapeXml, xmlElements, type SimRequest } from '../http.js';
import { S3Error, invalidArgument } from './errors.js';
import { intParam, listEncoder } from './request.js';
import type { S3Service, S3Target as Target } from './service.js';
import { compareKeys, keyIndex, type Bucket } from './store.js';

/** General purpose bucket naming rules (S3 User Guide, "Bucket naming rules"). */
function checkBucketName(name: string): void {
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !/^(xn--|sthree-|amzn-s3-demo-)/.test(name) &&
    !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name);
  if (!valid) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.', { BucketName: name });
}

const illegalConstraint = (constraint: string) =>
  new S3Error(
    400,
    'IllegalLocationConstraintException',
    `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
  );

export async function createBucket(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  checkBucketName(name);
  const body = (await req.body()).toString('utf8');
  const constraint = xmlElements(body, 'LocationConstraint').map((c) => unescapeXml(c).trim())[0] || undefined;
  let region: string;
  if (constraint === undefined) {
    // Outside us-east-1, S3 wants the region named: "The unspecified location constraint is incompatible …".
    if (req.region !== 'us-east-1') throw illegalConstraint('unspecified');
    region = 'us-east-1';
  } else {
    region = constraint === 'EU' ? 'eu-west-1' : constraint;
    // us-east-1 is the default and may not be named; other regions must look like regions.
    if (constraint === 'us-east-1' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
      throw new S3Error(400, 'InvalidLocationConstraint', 'The specified location-constraint is not valid', {
        LocationConstraint: constraint,
      });
    }
    // Only the us-east-1 endpoint creates buckets in other regions.
    if (req.region !== 'us-east-1' && req.region !== region) throw illegalConstraint(constraint);
  }
  const existing = s3.store.buckets.get(name);
  if (existing) {
    // Legacy us-east-1 behaviour: creating a bucket you already own there succeeds again.
    if (existing.region === 'us-east-1' && region === 'us-east-1') return s3.sendEmpty(res, 200, { location: `/${name}` });
    throw new S3Error(
      409,
      'BucketAlreadyOwnedByYou',
      'Your previous request to create the named bucket succeeded and you already own it.',
      { BucketName: name },
    );
  }
  await s3.store.createBucket(name, region, s3.world.clock.now());
  s3.sendEmpty(res, 200, { location: `/${name}` });
}

export async function headBucket(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  s3.sendEmpty(res, 200, { 'x-amz-bucket-region': bucket.region, 'x-amz-access-point-alias': 'false' });
}

export async function deleteBucket(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  if (bucket.objects.size > 0) {
    throw new S3Error(409, 'BucketNotEmpty', 'The bucket you tried to delete is not empty', { BucketName: name });
  }
  await s3.store.deleteBucket(bucket);
  s3.sendEmpty(res, 204);
}

export async function listBuckets(s3: S3Service, req: SimRequest, res: ServerResponse) {
  const q = req.query;
  const prefix = q.get('prefix') ?? '';
  const region = q.get('bucket-region');
  const max = intParam(q, 'max-buckets', 10000, 1, 10000);
  const after = q.get('continuation-token');
  const names = [...s3.store.buckets.values()]
    .filter((b) => b.name.startsWith(prefix) && (region === null || b.region === region))
    .sort((a, b) => compareKeys(a.name, b.name))
    .filter((b) => after === null || compareKeys(b.name, after) > 0);
  const page = names.slice(0, max);
  s3.sendResult(res, 'ListAllMyBucketsResult', {
    Owner: s3.owner(),
    Buckets: { Bucket: page.map((b) => ({ Name: b.name, CreationDate: b.created, BucketRegion: b.region })) },
    Prefix: q.get('prefix') ?? undefined,
    ContinuationToken: names.length > max ? page[page.length - 1]!.name : undefined,
  });
}

/** Works from any region: it is how clients find a bucket's region. us-east-1 is the empty constraint. */
export async function getBucketLocation(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name, { anyRegion: true });
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${
    bucket.region === 'us-east-1' ? '' : bucket.region
  }</LocationConstraint>`;
  res.writeHead(200, s3.responseHeaders({ 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(text)) }));
  res.end(text);
}

export type Listed<T> = { entry: T; key: string } | { commonPrefix: string; key: string };

/**
 * Rolls entries (in key order, all starting with `prefix`) whose key has `delimiter` after the prefix up into
 * one common prefix each; `key` of a common prefix is the first key under it.
 */
export function* rollUp<T>(entries: Iterable<T>, keyOf: (t: T) => string, prefix: string, delimiter: string): Generator<Listed<T>> {
  let last: string | undefined;
  for (const entry of entries) {
    const key = keyOf(entry);
    const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    if (at === -1) {
      yield { entry, key };
      continue;
    }
    const commonPrefix = key.slice(0, at + delimiter.length);
    if (commonPrefix !== last) yield { commonPrefix, key };
    last = commonPrefix;
  }
}

function* keysFrom(bucket: Bucket, start: number, prefix: string): Generator<string> {
  for (let i = start; i < bucket.keys.length && bucket.keys[i]!.startsWith(prefix); i++) yield bucket.keys[i]!;
}

interface ListPage {
  contents: Record<string, unknown>[];
  commonPrefixes: { Prefix: string }[];
  /** the first key not listed, when the page is truncated */
  nextKey?: string;
  /** the last key or common prefix listed */
  last?: string;
}

/** One page of a bucket listing from key index `start`; `skipPrefix` is a common prefix a previous page listed. */
function listPage(
  s3: S3Service,
  bucket: Bucket,
  q: URLSearchParams,
  start: number,
  options: { maxKeys: number; withOwner: boolean; skipPrefix?: string },
): ListPage {
  const encode = listEncoder(q);
  const prefix = q.get('prefix') ?? '';
  const page: ListPage = { contents: [], commonPrefixes: [] };
  for (const item of rollUp(keysFrom(bucket, start, prefix), (k) => k, prefix, q.get('delimiter') ?? '')) {
    if ('commonPrefix' in item && item.commonPrefix === options.skipPrefix) continue;
    if (page.contents.length + page.commonPrefixes.length === options.maxKeys) {
      page.nextKey = item.key;
      break;
    }
    if ('commonPrefix' in item) {
      page.commonPrefixes.push({ Prefix: encode(item.commonPrefix) });
      page.last = item.commonPrefix;
      continue;
    }
    const o = bucket.objects.get(item.entry)!;
    page.contents.push({
      Key: encode(o.key),
      LastModified: o.lastModified,
      ETag: o.etag,
      ChecksumAlgorithm: o.checksum?.algorithm,
      ChecksumType: o.checksum?.type,
      Size: o.size,
      Owner: options.withOwner ? s3.owner() : undefined,
      StorageClass: o.storageClass,
    });
    page.last = o.key;
  }
  return page;
}

/** The listing parameters both ListObjects versions share, echoed in their responses. */
function listingEcho(q: URLSearchParams, bucket: Bucket, maxKeys: number) {
  const encode = listEncoder(q);
  const delimiter = q.get('delimiter') ?? '';
  return {
    Name: bucket.name,
    Prefix: encode(q.get('prefix') ?? ''),
    Delimiter: delimiter === '' ? undefined : encode(delimiter),
    MaxKeys: maxKeys,
    EncodingType: q.get('encoding-type') ?? undefined,
  };
}

export async function listObjectsV2(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  const q = req.query;
  const encode = listEncoder(q);
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after');
  let start = keyIndex(bucket.keys, q.get('prefix') ?? '');
  // The continuation token is the (opaque) key the next page starts at; it takes precedence over start-after.
  if (token !== null) {
    if (token === '') throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
    start = Math.max(start, keyIndex(bucket.keys, Buffer.from(token, 'base64url').toString('utf8')));
  } else if (startAfter !== null) {
    start = Math.max(start, keyIndex(bucket.keys, startAfter, true));
  }
  const page = listPage(s3, bucket, q, start, { maxKeys, withOwner: q.get('fetch-owner') === 'true' });
  s3.sendResult(res, 'ListBucketResult', {
    ...listingEcho(q, bucket, maxKeys),
    KeyCount: page.contents.length + page.commonPrefixes.length,
    IsTruncated: page.nextKey !== undefined,
    ContinuationToken: token ?? undefined,
    NextContinuationToken: page.nextKey === undefined ? undefined : Buffer.from(page.nextKey).toString('base64url'),
    StartAfter: startAfter === null ? undefined : encode(startAfter),
    Contents: page.contents,
    CommonPrefixes: page.commonPrefixes,
  });
}

/**
 * ListObjects (version 1): resumes after `marker`, which may be a common prefix the previous page listed;
 * NextMarker is only sent with a delimiter (clients use the last key otherwise).
 */
export async function listObjects(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  const q = req.query;
  const encode = listEncoder(q);
  const maxKeys = intParam(q, 'max-keys', 1000, 0, 1000);
  const marker = q.get('marker') ?? '';
  const start = Math.max(keyIndex(bucket.keys, q.get('prefix') ?? ''), keyIndex(bucket.keys, marker, true));
  const page = listPage(s3, bucket, q, start, { maxKeys, withOwner: true, skipPrefix: marker });
  const truncated = page.nextKey !== undefined;
  s3.sendResult(res, 'ListBucketResult', {
    ...listingEcho(q, bucket, maxKeys),
    Marker: encode(marker),
    NextMarker: truncated && q.get('delimiter') && page.last !== undefined ? encode(page.last) : undefined,
    IsTruncated: truncated,
    Contents: page.contents,
    CommonPrefixes: page.commonPrefixes,
  });
}

/** PutBucketVersioning: Enabled or Suspended (MFA delete is not simulated). */
export async function putBucketVersioning(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  const body = (await req.body()).toString('utf8');
  const status = xmlElements(body, 'Status').map((c) => unescapeXml(c).trim())[0];
  if (status !== 'Enabled' && status !== 'Suspended') throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');
  await s3.store.setVersioning(bucket, status);
  s3.sendEmpty(res, 200);
}

export async function getBucketVersioning(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  s3.sendResult(res, 'VersioningConfiguration', bucket.versioning ? { Status: bucket.versioning } : {});
}
