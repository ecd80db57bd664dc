/**
 * `npm run bench`: glacier-copy against a plain pipe (ranged GetJobOutput streamed into UploadPart, no hashing,
 * no state) through the same simulator endpoint, measured in one run, plus this machine's SHA-256 speed. Prints
 * ratios, not absolute targets: the machine is shared and noisy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand, ListVaultsCommand } from '@aws-sdk/client-glacier';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createAwsClients } from '../../src/aws/clients.js';
import { generatedArchiveId } from '../../src/sim/glacier/generate.js';
import { formatBytes } from '../../src/ui/format.js';

const MIB = 1024 * 1024;
const ARCHIVES = Number(process.env.BENCH_ARCHIVES ?? 8);
const ARCHIVE_SIZE = Number(process.env.BENCH_ARCHIVE_MIB ?? 128) * MIB;
const CHUNK = 8 * MIB;
const CONCURRENCY = 8;
const env = { ...process.env, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench', AWS_REGION: 'us-east-1' };
Object.assign(process.env, env);

function startSim(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['bin/glacier-copy', 'sim', '--port', '0', '--hash-only', '--time-scale', '100', '--job-delay', '50', '--generated-vault', `bench:${ARCHIVES}:bench:${ARCHIVE_SIZE}`],
    { stdio: ['ignore', 'pipe', 'inherit'], env },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

/** Peak resident memory of a process, sampled from /proc while it runs. */
function watchPeakRss(pid: number): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) * 1024);
    } catch {
      // exited
    }
  }, 50);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

async function plainPipe(url: string): Promise<number> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  const s3 = clients.streamingS3;
  s3.config.requestChecksumCalculation = async () => 'WHEN_REQUIRED';
  await clients.s3.send(new CreateBucketCommand({ Bucket: 'pipe' }));
  const ids = Array.from({ length: ARCHIVES }, (_, i) => generatedArchiveId('bench', i));
  const jobs = await Promise.all(
    ids.map(async (ArchiveId) => (await clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'bench', jobParameters: { Type: 'archive-retrieval', ArchiveId } }))).jobId!),
  );
  for (const jobId of jobs) {
    while (!(await clients.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'bench', jobId }))).Completed) await new Promise((r) => setTimeout(r, 50));
  }
  const started = Date.now();
  const limit = pLimit(CONCURRENCY);
  await Promise.all(
    jobs.map(async (jobId, i) => {
      const Key = `pipe/${i}`;
      const { UploadId } = await clients.s3.send(new CreateMultipartUploadCommand({ Bucket: 'pipe', Key }));
      const parts = await Promise.all(
        Array.from({ length: Math.ceil(ARCHIVE_SIZE / CHUNK) }, (_, p) =>
          limit(async () => {
            const start = p * CHUNK;
            const end = Math.min(ARCHIVE_SIZE, start + CHUNK) - 1;
            const out = await clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'bench', jobId, range: `bytes=${start}-${end}` }));
            const up = await s3.send(new UploadPartCommand({ Bucket: 'pipe', Key, UploadId, PartNumber: p + 1, Body: out.body as Readable, ContentLength: end - start + 1 }));
            return { PartNumber: p + 1, ETag: up.ETag };
          }),
        ),
      );
      await clients.s3.send(new CompleteMultipartUploadCommand({ Bucket: 'pipe', Key, UploadId, MultipartUpload: { Parts: parts } }));
    }),
  );
  const ms = Date.now() - started;
  clients.destroy();
  return ms;
}

async function glacierCopy(url: string): Promise<{ ms: number; peakRss: number }> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  await clients.s3.send(new CreateBucketCommand({ Bucket: 'tool' }));
  await clients.glacier.send(new ListVaultsCommand({ accountId: '-' }));
  clients.destroy();
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const child = spawn(
    process.execPath,
    ['bin/glacier-copy', 'start', '--vault', 'bench', '--bucket', 'tool', '--endpoint-url', url, '--state', join(dir, 's.db'), '--json', '--poll-interval', '1s', '--concurrency', String(CONCURRENCY), '--storage-class', 'STANDARD'],
    { stdio: ['ignore', 'pipe', 'inherit'], env },
  );
  const peak = watchPeakRss(child.pid!);
  let firstReady = 0;
  let done = 0;
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line.includes('"job-ready"') && firstReady === 0) firstReady = Date.now();
    if (line.includes('"phase":"cleanup"')) done = Date.now();
  }
  const code = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c ?? 1))));
  rmSync(dir, { recursive: true, force: true });
  if (code !== 0 || done === 0) throw new Error(`glacier-copy exited with ${code}`);
  return { ms: done - firstReady, peakRss: peak() };
}

function sha256Speed(): number {
  const buf = Buffer.alloc(64 * MIB, 7);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 8; i++) createHash('sha256').update(buf).digest();
  return (8 * buf.length) / (Number(process.hrtime.bigint() - started) / 1e9);
}

const total = ARCHIVES * ARCHIVE_SIZE;
const { url, child } = await startSim();
try {
  const hash = sha256Speed();
  const pipeMs = await plainPipe(url);
  const tool = await glacierCopy(url);
  const rate = (ms: number) => `${formatBytes(total / (ms / 1000))}/s`;
  console.log(`bench: ${ARCHIVES} archives × ${formatBytes(ARCHIVE_SIZE)} = ${formatBytes(total)}, ${formatBytes(CHUNK)} ranges, concurrency ${CONCURRENCY}, simulator in its own process`);
  console.log(`  SHA-256 on one core here:           ${formatBytes(hash)}/s`);
  console.log(`  plain pipe (no hashing, no state):   ${rate(pipeMs)} (${(pipeMs / 1000).toFixed(1)} s)`);
  console.log(`  glacier-copy (verified, resumable):  ${rate(tool.ms)} (${(tool.ms / 1000).toFixed(1)} s)`);
  console.log(`  glacier-copy / plain pipe throughput: ${(pipeMs / tool.ms).toFixed(2)}`);
  console.log(`  glacier-copy peak RSS: ${formatBytes(tool.peakRss)}; concurrency × range = ${formatBytes(CONCURRENCY * CHUNK)}`);
} finally {
  child.kill();
}
