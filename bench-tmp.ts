import { startSimulator } from './src/sim/server.ts';
import { S3Client, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand, GetObjectCommand, CompleteMultipartUploadCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { Readable } from 'node:stream';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mode = process.argv[2] ?? 'memory';
const sim = await startSimulator(mode === 'disk' ? { dataDir: mkdtempSync(join(tmpdir(), 'bench-')) } : mode === 'hash' ? { hashOnly: true } : {});
const s3 = new S3Client({ region: 'us-east-1', endpoint: sim.url, forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));

// client abort mid-upload
await new Promise<void>((resolve) => {
  const req = request(`${sim.url}/bench/aborted`, { method: 'PUT', headers: { 'content-length': String(10 * 1024 * 1024) } });
  req.on('error', () => resolve());
  req.write(Buffer.alloc(1024 * 1024));
  setTimeout(() => { req.destroy(); setTimeout(resolve, 200); }, 100);
});
console.log('survived abort');

const partSize = 256 * 1024 * 1024;
const part = Buffer.alloc(partSize, 5);
const sha = createHash('sha256').update(part).digest('base64');
const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'bench', Key: 'k', ChecksumAlgorithm: 'SHA256' }));
let t = Date.now();
const parts = [];
for (let n = 1; n <= 4; n++) {
  // stream body so the SDK does not buffer; known length
  const out = await s3.send(new UploadPartCommand({ Bucket: 'bench', Key: 'k', UploadId, PartNumber: n, Body: Readable.from((function* () { for (let o = 0; o < partSize; o += 1 << 20) yield part.subarray(o, o + (1 << 20)); })()), ContentLength: partSize, ChecksumSHA256: sha }));
  parts.push({ PartNumber: n, ETag: out.ETag, ChecksumSHA256: sha });
}
let dt = (Date.now() - t) / 1000;
console.log(mode, 'upload MB/s', Math.round(1024 / dt), 'rss MB', Math.round(process.memoryUsage().rss / 1e6));
await s3.send(new CompleteMultipartUploadCommand({ Bucket: 'bench', Key: 'k', UploadId, MultipartUpload: { Parts: parts } }));
if (mode !== 'hash') {
  t = Date.now();
  const get = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'k' }));
  let n = 0;
  for await (const c of get.Body as Readable) n += c.length;
  dt = (Date.now() - t) / 1000;
  console.log(mode, 'download MB/s', Math.round(n / 1e6 / dt), n);
}
s3.destroy();
await sim.stop();
