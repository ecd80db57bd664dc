import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { Sha256TrailerBody } from '../../src/transfer/trailer-body.js';

async function drain(body: Sha256TrailerBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('a request body with its SHA-256 as an aws-chunked trailer', () => {
  it('frames the payload as one chunk, then the empty chunk, the trailer and a blank line (STREAMING-UNSIGNED-PAYLOAD-TRAILER)', async () => {
    const payload = Buffer.from('hello, glacier');
    const body = new Sha256TrailerBody(payload.length);
    const wire = drain(body);
    body.feed(payload.subarray(0, 5));
    body.feed(payload.subarray(5));
    body.finish();
    const sha = createHash('sha256').update(payload).digest('base64');
    const expected = Buffer.from(`e\r\nhello, glacier\r\n0\r\nx-amz-checksum-sha256:${sha}\r\n\r\n`);
    expect((await wire).toString()).toBe(expected.toString());
    expect(body.encodedLength).toBe(expected.length);
  });

  it('knows its length on the wire before any byte is fed, for any payload length', async () => {
    for (const length of [1, 15, 16, 4095, 4096, 8 * 1024 * 1024 + 3]) {
      const body = new Sha256TrailerBody(length);
      const wire = drain(body);
      body.feed(Buffer.alloc(length, 1));
      body.finish();
      expect((await wire).length).toBe(body.encodedLength);
    }
  });

  it('refuses more bytes than announced, and an end before all of them', () => {
    const body = new Sha256TrailerBody(4);
    expect(() => body.feed(Buffer.alloc(5))).toThrow(/longer than its 4 bytes/);
    body.feed(Buffer.alloc(3));
    expect(() => body.finish()).toThrow(/ended at 3 of 4 bytes/);
  });

  it('asks the feeder to wait while the request is not reading, and lets it go when the body is destroyed', async () => {
    const body = new Sha256TrailerBody(4 * 1024 * 1024);
    let room: Promise<void> | undefined;
    for (let i = 0; i < 4 && !room; i++) room = body.feed(Buffer.alloc(1024 * 1024));
    expect(room).toBeInstanceOf(Promise);
    body.destroy();
    await room;
    expect(body.destroyed).toBe(true);
  });

  it('announces the encoding and the trailer in the headers the request is signed with', async () => {
    const body = new Sha256TrailerBody(3);
    const command = new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: body });
    body.attachTo(command.middlewareStack as never);
    let headers: Record<string, string> = {};
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
    s3.middlewareStack.add(
      () => (args) => {
        headers = (args.request as { headers: Record<string, string> }).headers;
        throw new Error('stop before sending');
      },
      { step: 'finalizeRequest', priority: 'low' },
    );
    await expect(s3.send(command)).rejects.toThrow(/stop before sending/);
    expect(headers).toMatchObject({
      'content-encoding': 'aws-chunked',
      'content-length': String(body.encodedLength),
      'x-amz-decoded-content-length': '3',
      'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      'x-amz-trailer': 'x-amz-checksum-sha256',
    });
    expect(headers.authorization).toContain('x-amz-decoded-content-length');
    expect(headers['transfer-encoding']).toBeUndefined();
  });
});
