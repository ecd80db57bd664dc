import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { GetJobOutputCommand, GlacierClient } from '@aws-sdk/client-glacier';
import { S3Client, UploadPartCommand, type UploadPartCommandInput } from '@aws-sdk/client-s3';
import { ChunkVerificationError } from '../../src/aws/errors.js';
import { AwsChunkedDecoder } from '../../src/sim/s3/aws-chunked.js';
import { copyPart } from '../../src/transfer/part-copy.js';
import { treeHashHex } from '../../src/verify/tree-hash.js';

const glacier = new GlacierClient({ region: 'us-east-1' });
const s3 = new S3Client({ region: 'us-east-1' });
const glacierMock = mockClient(glacier);
const s3Mock = mockClient(s3);
afterEach(() => {
  glacierMock.reset();
  s3Mock.reset();
});

const data = Buffer.alloc(3 * 1024 * 1024 + 5, 9);
const source = { glacier, vault: 'v', archiveId: 'a1', archiveSize: data.length, jobId: 'j1' };
const target = { s3, bucket: 'b', key: 'k', uploadId: 'u', partNumber: 1 };
const range = { start: 0, end: data.length - 1 };

function jobOutput(bytes: Buffer, checksum: string) {
  return { body: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]) as never, checksum };
}

/** An UploadPart that reads its body as S3 would (aws-chunked decoded), and reports what it saw. */
function consumingUpload(result: () => object) {
  const seen: { bytes: number; ended: boolean; trailer?: string } = { bytes: 0, ended: false };
  s3Mock.on(UploadPartCommand).callsFake(async (input: UploadPartCommandInput) => {
    const decoder = new AwsChunkedDecoder();
    try {
      for await (const chunk of input.Body as Readable) for (const payload of decoder.push(chunk as Buffer)) seen.bytes += payload.length;
      decoder.finish();
      seen.ended = true;
      seen.trailer = decoder.trailers.get('x-amz-checksum-sha256');
    } catch {
      throw Object.assign(new Error('body ended early'), { name: 'IncompleteBody' });
    }
    return result();
  });
  return seen;
}

describe('copying one part', () => {
  it('reports the part with S3\'s checksum and the range\'s verified tree hash', async () => {
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(data, treeHashHex(data)));
    const seen = consumingUpload(() => ({ ETag: '"e"', ChecksumSHA256: 'c2hh' }));
    const part = await copyPart(source, target, [range]);
    expect(part).toEqual({ etag: '"e"', checksumSha256: 'c2hh', ranges: [{ ...range, treeHash: treeHashHex(data) }] });
    expect(seen).toEqual({ bytes: data.length, ended: true, trailer: createHash('sha256').update(data).digest('base64') });
  });

  it('never lets S3 complete a part whose bytes do not match Glacier\'s tree hash', async () => {
    const corrupt = Buffer.from(data);
    corrupt[12345] ^= 1;
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(corrupt, treeHashHex(data)));
    const seen = consumingUpload(() => ({ ETag: '"e"', ChecksumSHA256: 'c2hh' }));
    await expect(copyPart(source, target, [range])).rejects.toBeInstanceOf(ChunkVerificationError);
    expect(seen.ended).toBe(false);
  });

  it('treats an aligned range that comes without Glacier\'s tree hash as unverified', async () => {
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(data, ''));
    consumingUpload(() => ({ ETag: '"e"', ChecksumSHA256: 'c2hh' }));
    await expect(copyPart(source, target, [range])).rejects.toBeInstanceOf(ChunkVerificationError);
  });

  it('treats a short body as unverified', async () => {
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(data.subarray(0, 100), treeHashHex(data)));
    consumingUpload(() => ({ ETag: '"e"', ChecksumSHA256: 'c2hh' }));
    await expect(copyPart(source, target, [range])).rejects.toThrow(/100 bytes/);
  });

  it('fails, without hanging, when S3 rejects the upload while the body is still streaming', async () => {
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(data, treeHashHex(data)));
    s3Mock.on(UploadPartCommand).rejects(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }));
    await expect(copyPart(source, target, [range])).rejects.toMatchObject({ name: 'InternalError' });
  });

  it('fails at once with S3\'s error when the upload fails while the download waits for bytes', async () => {
    // A download that sends its first bytes, then nothing: only giving it up ends it.
    const stalled = new Readable({ read() {} });
    stalled.push(data.subarray(0, 1000));
    glacierMock.on(GetJobOutputCommand).resolves({ body: stalled as never, checksum: treeHashHex(data) });
    s3Mock.on(UploadPartCommand).callsFake(async (input: UploadPartCommandInput) => {
      // The first bytes arrive (the download is then waiting for more), then the upload is gone.
      const decoder = new AwsChunkedDecoder();
      let received = 0;
      for await (const chunk of input.Body as Readable) {
        for (const payload of decoder.push(chunk as Buffer)) received += payload.length;
        if (received >= 1000) break;
      }
      throw Object.assign(new Error('The specified upload does not exist.'), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } });
    });
    const outcome = await Promise.race([
      copyPart(source, target, [range]).then(() => 'copied', (e: Error) => e.name),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
    ]);
    expect(outcome).toBe('NoSuchUpload');
    expect(stalled.destroyed).toBe(true);
  });

  it('refuses a part S3 stored without confirming its SHA-256', async () => {
    glacierMock.on(GetJobOutputCommand).resolves(jobOutput(data, treeHashHex(data)));
    consumingUpload(() => ({ ETag: '"e"' }));
    await expect(copyPart(source, target, [range])).rejects.toThrow(/did not confirm the SHA-256/);
  });
});
