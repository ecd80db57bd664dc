/**
 * The throughput section of `npm run bench`: glacier-copy against a plain pipe (ranged GetJobOutput streamed into
 * UploadPart, no hashing, no state) through the same simulator endpoint, measured in one run, plus this
 * CPU floor (the pipe's CPU plus two SHA-256 passes), the spread of CPU over worker threads, and peak memory for
 * small and huge archives. Its targets are ratios, not absolute rates: the machine is shared and noisy.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/aws/clients.js';
import { formatBytes } from '../../src/ui/format.js';
import { BENCH_ENV, LEAN_HEAP_ARGS, benchDir, cpuBetween, processCpuSeconds, runTool, startSim } from './harness.js';
import { SHA256_CATEGORY, combine, largestShares, readProfiles } from './cpu-profile.js';
import type { PipeCopy } from './plain-pipe.js';
import type { Figure } from './scale.js';

const PIPE_SCRIPT = fileURLToPath(new URL('./plain-pipe.ts', import.meta.url));

const MIB = 1024 * 1024;
const ARCHIVES = Number(process.env.BENCH_ARCHIVES ?? 8);
const ARCHIVE_SIZE = Number(process.env.BENCH_ARCHIVE_MIB ?? 128) * MIB;
const CHUNK = 8 * MIB;
const CONCURRENCY = 8;
/**
 * The plain pipe in a process of its own, as fresh as the tool's (this process holds the garbage of the runs
 * before, whose collection would be billed to the pipe): its time and CPU (all its threads) for the copy alone.
 */
function plainPipe(url: string, bucket: string): Promise<PipeCopy> {
  const child = spawn(process.execPath, [...LEAN_HEAP_ARGS, '--import', 'tsx', PIPE_SCRIPT, url, bucket, String(ARCHIVES), String(ARCHIVE_SIZE), String(CHUNK), String(CONCURRENCY)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: BENCH_ENV,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PipeCopy) : reject(new Error(`plain pipe exited with ${code}`))));
  });
}

interface ToolCopy {
  ms: number;
  /** stdout lines that are not events: the summary, and V8's traces when asked for */
  text: string[];
  peakRss: number;
  /** CPU seconds of each thread of the tool between the first ready job and the end of the copy */
  threads: { name: string; seconds: number }[];
  cpuSeconds: number;
}

interface CopyOptions {
  /** Stops the copy (Ctrl-C) once this many bytes are copied; the figures end there */
  stopAfterBytes?: number;
  /** Options for node itself, as ToolOptions.nodeArgs */
  nodeArgs?: string[];
}

/** `glacier-copy start` of the whole vault into a new bucket; times and CPU from the first ready job to the end of the copy. */
async function glacierCopy(url: string, vault: string, bucket: string, args: string[], { stopAfterBytes = Number.POSITIVE_INFINITY, nodeArgs }: CopyOptions = {}): Promise<ToolCopy> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url });
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  clients.destroy();
  const dir = benchDir();
  let copied = 0;
  try {
    const run = await runTool(['start', '--vault', vault, '--bucket', bucket, '--endpoint-url', url, '--state', join(dir, 's.db'), '--poll-interval', '1s', '--storage-class', 'STANDARD', ...args], {
      stopAt: (e) => e.type === 'bytes' && (copied += e.n as number) >= stopAfterBytes,
      nodeArgs,
    });
    const first = run.events.find((e) => e.event.type === 'job-ready');
    const last = run.events.find((e) => e.event.type === 'phase' && e.event.phase === 'cleanup') ?? (copied >= stopAfterBytes ? run.events.filter((e) => e.event.type !== 'bytes').at(-1) : undefined);
    if (!first || !last || (run.code !== 0 && copied < stopAfterBytes)) throw new Error(`glacier-copy exited with ${run.code}: ${run.stderr.slice(-500)}`);
    const threads = cpuBetween(first.cpu, last.cpu).filter((t) => t.seconds > 0);
    return { ms: last.at - first.at, text: run.text, peakRss: run.peakRssBytes, threads, cpuSeconds: threads.reduce((n, t) => n + t.seconds, 0) };
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
function awsCliCopy(url: string, jobs: string[], bucket: string): number | undefined {
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
      execFileSync('aws', ['--endpoint-url', url, 'glacier', 'get-job-output', '--account-id', '-', '--vault-name', 'bench', `--job-id=${jobId}`, file], { stdio: 'ignore', env });
      execFileSync('aws', ['--endpoint-url', url, 's3', 'cp', '--quiet', file, `s3://${bucket}/cli/${i}`], { stdio: 'ignore', env });
      rmSync(file);
    });
    return Date.now() - started;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const GIB = 2 ** 30;
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const BIG_STOP = Number(process.env.BENCH_BIG_STOP_GIB ?? 8) * GIB;

/** The run whose `by` is the median (the lower middle one for an even count). */
function median<T>(runs: T[], by: (run: T) => number): T {
  return [...runs].sort((a, b) => by(a) - by(b))[Math.floor((runs.length - 1) / 2)]!;
}

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
    const streams = ['--concurrency', String(CONCURRENCY), '--part-size', '8MiB'];
    // The pipe and the tool take turns, REPEATS times: the machine's load drifts, and each figure is the median
    // run of its kind (the spread of the ratios is printed beside them).
    const pipes: PipeCopy[] = [];
    const ones: ToolCopy[] = [];
    const manys: ToolCopy[] = [];
    // The simulator's CPU while each ran (whole runs): on a machine with fewer cores than the copy could use, the
    // simulator's share of them bounds the tool's throughput (the figure "glacier-copy's ceiling on these cores").
    const simCpu = { pipe: [] as number[], tool: [] as number[] };
    const withSimCpu = async <T>(into: number[], run: () => Promise<T>): Promise<T> => {
      const before = processCpuSeconds(sim.child.pid!);
      const result = await run();
      into.push((processCpuSeconds(sim.child.pid!) - before) / gib);
      return result;
    };
    for (let r = 0; r < REPEATS; r++) {
      pipes.push(await withSimCpu(simCpu.pipe, () => plainPipe(sim.url, `pipe-${r}`)));
      ones.push(await glacierCopy(sim.url, 'bench', `tool1-${r}`, [...streams, '--workers', '1']));
      manys.push(await withSimCpu(simCpu.tool, () => glacierCopy(sim.url, 'bench', `tooln-${r}`, [...streams, '--workers', String(workers)])));
    }
    const simPipe = median(simCpu.pipe, (x) => x);
    const simTool = median(simCpu.tool, (x) => x);
    const pipe = median(pipes, (p) => p.cpuSeconds);
    const pipeMs = median(pipes, (p) => p.ms).ms;
    const one = median(ones, (t) => t.cpuSeconds);
    const many = median(manys, (t) => t.cpuSeconds);
    const manyMs = median(manys, (t) => t.ms).ms;
    const pipeCpu = pipe.cpuSeconds / gib;
    const floor = pipeCpu + hashCpu;
    const spread = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)} across ${REPEATS} runs`;
    const floorRatios = manys.map((t, r) => t.cpuSeconds / gib / (pipes[r]!.cpuSeconds / gib + hashCpu));
    const speedRatios = manys.map((t, r) => pipes[r]!.ms / t.ms);
    // One more run, instrumented (so that no measured run pays for it): full collections are what the workers'
    // heap setting (WORKER_HEAP_FLAG) keeps away, and V8 counts them; the CPU profiles say where the time goes.
    const profileDir = benchDir();
    const traced = await glacierCopy(sim.url, 'bench', 'traced', [...streams, '--workers', String(workers)], {
      nodeArgs: ['--trace-gc', '--cpu-prof', `--cpu-prof-dir=${profileDir}`],
    });
    const fullCollections = traced.text.filter((l) => l.includes('Mark-Compact')).length;
    const profiles = readProfiles(profileDir);
    rmSync(profileDir, { recursive: true, force: true });
    const profiled = (kind: string) => {
      const threads = profiles.filter((t) => t.kind === kind);
      const all = combine(threads);
      if (!all) throw new Error(`no CPU profile of a ${kind} thread`);
      return { all, threads: threads.length };
    };
    const workerProfile = profiled('stream worker');
    const mainProfile = profiled('main');
    const rss4 = await glacierCopy(sim.url, 'big4', 'rss4', []);
    const rss64 = await glacierCopy(sim.url, 'big64', 'rss64', [], { stopAfterBytes: BIG_STOP });
    const cliMs = awsCliCopy(sim.url, pipe.jobs, 'pipe-0');
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
    log(`  plain pipe ${rate(pipeMs)} at ${pipeCpu.toFixed(2)} s CPU/GiB; two SHA-256 passes ${hashCpu.toFixed(2)} s/GiB; glacier-copy ${rate(manyMs)} at ${toolCpu.toFixed(2)} s CPU/GiB`);
    log(`  CPU by thread with ${workers} workers: ${shares}`);
    const rssNote = (r: ToolCopy) => `defaults; ${formatBytes(r.peakRss)}`;
    const rssEqual = Math.abs(rss64.peakRss - rss4.peakRss) / rss4.peakRss;
    return [
      { name: 'throughput, glacier-copy ÷ plain pipe', value: pipeMs / manyMs, unit: '×', target: '≥ 0.8', met: pipeMs / manyMs >= 0.8, note: `${rate(manyMs)} vs ${rate(pipeMs)}, ${workers} workers, medians; ${spread(speedRatios)}` },
      {
        name: "glacier-copy's ceiling on these cores: cores ÷ (tool + simulator CPU per GiB), the most it could copy were it and the simulator alone here (a little low: the simulator's CPU is over its whole run, the tool's over the copy)",
        value: workers / (toolCpu + simTool) * 1024,
        unit: 'MiB/s',
        target: 'reported',
        met: true,
        note: `measured ${rate(manyMs)}; 0.8 × the plain pipe is ${formatBytes((0.8 * total) / (pipeMs / 1000))}/s; simulator ${simPipe.toFixed(2)} s/GiB beside the pipe, ${simTool.toFixed(2)} s/GiB beside the tool (whole runs, medians)`,
      },
      { name: 'tool CPU per GiB copied (all threads, copy phase)', value: toolCpu, unit: 's', target: 'reported', met: true, note: `${workers} workers` },
      { name: 'floor: plain pipe CPU per GiB + two SHA-256 passes on one core', value: floor, unit: 's', target: 'reported', met: true, note: `${pipeCpu.toFixed(2)} s + ${hashCpu.toFixed(2)} s; the pipe runs with the heap setting the tool gives its workers` },
      { name: 'floor ratio: tool CPU ÷ floor', value: toolCpu / floor, unit: '×', target: '≤ 1.3', met: toolCpu / floor <= 1.3, note: `medians; ${spread(floorRatios)}` },
      {
        name: 'full (mark-compact) garbage collections per GiB copied, all isolates',
        value: fullCollections / gib,
        unit: '',
        target: 'reported',
        met: true,
        note: `${workers} workers; one more run, under node --trace-gc, start-up included`,
      },
      {
        name: "stream workers' busy time spent hashing (SHA-256: tree hash and checksum)",
        value: (100 * (workerProfile.all.categories.get(SHA256_CATEGORY) ?? 0)) / workerProfile.all.busyMs,
        unit: '%',
        target: 'reported',
        met: true,
        note: `node --cpu-prof of the instrumented run, ${workerProfile.threads} workers, ${(workerProfile.all.busyMs / 1000).toFixed(1)} s busy, start-up included: ${largestShares(workerProfile.all, 'categories')}; by function: ${largestShares(workerProfile.all, 'functions', 0.03)}`,
      },
      {
        name: "main thread's busy time, whole run (start-up, inventory, plan, the engine, state, events)",
        value: mainProfile.all.busyMs / 1000,
        unit: 's',
        target: 'reported',
        met: true,
        note: `node --cpu-prof of the instrumented run: ${largestShares(mainProfile.all, 'categories')}`,
      },
      { name: 'hashing-only ratio: tool CPU ÷ two SHA-256 passes', value: toolCpu / hashCpu, unit: '×', target: 'reported', met: true },
      { name: 'throughput with 1 worker', value: total / (median(ones, (t) => t.ms).ms / 1000) / MIB, unit: 'MiB/s', target: 'reported', met: true, note: `${one.cpuSeconds.toFixed(1)} s CPU` },
      { name: `throughput with ${workers} workers`, value: total / (manyMs / 1000) / MIB, unit: 'MiB/s', target: 'reported', met: true, note: `${many.cpuSeconds.toFixed(1)} s CPU` },
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
        : [{ name: 'AWS CLI by hand ÷ glacier-copy, time (get-job-output to a file, then aws s3 cp, archive by archive)', value: cliMs / manyMs, unit: '×', target: 'reported', met: true, note: `${rate(cliMs)}` }]),
    ];
  } finally {
    sim.stop();
  }
}
