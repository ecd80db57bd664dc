/**
 * The throughput section of `npm run bench`: glacier-copy against a plain pipe (ranged GetJobOutput streamed into
 * UploadPart, no hashing, no state) through the same simulator endpoint, measured in one run, plus this
 * machine's SHA-256 speed. Ratios, not absolute targets: the machine is shared and noisy.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand, ListVaultsCommand } from '@aws-sdk/client-glacier';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createAwsClients } from '../../src/aws/clients.js';
import { generatedArchiveId } from '../../src/sim/glacier/generate.js';
import { formatBytes } from '../../src/ui/format.js';
import { benchDir, runTool, startSim } from './harness.js';
import type { Figure } from './scale.js';

const MIB = 1024 * 1024;
const ARCHIVES = Number(process.env.BENCH_ARCHIVES ?? 8);
const ARCHIVE_SIZE = Number(process.env.BENCH_ARCHIVE_MIB ?? 128) * MIB;
const CHUNK = 8 * MIB;
const CONCURRENCY = 8;
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

async function glacierCopy(url: string): Promise<{ ms: number; peakRss: number; cpuSeconds: number }> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  await clients.s3.send(new CreateBucketCommand({ Bucket: 'tool' }));
  await clients.glacier.send(new ListVaultsCommand({ accountId: '-' }));
  clients.destroy();
  const dir = benchDir();
  try {
    const run = await runTool(['start', '--vault', 'bench', '--bucket', 'tool', '--endpoint-url', url, '--state', join(dir, 's.db'), '--poll-interval', '1s', '--concurrency', String(CONCURRENCY), '--part-size', '8MiB', '--storage-class', 'STANDARD']);
    const firstReady = run.events.find((e) => e.event.type === 'job-ready')?.at ?? 0;
    const done = run.events.find((e) => e.event.type === 'phase' && e.event.phase === 'cleanup')?.at ?? 0;
    if (run.code !== 0 || done === 0) throw new Error(`glacier-copy exited with ${run.code}`);
    return { ms: done - firstReady, peakRss: run.peakRssBytes, cpuSeconds: run.cpuSeconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sha256Speed(): number {
  const buf = Buffer.alloc(64 * MIB, 7);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 8; i++) createHash('sha256').update(buf).digest();
  return (8 * buf.length) / (Number(process.hrtime.bigint() - started) / 1e9);
}

export async function benchThroughput(log: (line: string) => void): Promise<Figure[]> {
  const total = ARCHIVES * ARCHIVE_SIZE;
  const sim = await startSim(['--hash-only', '--time-scale', '100', '--job-delay', '50', '--generated-vault', `bench:${ARCHIVES}:bench:${ARCHIVE_SIZE}`]);
  try {
    const hash = sha256Speed();
    const pipeMs = await plainPipe(sim.url);
    const tool = await glacierCopy(sim.url);
    const rate = (ms: number) => `${formatBytes(total / (ms / 1000))}/s`;
    log(`throughput: ${ARCHIVES} archives × ${formatBytes(ARCHIVE_SIZE)} = ${formatBytes(total)}, ${formatBytes(CHUNK)} parts, concurrency ${CONCURRENCY}`);
    log(`  SHA-256 on one core here: ${formatBytes(hash)}/s; plain pipe ${rate(pipeMs)}; glacier-copy ${rate(tool.ms)}`);
    return [
      { name: 'throughput, glacier-copy ÷ plain pipe', value: pipeMs / tool.ms, unit: '×', target: 'reported', met: true, note: `${rate(tool.ms)} vs ${rate(pipeMs)}` },
      { name: 'peak RSS copying 1 GiB', value: tool.peakRss / 2 ** 20, unit: 'MiB', target: 'reported', met: true, note: `concurrency ${CONCURRENCY}` },
      { name: 'tool CPU per GiB copied', value: tool.cpuSeconds / (total / 2 ** 30), unit: 's', target: 'reported', met: true, note: `SHA-256 of one GiB takes ${(2 ** 30 / hash).toFixed(2)} s here` },
    ];
  } finally {
    sim.stop();
  }
}
