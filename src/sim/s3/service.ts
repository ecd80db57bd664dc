import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { toXml, type FaultErrors, type Route, type SimError, type SimRequest, type SimService } from '../http.js';
import type { SimWorld } from '../world.js';
import * as buckets from './buckets.js';
import { S3Error, noSuchBucket, notImplemented } from './errors.js';
import * as multipart from './multipart.js';
import * as objects from './objects.js';
import { header } from './request.js';
import { S3Store, type Bucket } from './store.js';

const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** Subresources of the S3 API this simulator does not implement; asking for one gets 501, never a wrong answer. */
const UNSUPPORTED_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metadataTable', 'metrics', 'notification', 'object-lock', 'ownershipControls',
  'policy', 'policyStatus', 'publicAccessBlock', 'renameObject', 'replication', 'requestPayment', 'restore',
  'retention', 'select', 'session', 'tagging', 'torrent', 'versionId', 'versions', 'website',
];

/** Writes that take If-None-Match / If-Match */
const CONDITIONAL_WRITES = new Set(['PutObject', 'CompleteMultipartUpload']);

/** What a path-style request addresses: `/`, `/{bucket}` or `/{bucket}/{key}`. */
interface Target {
  bucket?: string;
  key?: string;
}

type Handler = (s3: S3Service, req: SimRequest, res: ServerResponse, target: Required<Target>) => Promise<void>;

/**
 * Amazon S3 over the REST-XML protocol, path-style addressing: buckets, objects with storage classes, metadata and
 * flexible checksums, multipart uploads with composite checksums, listings. Enough for the tool, the AWS SDK v3,
 * the AWS CLI and boto3, with S3's own error codes.
 */
/** The bucket and key a request is about (key '' for bucket operations). */
export interface S3Target {
  bucket: string;
  key: string;
}

export class S3Service implements SimService {
  readonly name = 's3';
  readonly store: S3Store;
  /** The account's canonical user id, as S3 shows it in Owner and Initiator elements. */
  readonly canonicalUserId: string;

  constructor(readonly world: SimWorld) {
    this.store = new S3Store(world.options.dataDir, world.options.hashOnly ?? false, world.log);
    this.canonicalUserId = createHash('sha256').update(world.accountId).digest('hex');
  }

  route(req: SimRequest): Route {
    const target = parseTarget(req.raw.url ?? '/');
    const q = req.query;
    const m = req.method;
    const unsupported = UNSUPPORTED_SUBRESOURCES.find((name) => q.has(name));
    if (unsupported) throw notImplemented(`${m} ?${unsupported}`);

    if (target.bucket === undefined) {
      if (m === 'GET') return this.bind('ListBuckets', buckets.listBuckets, target);
    } else if (target.key === undefined) {
      if (m === 'PUT' && q.has('versioning')) return this.bind('PutBucketVersioning', buckets.putBucketVersioning, target);
      if (m === 'GET' && q.has('versioning')) return this.bind('GetBucketVersioning', buckets.getBucketVersioning, target);
      if (m === 'PUT') return this.bind('CreateBucket', buckets.createBucket, target);
      if (m === 'HEAD') return this.bind('HeadBucket', buckets.headBucket, target);
      if (m === 'DELETE') return this.bind('DeleteBucket', buckets.deleteBucket, target);
      if (m === 'GET' && q.has('location')) return this.bind('GetBucketLocation', buckets.getBucketLocation, target);
      if (m === 'GET' && q.has('uploads')) return this.bind('ListMultipartUploads', multipart.listUploads, target);
      if (m === 'GET' && q.get('list-type') === '2') return this.bind('ListObjectsV2', buckets.listObjectsV2, target);
      if (m === 'GET') return this.bind('ListObjects', buckets.listObjects, target);
      if (m === 'POST' && q.has('delete')) return this.bind('DeleteObjects', objects.deleteObjects, target);
    } else {
      if (req.headers['x-amz-copy-source'] !== undefined) throw notImplemented('CopyObject / UploadPartCopy');
      const uploadId = q.has('uploadId');
      if (m === 'PUT' && uploadId && q.has('partNumber')) return this.bind('UploadPart', multipart.uploadPart, target);
      if (m === 'PUT' && !uploadId) return this.bind('PutObject', objects.putObject, target);
      if (m === 'GET' && uploadId) return this.bind('ListParts', multipart.listParts, target);
      if (m === 'GET') return this.bind('GetObject', objects.getObject, target);
      if (m === 'HEAD') return this.bind('HeadObject', objects.headObject, target);
      if (m === 'DELETE' && uploadId) return this.bind('AbortMultipartUpload', multipart.abortUpload, target);
      if (m === 'DELETE') return this.bind('DeleteObject', objects.deleteObject, target);
      if (m === 'POST' && q.has('uploads')) return this.bind('CreateMultipartUpload', multipart.createUpload, target);
      if (m === 'POST' && uploadId) return this.bind('CompleteMultipartUpload', multipart.completeUpload, target);
    }
    throw new S3Error(405, 'MethodNotAllowed', `The specified method is not allowed against this resource: ${m}`);
  }

  private bind(operation: string, handler: Handler, target: Target): Route {
    return {
      operation,
      handle: async (req, res) => {
        try {
          await handler(this, req, res, { bucket: target.bucket ?? '', key: target.key ?? '' });
        } catch (e) {
          // Refused before its body was read (no such upload …): discard the body here, since the server's own
          // drain would buffer a part of up to 5 GiB.
          if (!res.headersSent) await discardBody(req);
          throw e;
        }
      },
    };
  }

  /**
   * The bucket a request addresses, checked as S3 does: 404 NoSuchBucket; 301 PermanentRedirect with
   * x-amz-bucket-region when the request was signed for another region (a path-style request reaches that
   * region's endpoint, which redirects; HEAD gets the bare 301); 403 when x-amz-expected-bucket-owner names
   * another account.
   */
  bucketFor(req: SimRequest, name: string, options: { anyRegion?: boolean } = {}): Bucket {
    const bucket = this.store.buckets.get(name);
    if (!bucket) throw noSuchBucket(name);
    if (!options.anyRegion && bucket.region !== req.region) {
      throw new S3Error(
        301,
        'PermanentRedirect',
        'The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.',
        { Endpoint: `s3.${bucket.region}.amazonaws.com`, Bucket: name },
        { 'x-amz-bucket-region': bucket.region },
      );
    }
    const owner = header(req.headers, 'x-amz-expected-bucket-owner');
    if (owner !== undefined && owner !== this.world.accountId) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    return bucket;
  }

  /** Headers every S3 response carries. */
  responseHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { 'x-amz-request-id': requestId(), 'x-amz-id-2': randomBytes(24).toString('base64'), server: 'AmazonS3', ...extra };
  }

  sendResult(res: ServerResponse, root: string, fields: Record<string, unknown>, headers: Record<string, string> = {}): void {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_NS}">${toXml(fields)}</${root}>`;
    const length = String(Buffer.byteLength(text));
    res.writeHead(200, this.responseHeaders({ 'content-type': 'application/xml', 'content-length': length, ...headers }));
    res.end(text);
  }

  sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
    res.writeHead(status, this.responseHeaders({ 'content-length': '0', ...headers }));
    res.end();
  }

  owner(): { ID: string } {
    return { ID: this.canonicalUserId };
  }

  sendError(res: ServerResponse, err: SimError, req: SimRequest): void {
    const headers = this.responseHeaders({ 'content-type': 'application/xml', ...err.headers });
    // HEAD responses carry no body, so clients see only the status (the SDK names it NotFound, Forbidden …).
    if (req.method === 'HEAD') {
      res.writeHead(err.status, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    const fields = err instanceof S3Error ? err.fields : {};
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${toXml({
      Code: err.code,
      Message: err.message,
      ...fields,
      RequestId: headers['x-amz-request-id'],
      HostId: headers['x-amz-id-2'],
    })}</Error>`;
    res.writeHead(err.status, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  readonly faultErrors: FaultErrors = {
    throttle: () => new S3Error(503, 'SlowDown', 'Please reduce your request rate.'),
    '500': () => new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'),
    '503': () => new S3Error(503, 'ServiceUnavailable', 'Please reduce your request rate.'),
    auth: () => new S3Error(400, 'ExpiredToken', 'The provided token has expired.'),
    // S3 answers a conditional write that races another write of the same key this way (S3 error codes).
    conflict: (operation, req) =>
      CONDITIONAL_WRITES.has(operation) && (req.headers['if-none-match'] !== undefined || req.headers['if-match'] !== undefined)
        ? new S3Error(
            409,
            'ConditionalRequestConflict',
            'A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.',
          )
        : undefined,
  };
}

function discardBody(req: SimRequest): Promise<void> {
  const raw = req.raw;
  if (raw.readableEnded || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    raw.on('end', resolve).on('close', resolve).on('error', () => resolve());
    raw.resume();
  });
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/**
 * Splits the raw request target (not the WHATWG-normalised path, which would fold `.`/`..` segments and `\` that
 * are legal in keys) into bucket and percent-decoded key.
 */
function parseTarget(rawUrl: string): Target {
  const path = rawUrl.split('?', 1)[0]!.replace(/^\/+/, '');
  if (path === '') return {};
  const slash = path.indexOf('/');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
    }
  };
  if (slash === -1) return { bucket: decode(path) };
  const key = path.slice(slash + 1);
  return key === '' ? { bucket: decode(path.slice(0, slash)) } : { bucket: decode(path.slice(0, slash)), key: decode(key) };
}
