import type { ServerResponse } from 'node:http';
import { parseRange, unescapeXml, xmlElements, type SimRequest } from '../http.js';
import { parseDeclaredBody, receiveBody, receiveSmallBody } from './body.js';
import { checksumHeader } from './checksums.js';
import { checkKmsKey } from './kms.js';
import {
  MAX_UPLOAD_BYTES,
  S3Error,
  entityTooLarge,
  invalidArgument,
  invalidRequest,
  malformedXml,
  noSuchKey,
} from './errors.js';
import {
  ARCHIVED_STORAGE_CLASSES,
  checkKey,
  checkReadConditions,
  checkWriteConditions,
  encryptionHeaders,
  encryptionOf,
  header,
  metadataOf,
  storageClassOf,
  storedHeadersOf,
} from './request.js';
import type { S3Service, S3Target as Target } from './service.js';
import { newId, type Checksum, type ChecksumType, type S3Object } from './store.js';

export async function putObject(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name, key }: Target) {
  const bucket = s3.bucketFor(req, name);
  checkKey(key);
  const storageClass = storageClassOf(req.headers);
  checkKmsKey(s3, req.headers);
  const metadata = metadataOf(req.headers);
  const declared = parseDeclaredBody(req.headers);
  if (declared.length > MAX_UPLOAD_BYTES) throw entityTooLarge(declared.length);
  checkWriteConditions(req.headers, bucket.objects.get(key), key);
  const body = await receiveBody(req, declared, s3.store.storage);
  const algorithm = declared.checksum?.algorithm;
  const object: S3Object = {
    id: newId(),
    key,
    size: declared.length,
    etag: body.etag,
    lastModified: s3.world.clock.now(),
    storageClass,
    metadata,
    headers: storedHeadersOf(req.headers, encryptionOf(req.headers, req.region, s3.world.accountId)),
    checksum: algorithm && { algorithm, value: body.digests.get(algorithm)!.toString('base64'), type: 'FULL_OBJECT' },
    segments: [body.segment],
  };
  await s3.store.putObject(bucket, object);
  s3.sendEmpty(res, 200, {
    etag: object.etag,
    ...versionHeader(object),
    ...encryptionHeaders(object.headers),
    ...(object.checksum && {
      [checksumHeader(object.checksum.algorithm)]: object.checksum.value,
      'x-amz-checksum-type': object.checksum.type,
    }),
  });
}

export function headObject(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  return readObject(s3, req, res, target, false);
}

export function getObject(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  return readObject(s3, req, res, target, true);
}

async function readObject(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target, withBody: boolean) {
  const bucket = s3.bucketFor(req, target.bucket);
  const object = bucket.objects.get(target.key);
  if (!object) throw noSuchKey(target.key);
  const partParam = req.query.get('partNumber');
  const rangeHeader = header(req.headers, 'range');
  if (partParam !== null && rangeHeader !== undefined) {
    throw invalidRequest('Cannot specify both Range header and partNumber query parameter');
  }
  const partNumber = partParam === null ? undefined : parsePartNumber(partParam);
  if (checkReadConditions(req.headers, object) === 'not-modified') {
    s3.sendEmpty(res, 304, { etag: object.etag, 'last-modified': object.lastModified.toUTCString() });
    return;
  }
  if (withBody) checkReadable(s3, object);

  const { start, end, partial, checksum } = selectBytes(object, partNumber, rangeHeader);
  const headers = objectHeaders(object);
  if (partial) headers['content-range'] = `bytes ${start}-${end}/${object.size}`;
  if (partNumber !== undefined && object.parts) headers['x-amz-mp-parts-count'] = String(object.parts.length);
  headers['content-length'] = String(end - start + 1);
  if (checksum && header(req.headers, 'x-amz-checksum-mode') === 'ENABLED') {
    headers[checksumHeader(checksum.algorithm)] = checksum.value;
    if (checksum.type) headers['x-amz-checksum-type'] = checksum.type;
  }
  res.writeHead(partial ? 206 : 200, s3.responseHeaders(headers));
  if (withBody) await streamBody(s3, req, res, object, start, end);
  else res.end();
}

function checkReadable(s3: S3Service, object: S3Object): void {
  if (ARCHIVED_STORAGE_CLASSES.has(object.storageClass) && !s3.world.options.s3ReadArchived) {
    throw new S3Error(403, 'InvalidObjectState', "The operation is not valid for the object's storage class", {
      StorageClass: object.storageClass,
    });
  }
  if (object.size > 0 && object.segments.some((s) => s.kind === 'hashed')) {
    throw new S3Error(
      501,
      'NotImplemented',
      'This simulator keeps only the size and checksums of object bodies (hashOnly), not the bytes',
    );
  }
}

function objectHeaders(object: S3Object): Record<string, string> {
  const headers: Record<string, string> = {
    'last-modified': object.lastModified.toUTCString(),
    etag: object.etag,
    'accept-ranges': 'bytes',
    'content-type': 'binary/octet-stream',
    'x-amz-server-side-encryption': 'AES256',
    ...object.headers,
  };
  Object.assign(headers, versionHeader(object));
  for (const [k, v] of Object.entries(object.metadata)) headers[`x-amz-meta-${k}`] = v;
  // S3 leaves the storage class header out for STANDARD objects.
  if (object.storageClass !== 'STANDARD') headers['x-amz-storage-class'] = object.storageClass;
  return headers;
}

/** The bytes a GET/HEAD asks for, and the checksum S3 sends for exactly those bytes, if any. */
function selectBytes(
  object: S3Object,
  partNumber: number | undefined,
  range: string | undefined,
): { start: number; end: number; partial: boolean; checksum?: Checksum & { type?: ChecksumType } } {
  const whole = { start: 0, end: object.size - 1, partial: false, checksum: object.checksum };
  if (partNumber !== undefined) {
    // A single-part object is its own part 1.
    const parts = object.parts ?? [{ size: object.size }];
    if (partNumber > parts.length) {
      throw new S3Error(416, 'InvalidPartNumber', 'The requested partnumber is not satisfiable', {
        PartNumberRequested: partNumber,
        ActualPartCount: parts.length,
      });
    }
    if (!object.parts) return whole;
    const start = parts.slice(0, partNumber - 1).reduce((n, p) => n + p.size, 0);
    // A part of a COMPOSITE object comes with that part's own checksum; FULL_OBJECT parts have none to give.
    const value = object.checksum?.type === 'COMPOSITE' ? object.parts[partNumber - 1]!.checksum : undefined;
    const checksum = value === undefined ? undefined : { algorithm: object.checksum!.algorithm, value };
    return { start, end: start + parts[partNumber - 1]!.size - 1, partial: true, checksum };
  }
  if (range === undefined) return whole;
  // The stored checksum covers the whole object, so S3 sends none with a range.
  return { ...parseRange(range, object.size)!, partial: true, checksum: undefined };
}

function parsePartNumber(raw: string): number {
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= 10000)) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', raw);
  }
  return n;
}

/**
 * Streams bytes [start, end] with backpressure. Faults: `corrupt` flips one byte in the middle of the body;
 * `reset` sends the headers and half of the body, then destroys the connection.
 */
async function streamBody(s3: S3Service, req: SimRequest, res: ServerResponse, object: S3Object, start: number, end: number) {
  const length = end - start + 1;
  const corruptAt = req.faults.has('corrupt') && length > 0 ? Math.floor(length / 2) : -1;
  const cutAt = req.faults.has('reset') ? Math.floor(length / 2) : -1;
  if (corruptAt >= 0) s3.world.faults.count('s3', 'GetObject', 'corrupt');
  let sent = 0;
  for await (const bytes of s3.store.storage.read(object.segments, start, end)) {
    let chunk = bytes;
    if (corruptAt >= sent && corruptAt < sent + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[corruptAt - sent] ^= 0xff;
    }
    if (cutAt >= 0 && sent + chunk.length >= cutAt) {
      await new Promise<void>((resolve) => res.write(chunk.subarray(0, cutAt - sent), () => resolve()));
      break;
    }
    sent += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
      if (res.destroyed) return;
    }
  }
  if (cutAt >= 0) {
    s3.world.faults.count('s3', 'GetObject', 'reset');
    res.flushHeaders();
    req.raw.socket.destroy();
    return;
  }
  res.end();
}

export async function deleteObject(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name, key }: Target) {
  const bucket = s3.bucketFor(req, name);
  // Deleting a key that does not exist succeeds too.
  await s3.store.deleteObject(bucket, key);
  s3.sendEmpty(res, 204);
}

/** DeleteObjects: up to 1000 keys; S3 insists on an integrity header (Content-MD5 or a flexible checksum). */
export async function deleteObjects(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: Target) {
  const bucket = s3.bucketFor(req, name);
  const declared = parseDeclaredBody(req.headers);
  if (!declared.contentMd5 && !declared.checksum) {
    throw invalidRequest('Missing required header for this request: Content-MD5');
  }
  const xml = (await receiveSmallBody(req, declared)).toString('utf8');
  const quiet = xmlElements(xml, 'Quiet')[0]?.trim() === 'true';
  const keys = xmlElements(xml, 'Object').map((o) => xmlElements(o, 'Key')[0]);
  if (keys.length === 0 || keys.length > 1000 || keys.some((k) => k === undefined)) throw malformedXml();
  const deleted: { Key: string }[] = [];
  for (const raw of keys) {
    const key = unescapeXml(raw!);
    await s3.store.deleteObject(bucket, key);
    deleted.push({ Key: key });
  }
  s3.sendResult(res, 'DeleteResult', { Deleted: quiet ? [] : deleted });
}

/** x-amz-version-id, for an object written to a bucket with versioning. */
export function versionHeader(object: S3Object): Record<string, string> {
  return object.versionId === undefined ? {} : { 'x-amz-version-id': object.versionId };
}
