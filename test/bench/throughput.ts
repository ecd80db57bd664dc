/**
 * The throughput section of `npm run bench`: glacier-copy against a plain pipe (ranged GetJobOutput streamed into
 * UploadPart, no hashing, no state) through the same simulator endpoint, measured in one run, plus this
 * CPU floor (the pipe's CPU plus two SHA-256 passes), the spread of CPU over worker threads, and peak memory for
 * small and huge archives. Ratios, not absolute targets: the machine is shared and noisy.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createAwsClients } from '../../src/aws/clients.js';
import { generatedArchiveId } from '../../src/sim/glacier/generate.js';
import { formatBytes } from '../../src/ui/format.js';
import { BENCH_ENV, benchDir, cpuBetween, runTool, startSim } from './harness.js';
import type { Figure } from './scale.js';

const MIB = 1024 * 1024;
const ARCHIVES = Number(process.env.BENCH_ARCHIVES ?? 8);
const ARCHIVE_SIZE = Number(process.env.BENCH_ARCHIVE_MIB ?? 128) * MIB;
const CHUNK = 8 * MIB;
const CONCURRENCY = 8;
/** The plain pipe, in this process (the simulator runs in its own): its time and CPU for the copy alone, and its jobs. */
async function plainPipe(url: string): Promise<{ ms: number; cpuSeconds: number; jobs: string[] }> {
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
  const cpuBefore = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpuBefore);
  clients.destroy();
  return { ms, cpuSeconds: (cpu.user + cpu.system) / 1e6, jobs };
}

interface ToolCopy {
  ms: number;
  peakRss: number;
  /** CPU seconds of each thread of the tool between the first ready job and the end of the copy */
  threads: { name: string; seconds: number }[];
  cpuSeconds: number;
}

/** `glacier-copy start` of the whole vault into a new bucket; times and CPU from the first ready job to the end of the copy. */
async function glacierCopy(url: string, vault: string, bucket: string, args: string[], stopAfterBytes = Number.POSITIVE_INFINITY): Promise<ToolCopy> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  clients.destroy();
  const dir = benchDir();
  let copied = 0;
  try {
    const run = await runTool(['start', '--vault', vault, '--bucket', bucket, '--endpoint-url', url, '--state', join(dir, 's.db'), '--poll-interval', '1s', '--storage-class', 'STANDARD', ...args], {
      stopAt: (e) => e.type === 'bytes' && (copied += e.n as number) >= stopAfterBytes,
    });
    const first = run.events.find((e) => e.event.type === 'job-ready');
    const last = run.events.find((e) => e.event.type === 'phase' && e.event.phase === 'cleanup') ?? (copied >= stopAfterBytes ? run.events.filter((e) => e.event.type !== 'bytes').at(-1) : undefined);
    if (!first || !last || (run.code !== 0 && copied < stopAfterBytes)) throw new Error(`glacier-copy exited with ${run.code}: ${run.stderr.slice(-500)}`);
    const threads = cpuBetween(first.cpu, last.cpu).filter((t) => t.seconds > 0);
    return { ms: last.at - first.at, peakRss: run.peakRssBytes, threads, cpuSeconds: threads.reduce((n, t) => n + t.seconds, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU seconds to SHA-256 `bytes` bytes on this thread, in 64 MiB blocks (the tight loop of the floor). */
function sha256CpuSeconds(bytes: number): number {
  const buf = Buffer.alloc(64 * MIB, 7);
  const before = process.cpuUsage();
  for (let done = 0; done < bytes; done += buf.length) createHash('sha256').update(buf).digest();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** The AWS CLI by hand: each archive's job output to a file, then `aws s3 cp`, one after the other. */
function awsCliCopy(url: string, jobs: string[]): number | undefined {
  const env = { ...BENCH_ENV, AWS_DEFAULT_REGION: 'us-east-1', AWS_PAGER: '' };
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore', env });
  } catch {
    return undefined;
  }
  const dir = benchDir();
  try {
    const started = Date.now();
    jobs.forEach((jobId, i) => {
      const file = join(dir, `a${i}`);
      execFileSync('aws', ['--endpoint-url', url, 'glacier', 'get-job-output', '--account-id', '-', '--vault-name', 'bench', '--job-id', jobId, file], { stdio: 'ignore', env });
      execFileSync('aws', ['--endpoint-url', url, 's3', 'cp', '--quiet', file, `s3://pipe/cli/${i}`], { stdio: 'ignore', env });
      rmSync(file);
    });
    return Date.now() - started;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GIB = 2 ** 30;
const BIG_STOP = Number(process.env.BENCH_BIG_STOP_GIB ?? 8) * GIB;

export async function benchThroughput(log: (line: string) => void): Promise<Figure[]> {
  const total = ARCHIVES * ARCHIVE_SIZE;
  const gib = total / GIB;
  const workers = availableParallelism();
  const sim = await startSim([
    '--hash-only', '--time-scale', '100', '--job-delay', '50',
    '--generated-vault', `bench:${ARCHIVES}:bench:${ARCHIVE_SIZE}`,
    '--generated-vault', `big4:1:big:${4 * GIB}`,
    '--generated-vault', `big64:1:big:${64 * GIB}`,
  ]);
  try {
    const hashCpu = sha256CpuSeconds(2 * GIB); // two passes over one GiB
    const pipe = await plainPipe(sim.url);
    const pipeCpu = pipe.cpuSeconds / gib;
    const floor = pipeCpu + hashCpu;
    const streams = ['--concurrency', String(CONCURRENCY), '--part-size', '8MiB'];
    const one = await glacierCopy(sim.url, 'bench', 'tool1', [...streams, '--workers', '1']);
    const many = await glacierCopy(sim.url, 'bench', 'tooln', [...streams, '--workers', String(workers)]);
    const rss4 = await glacierCopy(sim.url, 'big4', 'rss4', []);
    const rss64 = await glacierCopy(sim.url, 'big64', 'rss64', [], BIG_STOP);
    const cliMs = awsCliCopy(sim.url, pipe.jobs);
    const rate = (ms: number) => `${formatBytes(total / (ms / 1000))}/s`;
    const toolCpu = many.cpuSeconds / gib;
    const busiest = many.threads.reduce((a, b) => (b.seconds > a.seconds ? b : a));
    const busiestShare = busiest.seconds / many.cpuSeconds;
    const shares = many.threads
      .filter((t) => t.seconds / many.cpuSeconds >= 0.02)
      .sort((a, b) => b.seconds - a.seconds)
      .map((t) => `${t.name} ${((100 * t.seconds) / many.cpuSeconds).toFixed(0)}%`)
      .join(', ');
    log(`throughput: ${ARCHIVES} archives × ${formatBytes(ARCHIVE_SIZE)} = ${formatBytes(total)}, ${formatBytes(CHUNK)} parts, concurrency ${CONCURRENCY}; ${workers} cores shared with the simulator (and whatever else runs here)`);
    log(`  plain pipe ${rate(pipe.ms)} at ${pipeCpu.toFixed(2)} s CPU/GiB; two SHA-256 passes ${hashCpu.toFixed(2)} s/GiB; glacier-copy ${rate(many.ms)} at ${toolCpu.toFixed(2)} s CPU/GiB`);
    log(`  CPU by thread with ${workers} workers: ${shares}`);
    const rssNote = (r: ToolCopy) => `defaults; ${formatBytes(r.peakRss)}`;
    const rssEqual = Math.abs(rss64.peakRss - rss4.peakRss) / rss4.peakRss;
    return [
      { name: 'throughput, glacier-copy ÷ plain pipe', value: pipe.ms / many.ms, unit: '×', target: '≥ 0.8', met: pipe.ms / many.ms >= 0.8, note: `${rate(many.ms)} vs ${rate(pipe.ms)}, ${workers} workers` },
      { name: 'tool CPU per GiB copied (all threads, copy phase)', value: toolCpu, unit: 's', target: 'reported', met: true, note: `${workers} workers` },
      { name: 'floor: plain pipe CPU per GiB + two SHA-256 passes on one core', value: floor, unit: 's', target: 'reported', met: true, note: `${pipeCpu.toFixed(2)} s + ${hashCpu.toFixed(2)} s` },
      { name: 'floor ratio: tool CPU ÷ floor', value: toolCpu / floor, unit: '×', target: '≤ 1.3', met: toolCpu / floor <= 1.3 },
      { name: 'hashing-only ratio: tool CPU ÷ two SHA-256 passes', value: toolCpu / hashCpu, unit: '×', target: 'reported', met: true },
      { name: 'throughput with 1 worker', value: total / (one.ms / 1000) / MIB, unit: 'MiB/s', target: 'reported', met: true, note: `${one.cpuSeconds.toFixed(1)} s CPU` },
      { name: `throughput with ${workers} workers`, value: total / (many.ms / 1000) / MIB, unit: 'MiB/s', target: 'reported', met: true, note: `${many.cpuSeconds.toFixed(1)} s CPU` },
      {
        name: `busiest thread's share of the tool's CPU with ${workers} workers`,
        value: 100 * busiestShare,
        unit: '%',
        target: `≤ ${(100 / workers + 15).toFixed(0)}`,
        met: busiestShare <= 1 / workers + 0.15,
        note: shares,
      },
      { name: 'peak RSS copying a 4 GiB archive', value: rss4.peakRss / MIB, unit: 'MiB', target: '≤ 256', met: rss4.peakRss <= 256 * MIB, note: rssNote(rss4) },
      {
        name: 'peak RSS copying a 64 GiB archive',
        value: rss64.peakRss / MIB,
        unit: 'MiB',
        target: '≤ 256, within 10% of 4 GiB',
        met: rss64.peakRss <= 256 * MIB && rssEqual <= 0.1,
        note: `${rssNote(rss64)}${BIG_STOP < 64 * GIB ? `; stopped after ${formatBytes(BIG_STOP)} copied (BENCH_BIG_STOP_GIB=64 copies it all)` : ''}`,
      },
      ...(cliMs === undefined
        ? []
        : [{ name: 'AWS CLI by hand ÷ glacier-copy, time (get-job-output to a file, then aws s3 cp, archive by archive)', value: cliMs / many.ms, unit: '×', target: 'reported', met: true, note: `${rate(cliMs)}` }]),
    ];
  } finally {
    sim.stop();
  }
}
