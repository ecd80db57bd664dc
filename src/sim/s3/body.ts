import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { SimRequest } from '../http.js';
import { AwsChunkedDecoder, isAwsChunked } from './aws-chunked.js';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeader,
  createDigester,
  decodeChecksum,
  isChecksumAlgorithm,
  type ChecksumAlgorithm,
  type Digester,
} from './checksums.js';
import { S3Error, invalidRequest } from './errors.js';
import { header } from './request.js';
import { SegmentStorage, type Segment } from './storage.js';

/** What a PutObject/UploadPart request says about its body, read from the headers before the body arrives. */
export interface DeclaredBody {
  /** payload bytes (after aws-chunked decoding) */
  length: number;
  contentMd5?: Buffer;
  /** The request's one flexible checksum, sent as a header or announced as an aws-chunked trailer. */
  checksum?: { algorithm: ChecksumAlgorithm; value?: Buffer; inTrailer: boolean };
  /** hex SHA-256 of the payload the request was signed with (botocore over http, SDK v3 for buffers) */
  contentSha256?: string;
  awsChunked: boolean;
}

export interface ReceivedBody {
  segment: Segment;
  /** quoted, as S3 sends it */
  etag: string;
  digests: Map<ChecksumAlgorithm, Buffer>;
}

export function parseDeclaredBody(headers: IncomingHttpHeaders): DeclaredBody {
  const awsChunked = isAwsChunked(headers);
  const lengthHeader = awsChunked ? header(headers, 'x-amz-decoded-content-length') : header(headers, 'content-length');
  // S3 does not take plain `Transfer-Encoding: chunked` uploads: the length must be known up front.
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
    throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }

  let contentMd5: Buffer | undefined;
  const md5Header = header(headers, 'content-md5');
  if (md5Header !== undefined) {
    contentMd5 = Buffer.from(md5Header, 'base64');
    if (contentMd5.length !== 16 || contentMd5.toString('base64') !== md5Header) {
      throw new S3Error(400, 'InvalidDigest', 'The Content-MD5 you specified is not valid.');
    }
  }

  const present = CHECKSUM_ALGORITHMS.filter((a) => headers[checksumHeader(a)] !== undefined);
  const trailer = header(headers, 'x-amz-trailer')?.trim().toLowerCase();
  const trailerAlgorithm = trailer?.startsWith('x-amz-checksum-') ? trailer.slice(15).toUpperCase() : undefined;
  if (trailerAlgorithm !== undefined && !isChecksumAlgorithm(trailerAlgorithm)) {
    throw invalidRequest(`The value specified in the x-amz-trailer header is not supported: ${trailer}`);
  }
  if (present.length + (trailerAlgorithm ? 1 : 0) > 1) {
    throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  }
  let checksum: DeclaredBody['checksum'];
  if (present[0]) {
    const algorithm = present[0];
    const value = decodeChecksum(algorithm, header(headers, checksumHeader(algorithm))!);
    if (!value) throw invalidRequest(`Value for ${checksumHeader(algorithm)} header is invalid.`);
    checksum = { algorithm, value, inTrailer: false };
  } else if (trailerAlgorithm) {
    checksum = { algorithm: trailerAlgorithm as ChecksumAlgorithm, inTrailer: true };
  } else if (headers['x-amz-sdk-checksum-algorithm'] !== undefined) {
    throw invalidRequest(
      'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
    );
  }

  const signed = header(headers, 'x-amz-content-sha256');
  return {
    length: Number(lengthHeader),
    contentMd5,
    checksum,
    contentSha256: signed !== undefined && /^[0-9a-f]{64}$/i.test(signed) ? signed.toLowerCase() : undefined,
    awsChunked,
  };
}

/**
 * Streams the request body into `storage`, decoding aws-chunked framing and hashing as it goes (MD5 for the
 * ETag and a declared Content-MD5, the declared checksum, SHA-256 for a signed payload), so that a multi-GiB part
 * never sits in memory. Verifies everything the request declared; on any failure the written bytes are discarded.
 *
 * Storage that keeps no bytes (hashOnly, the benchmarks' mode) gives opaque ETags, as S3 does for SSE-KMS
 * objects, rather than pay an MD5 pass over every byte (more than SHA-256 costs), unless the request declared a
 * Content-MD5, which is still checked.
 */
export async function receiveBody(req: SimRequest, declared: DeclaredBody, storage: SegmentStorage): Promise<ReceivedBody> {
  const writer = storage.writer();
  const wanted = new Set<ChecksumAlgorithm>();
  if (declared.checksum) wanted.add(declared.checksum.algorithm);
  if (declared.contentSha256) wanted.add('SHA256');
  const md5 = storage.hashOnly && !declared.contentMd5 ? undefined : createDigester('MD5');
  const digesters = new Map<ChecksumAlgorithm, Digester>([...wanted].map((a) => [a, createDigester(a)]));
  const decoder = declared.awsChunked ? new AwsChunkedDecoder() : undefined;
  let size = 0;
  // A failure mid-body still reads the rest, so that the client gets the error response, not a reset.
  let failure: unknown;
  try {
    for await (const raw of req.raw as AsyncIterable<Buffer>) {
      if (failure !== undefined) continue;
      try {
        for (const piece of decoder ? decoder.push(raw) : [raw]) {
          md5?.update(piece);
          for (const d of digesters.values()) d.update(piece);
          size += piece.length;
          const wait = writer.write(piece);
          if (wait) await wait;
        }
      } catch (e) {
        failure = e;
      }
    }
    if (failure !== undefined) throw failure;
    decoder?.finish();
    const md5Digest = md5?.digest();
    const received: ReceivedBody = {
      segment: await writer.close(),
      etag: `"${(md5Digest ?? randomBytes(16)).toString('hex')}"`,
      digests: new Map([...digesters].map(([a, d]) => [a, d.digest()])),
    };
    verify(declared, received.digests, md5Digest, size, decoder?.trailers);
    return received;
  } catch (e) {
    await writer.discard();
    throw e;
  }
}

function verify(declared: DeclaredBody, digests: ReceivedBody['digests'], md5: Buffer | undefined, size: number, trailers?: Map<string, string>): void {
  if (size !== declared.length) {
    throw new S3Error(
      400,
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    );
  }
  if (declared.contentSha256) {
    const computed = digests.get('SHA256')!.toString('hex');
    if (computed !== declared.contentSha256) {
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        { ClientComputedContentSHA256: declared.contentSha256, S3ComputedContentSHA256: computed },
      );
    }
  }
  if (declared.contentMd5 && !declared.contentMd5.equals(md5!)) {
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.', {
      ExpectedDigest: declared.contentMd5.toString('hex'),
      CalculatedDigest: md5!.toString('base64'),
    });
  }
  const checksum = declared.checksum;
  if (!checksum) return;
  let expected = checksum.value;
  if (checksum.inTrailer) {
    const name = checksumHeader(checksum.algorithm);
    const sent = trailers?.get(name);
    if (sent === undefined) {
      throw new S3Error(
        400,
        'MalformedTrailerError',
        `The request declared x-amz-trailer: ${name} but its body carried no such trailer.`,
      );
    }
    expected = decodeChecksum(checksum.algorithm, sent);
    if (!expected) throw invalidRequest(`Value for ${name} trailing header is invalid.`);
  }
  if (!expected!.equals(digests.get(checksum.algorithm)!)) {
    throw new S3Error(400, 'BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
  }
}

/** Keeps bytes in memory, for small bodies the simulator reads itself. */
const IN_MEMORY = new SegmentStorage(undefined, false);

/** A small request body (DeleteObjects XML), in memory and checked against its declared digests. */
export async function receiveSmallBody(req: SimRequest, declared: DeclaredBody): Promise<Buffer> {
  const { segment } = await receiveBody(req, declared, IN_MEMORY);
  return Buffer.concat(segment.kind === 'memory' ? segment.chunks : []);
}
