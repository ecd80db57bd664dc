import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { unescapeXml, xmlElements, type SimRequest } from '../http.js';
import { parseDeclaredBody, receiveBody } from './body.js';
import { rollUp } from './buckets.js';
import { checkKmsKey } from './kms.js';
import { versionHeader } from './objects.js';
import {
  CHECKSUM_ALGORITHMS,
  checksumElement,
  checksumHeader,
  combineCrcs,
  compositeChecksum,
  digestOf,
  isChecksumAlgorithm,
  isCrc,
  type ChecksumAlgorithm,
} from './checksums.js';
import {
  MAX_UPLOAD_BYTES,
  MiB,
  S3Error,
  entityTooLarge,
  invalidArgument,
  invalidRequest,
  malformedXml,
  noSuchUpload,
} from './errors.js';
import {
  checkKey,
  checkWriteConditions,
  encryptionHeaders,
  encryptionOf,
  header,
  intParam,
  listEncoder,
  metadataOf,
  storageClassOf,
  storedHeadersOf,
} from './request.js';
import type { S3Service, S3Target as Target } from './service.js';
import { compareKeys, newId, type Bucket, type Part, type S3Object, type Upload } from './store.js';

/** Every part but the last must be at least 5 MiB (checked on CompleteMultipartUpload). */
export const MIN_PART_BYTES = 5 * MiB;

/**
 * The upload's checksum settings, with S3's rules: SHA1/SHA256 are always COMPOSITE, CRC64NVME always
 * FULL_OBJECT, CRC32/CRC32C COMPOSITE unless FULL_OBJECT is asked for.
 */
function checksumSettings(headers: IncomingHttpHeaders): Pick<Upload, 'checksumAlgorithm' | 'checksumType'> {
  const rawAlgorithm = header(headers, 'x-amz-checksum-algorithm');
  const rawType = header(headers, 'x-amz-checksum-type');
  if (rawAlgorithm === undefined) {
    if (rawType !== undefined) {
      throw invalidRequest('The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.');
    }
    return {};
  }
  const algorithm = rawAlgorithm.toUpperCase();
  if (!isChecksumAlgorithm(algorithm)) {
    throw invalidRequest(
      `Checksum algorithm provided is unsupported. Please try again with any of the valid types: [${CHECKSUM_ALGORITHMS.join(', ')}]`,
    );
  }
  if (rawType !== undefined && rawType !== 'COMPOSITE' && rawType !== 'FULL_OBJECT') {
    throw invalidRequest('Value for x-amz-checksum-type header is invalid.');
  }
  const type = rawType ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
  if ((type === 'FULL_OBJECT' && !isCrc(algorithm)) || (type === 'COMPOSITE' && algorithm === 'CRC64NVME')) {
    throw invalidRequest(`The ${type} checksum type cannot be used with the ${algorithm.toLowerCase()} checksum algorithm.`);
  }
  return { checksumAlgorithm: algorithm, checksumType: type };
}

function uploadFor(s3: S3Service, req: SimRequest, { bucket: name, key }: Target): { bucket: Bucket; upload: Upload } {
  const bucket = s3.bucketFor(req, name);
  const id = req.query.get('uploadId') ?? '';
  const upload = bucket.uploads.get(id);
  if (!upload || upload.key !== key) throw noSuchUpload(id);
  return { bucket, upload };
}

export async function createUpload(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name, key }: Target) {
  const bucket = s3.bucketFor(req, name);
  checkKey(key);
  checkKmsKey(s3, req.headers);
  const upload: Upload = {
    id: newId(),
    bucket: name,
    key,
    initiated: s3.world.clock.now(),
    storageClass: storageClassOf(req.headers),
    metadata: metadataOf(req.headers),
    headers: storedHeadersOf(req.headers, encryptionOf(req.headers, req.region, s3.world.accountId)),
    ...checksumSettings(req.headers),
    parts: new Map(),
  };
  await s3.store.createUpload(bucket, upload);
  s3.sendResult(
    res,
    'InitiateMultipartUploadResult',
    { Bucket: name, Key: key, UploadId: upload.id },
    {
      ...encryptionHeaders(upload.headers),
      ...(upload.checksumAlgorithm && {
        'x-amz-checksum-algorithm': upload.checksumAlgorithm,
        'x-amz-checksum-type': upload.checksumType!,
      }),
    },
  );
}

export async function uploadPart(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  const { bucket, upload } = uploadFor(s3, req, target);
  const rawNumber = req.query.get('partNumber')!;
  const partNumber = /^\d+$/.test(rawNumber) ? Number(rawNumber) : NaN;
  if (!(partNumber >= 1 && partNumber <= 10000)) {
    throw invalidArgument('Part number must be an integer between 1 and 10000, inclusive', 'partNumber', rawNumber);
  }
  const declared = parseDeclaredBody(req.headers);
  if (declared.length > MAX_UPLOAD_BYTES) throw entityTooLarge(declared.length);
  // An upload created with a checksum algorithm takes only parts that carry a checksum of that algorithm.
  const algorithm = declared.checksum?.algorithm;
  if (upload.checksumAlgorithm && algorithm !== upload.checksumAlgorithm) {
    throw invalidRequest(
      `Checksum Type mismatch occurred, expected checksum Type: ${upload.checksumAlgorithm.toLowerCase()}, actual checksum Type: ${algorithm?.toLowerCase() ?? 'null'}`,
    );
  }
  const body = await receiveBody(req, declared, s3.store.storage);
  if (bucket.uploads.get(upload.id) !== upload) {
    // Aborted or completed while the part was arriving.
    await s3.store.storage.remove([body.segment]);
    throw noSuchUpload(upload.id);
  }
  const part: Part = {
    partNumber,
    size: declared.length,
    etag: body.etag,
    lastModified: s3.world.clock.now(),
    checksum: algorithm && { algorithm, value: body.digests.get(algorithm)!.toString('base64') },
    segment: body.segment,
  };
  await s3.store.putPart(upload, part);
  s3.sendEmpty(res, 200, {
    etag: part.etag,
    ...encryptionHeaders(upload.headers),
    ...(part.checksum && { [checksumHeader(part.checksum.algorithm)]: part.checksum.value }),
  });
}

export async function listParts(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  const { upload } = uploadFor(s3, req, target);
  const maxParts = intParam(req.query, 'max-parts', 1000, 0, 1000);
  const marker = intParam(req.query, 'part-number-marker', 0, 0, Number.MAX_SAFE_INTEGER);
  const after = [...upload.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
  const page = after.slice(0, maxParts);
  s3.sendResult(res, 'ListPartsResult', {
    Bucket: upload.bucket,
    Key: upload.key,
    UploadId: upload.id,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.length > 0 ? page[page.length - 1]!.partNumber : marker,
    MaxParts: maxParts,
    IsTruncated: after.length > page.length,
    Part: page.map((p) => ({
      PartNumber: p.partNumber,
      LastModified: p.lastModified,
      ETag: p.etag,
      Size: p.size,
      ...(p.checksum && { [checksumElement(p.checksum.algorithm)]: p.checksum.value }),
    })),
    Initiator: s3.owner(),
    Owner: s3.owner(),
    StorageClass: upload.storageClass,
    ChecksumAlgorithm: upload.checksumAlgorithm,
    ChecksumType: upload.checksumType,
  });
}

interface RequestedPart {
  partNumber: number;
  etag: string;
  checksum?: string;
}

function parseCompleteBody(xml: string, algorithm: ChecksumAlgorithm | undefined): RequestedPart[] {
  const parts = xmlElements(xml, 'Part').map((p) => {
    const number = xmlElements(p, 'PartNumber')[0]?.trim();
    const etag = xmlElements(p, 'ETag')[0];
    if (number === undefined || !/^\d+$/.test(number) || etag === undefined) throw malformedXml();
    const checksum = algorithm && xmlElements(p, checksumElement(algorithm))[0];
    return { partNumber: Number(number), etag: unescapeXml(etag).trim(), checksum: checksum?.trim() };
  });
  if (parts.length === 0 || parts.length > 10000) throw malformedXml();
  return parts;
}

const unquote = (etag: string) => etag.replace(/^"(.*)"$/, '$1');
const encodeKey = (key: string) => encodeURIComponent(key).replace(/%2F/g, '/');

export async function completeUpload(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  const bucket = s3.bucketFor(req, target.bucket);
  const completed = bucket.objects.get(target.key);
  if (completed?.uploadId !== undefined && completed.uploadId === req.query.get('uploadId')) {
    // S3 answers a retried Complete (say, after a lost response) with the same result while the object stands.
    await req.body();
    return sendCompleteResult(s3, req, res, bucket.name, completed);
  }
  const { upload } = uploadFor(s3, req, target);
  checkWriteConditions(req.headers, completed, upload.key);
  const requested = parseCompleteBody((await req.body()).toString('utf8'), upload.checksumAlgorithm);
  if (bucket.uploads.get(upload.id) !== upload) throw noSuchUpload(upload.id);
  const parts = partsToComplete(upload, requested);

  const size = parts.reduce((n, p) => n + p.size, 0);
  const declaredSize = header(req.headers, 'x-amz-mp-object-size');
  if (declaredSize !== undefined && declaredSize !== String(size)) {
    throw invalidRequest(`The provided 'x-amz-mp-object-size' header value ${declaredSize} does not match the object size ${size}.`);
  }
  const checksum = objectChecksum(upload, parts);
  checkObjectChecksumHeader(req.headers, checksum);

  const object: S3Object = {
    id: newId(),
    key: upload.key,
    size,
    etag: `"${digestOf('MD5', ...parts.map((p) => Buffer.from(unquote(p.etag), 'hex'))).toString('hex')}-${parts.length}"`,
    lastModified: s3.world.clock.now(),
    storageClass: upload.storageClass,
    metadata: upload.metadata,
    headers: upload.headers,
    checksum,
    parts: parts.map((p) => ({ size: p.size, checksum: p.checksum?.value })),
    uploadId: upload.id,
    segments: parts.map((p) => p.segment),
  };
  await s3.store.completeUpload(bucket, upload, object);
  sendCompleteResult(s3, req, res, bucket.name, object);
}

function sendCompleteResult(s3: S3Service, req: SimRequest, res: ServerResponse, bucket: string, object: S3Object) {
  const checksum = object.checksum;
  s3.sendResult(
    res,
    'CompleteMultipartUploadResult',
    {
      Location: `http://${header(req.headers, 'host') ?? 'localhost'}/${bucket}/${encodeKey(object.key)}`,
      Bucket: bucket,
      Key: object.key,
      ETag: object.etag,
      ...(checksum && { [checksumElement(checksum.algorithm)]: checksum.value, ChecksumType: checksum.type }),
    },
    { ...encryptionHeaders(object.headers), ...versionHeader(object) },
  );
}

/** The uploaded parts a Complete request names, checked as S3 checks them. */
function partsToComplete(upload: Upload, requested: RequestedPart[]): Part[] {
  const algorithm = upload.checksumAlgorithm;
  const parts: Part[] = [];
  for (const [i, r] of requested.entries()) {
    if (i > 0 && r.partNumber <= requested[i - 1]!.partNumber) {
      throw new S3Error(
        400,
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
        { UploadId: upload.id },
      );
    }
    const part = upload.parts.get(r.partNumber);
    const invalidPart = new S3Error(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      { UploadId: upload.id, PartNumber: r.partNumber, ETag: r.etag },
    );
    if (!part || unquote(part.etag) !== unquote(r.etag)) throw invalidPart;
    // A COMPOSITE checksum is built from the part checksums the client lists, so S3 wants every one of them.
    if (algorithm && upload.checksumType === 'COMPOSITE' && r.checksum === undefined) {
      throw invalidRequest(
        `The upload was created using a ${algorithm.toLowerCase()} checksum. The complete request must include the checksum for each part. It was missing for part ${r.partNumber} in the request.`,
      );
    }
    if (r.checksum !== undefined && r.checksum !== part.checksum?.value) throw invalidPart;
    parts.push(part);
  }
  for (const part of parts.slice(0, -1)) {
    if (part.size < MIN_PART_BYTES) {
      throw new S3Error(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', {
        ProposedSize: part.size,
        MinSizeAllowed: MIN_PART_BYTES,
        PartNumber: part.partNumber,
        ETag: unquote(part.etag),
      });
    }
  }
  return parts;
}

/** COMPOSITE: the checksum of the part checksums, `-N`; FULL_OBJECT: the part CRCs combined into the object's. */
function objectChecksum(upload: Upload, parts: Part[]): S3Object['checksum'] {
  const algorithm = upload.checksumAlgorithm;
  if (!algorithm) return undefined;
  const digests = parts.map((p) => Buffer.from(p.checksum!.value, 'base64'));
  const value =
    upload.checksumType === 'FULL_OBJECT'
      ? combineCrcs(algorithm, parts.map((p, i) => ({ crc: digests[i]!, size: p.size }))).toString('base64')
      : compositeChecksum(algorithm, digests);
  return { algorithm, value, type: upload.checksumType! };
}

/**
 * The optional whole-object checksum header on CompleteMultipartUpload must match what S3 computed; a
 * COMPOSITE value may be given with or without its `-N` suffix.
 */
function checkObjectChecksumHeader(headers: IncomingHttpHeaders, checksum: S3Object['checksum']): void {
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const sent = header(headers, checksumHeader(algorithm));
    if (sent === undefined) continue;
    if (checksum?.algorithm !== algorithm) {
      throw invalidRequest(
        `The upload was created using ${checksum ? `a ${checksum.algorithm.toLowerCase()}` : 'no'} checksum; ${checksumHeader(algorithm)} does not apply to it.`,
      );
    }
    const partCount = checksum.type === 'COMPOSITE' ? checksum.value.split('-')[1] : undefined;
    const matches = sent === checksum.value || (partCount !== undefined && `${sent}-${partCount}` === checksum.value);
    if (!matches) {
      throw new S3Error(400, 'BadDigest', `The ${algorithm.toLowerCase()} you specified did not match the calculated checksum.`);
    }
  }
}

export async function abortUpload(s3: S3Service, req: SimRequest, res: ServerResponse, target: Target) {
  const { bucket, upload } = uploadFor(s3, req, target);
  await s3.store.removeUpload(bucket, upload, []);
  s3.sendEmpty(res, 204);
}

export async function listUploads(s3: S3Service, req: SimRequest, res: ServerResponse, { bucket: name }: { bucket: string }) {
  const bucket = s3.bucketFor(req, name);
  const q = req.query;
  const encode = listEncoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxUploads = intParam(q, 'max-uploads', 1000, 0, 1000);
  const keyMarker = q.get('key-marker') ?? '';
  // The upload-id-marker only counts together with a key-marker: it resumes within that key's uploads.
  const uploadIdMarker = keyMarker === '' ? '' : (q.get('upload-id-marker') ?? '');
  const uploads = [...bucket.uploads.values()]
    .filter((u) => u.key.startsWith(prefix))
    .filter((u) => {
      const c = compareKeys(u.key, keyMarker);
      return keyMarker === '' || c > 0 || (c === 0 && uploadIdMarker !== '' && u.id > uploadIdMarker);
    })
    .sort((a, b) => compareKeys(a.key, b.key) || (a.id < b.id ? -1 : 1));

  const listed: Record<string, unknown>[] = [];
  const commonPrefixes: { Prefix: string }[] = [];
  let last: { key: string; uploadId?: string } | undefined;
  let truncated = false;
  for (const item of rollUp(uploads, (u) => u.key, prefix, delimiter)) {
    // A common prefix returned as the previous page's NextKeyMarker is not listed again.
    if ('commonPrefix' in item && item.commonPrefix === keyMarker) continue;
    if (listed.length + commonPrefixes.length === maxUploads) {
      truncated = true;
      break;
    }
    if ('commonPrefix' in item) {
      commonPrefixes.push({ Prefix: encode(item.commonPrefix) });
      last = { key: item.commonPrefix };
      continue;
    }
    const u = item.entry;
    listed.push({
      Key: encode(u.key),
      UploadId: u.id,
      Initiator: s3.owner(),
      Owner: s3.owner(),
      StorageClass: u.storageClass,
      Initiated: u.initiated,
      ChecksumAlgorithm: u.checksumAlgorithm,
      ChecksumType: u.checksumType,
    });
    last = { key: u.key, uploadId: u.id };
  }
  s3.sendResult(res, 'ListMultipartUploadsResult', {
    Bucket: bucket.name,
    KeyMarker: encode(keyMarker),
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: truncated && last ? encode(last.key) : undefined,
    NextUploadIdMarker: truncated ? last?.uploadId : undefined,
    Delimiter: delimiter === '' ? undefined : encode(delimiter),
    Prefix: encode(prefix),
    MaxUploads: maxUploads,
    EncodingType: q.get('encoding-type') ?? undefined,
    IsTruncated: truncated,
    Upload: listed,
    CommonPrefixes: commonPrefixes,
  });
}
