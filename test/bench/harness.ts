/**
 * What the benchmarks share: the simulator in its own process, the tool run as users run it (under
 * /usr/bin/time, for its CPU seconds and peak memory), and the environment both get.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WORKER_HEAP_FLAG } from '../../src/transfer/worker-pool.js';

export const CLI = fileURLToPath(new URL('../../bin/glacier-copy', import.meta.url));
// The simulator takes any credentials; the benchmark's own clients and the processes it starts use these.
Object.assign(process.env, {
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});
export const BENCH_ENV = { ...process.env };
/**
 * The heap setting the tool gives its stream workers, given on the command line to the node processes the
 * benchmark compares it with (the plain pipe) and runs beside it (the simulator), so that neither spends CPU on
 * full collections the tool avoids: the pipe's floor would be inflated, and the simulator take more of the cores.
 */
export const LEAN_HEAP_ARGS = [WORKER_HEAP_FLAG];

export interface SimProcess {
  url: string;
  child: ChildProcess;
  stop(): void;
}

/** `glacier-copy sim ARGS` on a free port, in its own process (so that it never competes for the tool's thread). */
export function startSim(args: string[]): Promise<SimProcess> {
  const child = spawn(process.execPath, [...LEAN_HEAP_ARGS, CLI, 'sim', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: BENCH_ENV });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /listening on (\S+)/.exec(line);
      if (m) resolve({ url: m[1]!, child, stop: () => child.kill() });
    });
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) so far of each live thread of a process, by thread id, from /proc. */
export type ThreadCpu = Map<number, { name: string; seconds: number }>;

export function threadCpu(pid: number): ThreadCpu {
  const out: ThreadCpu = new Map();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // the process has ended
  }
  for (const tid of tids) {
    try {
      out.set(Number(tid), readStat(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** CPU seconds (user + system) so far of a whole process, threads that ended included. */
export function processCpuSeconds(pid: number): number {
  return readStat(`/proc/${pid}/stat`).seconds;
}

/** The name and CPU seconds (user + system) in a /proc stat file, of a process or of one of its threads. */
function readStat(path: string): { name: string; seconds: number } {
  const stat = readFileSync(path, 'utf8');
  // The name is in parentheses and may hold spaces; the fields after it start at field 3 (state).
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
}

/** CPU each thread spent between two snapshots (threads born in between count from zero). */
export function cpuBetween(before: ThreadCpu, after: ThreadCpu): { name: string; seconds: number }[] {
  return [...after].map(([tid, t]) => ({ name: t.name, seconds: t.seconds - (before.get(tid)?.seconds ?? 0) }));
}

/** The pid of /usr/bin/time's only child (the tool's node process), once it has started. */
function childPid(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

export interface ToolRun {
  code: number | null;
  /** `--json` events with the wall-clock time (ms) each line arrived, and the tool's CPU by thread then */
  events: { at: number; event: Record<string, unknown>; cpu: ThreadCpu }[];
  /** stdout lines that are not events (the summary) */
  text: string[];
  stderr: string;
  wallMs: number;
  /** User + system CPU seconds of the tool's process, all threads (from /usr/bin/time) */
  cpuSeconds: number;
  peakRssBytes: number;
}

export interface ToolOptions {
  /** Stops the tool with SIGINT once this event arrives (it records work in flight, then exits 130) */
  stopAt?: (event: Record<string, unknown>) => boolean;
  /** Options for node itself (e.g. V8 tracing), before the tool's script */
  nodeArgs?: string[];
}

/** Runs `glacier-copy ARGS --json` to its end under /usr/bin/time. */
export function runTool(args: string[], options: ToolOptions = {}): Promise<ToolRun> {
  const started = Date.now();
  // In a process group of its own: /usr/bin/time ignores SIGINT, so Ctrl-C goes to the whole group.
  const child = spawn('/usr/bin/time', ['-f', 'BENCH-TIME %U %S %M', process.execPath, ...(options.nodeArgs ?? []), CLI, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: BENCH_ENV,
    detached: true,
  });
  const events: ToolRun['events'] = [];
  const text: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) {
      if (line.trim()) text.push(line);
      return;
    }
    const event = JSON.parse(line) as Record<string, unknown>;
    const pid = childPid(child.pid!);
    // Snapshots cost a few /proc reads: taken for the events a benchmark measures between, not for progress.
    events.push({ at: Date.now(), event, cpu: pid !== undefined && event.type !== 'bytes' ? threadCpu(pid) : new Map() });
    if (options.stopAt?.(event)) process.kill(-child.pid!, 'SIGINT');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const m = /BENCH-TIME (\S+) (\S+) (\d+)/.exec(stderr);
      if (!m) return reject(new Error(`no timing from /usr/bin/time; stderr: ${stderr.slice(-2000)}`));
      resolve({ code, events, text, stderr: stderr.replace(/BENCH-TIME.*\n?/, '').trim(), wallMs: Date.now() - started, cpuSeconds: Number(m[1]) + Number(m[2]), peakRssBytes: Number(m[3]) * 1024 });
    });
  });
}

export function benchDir(): string {
  return mkdtempSync(join(tmpdir(), 'glacier-copy-bench-'));
}

/** The timestamps (ms) at which events of `type` arrived. */
export function eventTimes(run: ToolRun, type: string): number[] {
  return run.events.filter((e) => e.event.type === type).map((e) => e.at);
}

/** Events per second between the first and the last of them. */
export function ratePerSecond(times: number[]): number {
  if (times.length < 2) return 0;
  return (times.length - 1) / ((times[times.length - 1]! - times[0]!) / 1000);
}
