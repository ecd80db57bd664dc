import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import type { MiddlewareStack } from '@aws-sdk/types';
import { createAwsClients } from '../../src/aws/clients.js';
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

  it('frames an empty payload as the empty chunk and the trailer alone', async () => {
    const body = new Sha256TrailerBody(0);
    const wire = drain(body);
    body.finish();
    const expected = `0\r\nx-amz-checksum-sha256:${createHash('sha256').digest('base64')}\r\n\r\n`;
    expect((await wire).toString()).toBe(expected);
    expect(body.encodedLength).toBe(expected.length);
  });

  it('asks the feeder to wait while the request is not reading, and lets it go when the body is destroyed', async () => {
    const body = new Sha256TrailerBody(4 * 1024 * 1024);
    let room: Promise<void> | undefined;
    for (let i = 0; i < 4 && !room; i++) room = body.feed(Buffer.alloc(1024 * 1024));
    expect(room).toBeInstanceOf(Promise);
    const waiting = Symbol('still waiting');
    expect(await Promise.race([room, new Promise((r) => setTimeout(() => r(waiting), 50))])).toBe(waiting);
    body.destroy();
    expect(await Promise.race([room, new Promise((r) => setTimeout(() => r(waiting), 1000))])).toBeUndefined();
  });

  /** The headers `command` would be signed and sent with by `s3` (stopped just before the network). */
  async function sentHeaders(s3: S3Client, command: UploadPartCommand | PutObjectCommand): Promise<Record<string, string>> {
    let headers: Record<string, string> = {};
    (command.middlewareStack as unknown as MiddlewareStack<object, object>).add(
      (() => (args: { request: unknown }) => {
        headers = (args.request as { headers: Record<string, string> }).headers;
        throw new Error('stop before sending');
      }) as never,
      { step: 'finalizeRequest', priority: 'low' },
    );
    await expect(s3.send(command as UploadPartCommand)).rejects.toThrow(/stop before sending/);
    return headers;
  }

  const clients = createAwsClients({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 's' }, endpoint: 'http://127.0.0.1:9' });
  afterAll(() => clients.destroy());

  it('announces the encoding and the trailer in the signed headers of an UploadPart and a PutObject sent by the streaming client', async () => {
    const length = 5 * 1024 * 1024;
    for (const make of [
      (body: Sha256TrailerBody) => new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: body }),
      (body: Sha256TrailerBody) => new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body, IfNoneMatch: '*' }),
    ]) {
      const body = new Sha256TrailerBody(length);
      const command = make(body);
      body.attachTo(command.middlewareStack as never);
      const headers = await sentHeaders(clients.streamingS3, command);
      expect(headers).toMatchObject({
        'content-encoding': 'aws-chunked',
        'content-length': String(body.encodedLength),
        'x-amz-decoded-content-length': String(length),
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-trailer': 'x-amz-checksum-sha256',
        'x-amz-sdk-checksum-algorithm': 'SHA256',
        Expect: '100-continue',
      });
      expect(headers.authorization).toContain('x-amz-decoded-content-length');
      expect(headers['transfer-encoding']).toBeUndefined();
    }
  });

  it('refuses to be sent by a client that would frame it a second time with a checksum of its own', async () => {
    const body = new Sha256TrailerBody(3);
    const command = new UploadPartCommand({ Bucket: 'b', Key: 'k', UploadId: 'u', PartNumber: 1, Body: body });
    body.attachTo(command.middlewareStack as never);
    const framing = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 's' }, maxAttempts: 1 });
    await expect(framing.send(command)).rejects.toThrow(/frame the request body a second time/);
    framing.destroy();
  });
});
