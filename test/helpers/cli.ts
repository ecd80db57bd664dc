import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from './sim.js';

/** The real command line: bin/glacier-copy runs dist/cli/main.js (build with `npx tsc -p .` first). */
export const CLI_BIN = fileURLToPath(new URL('../../bin/glacier-copy', import.meta.url));

/** One `--json` event line of the CLI (engine events, plus `at`; `bytes` events are batched per second). */
export interface CliEvent {
  type: string;
  at?: string;
  [field: string]: unknown;
}

export interface CliResult {
  /** null when the process was killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout's JSON event lines, in order */
  events: CliEvent[];
  /** The human summary of a `--json` run: the `text` of its final `summary` event ('' when there is none) */
  summary: string;
  /** The final `summary` event of a `--json` run */
  summaryEvent?: CliEvent;
  /** stdout's lines that are not JSON (none in a `--json` run) */
  text: string;
  /** killed by us (kill()), rather than by the timeout */
  killed: boolean;
  timedOut: boolean;
}

export interface CliRunOptions {
  /** Extra environment; the child gets no AWS_* variables from the test process, only dummy credentials */
  env?: Record<string, string>;
  /** SIGKILLs the child if it has not ended by then (a hung run fails its test instead of the whole suite) */
  timeoutMs?: number;
  /** Called for every event line as it arrives */
  onEvent?: (event: CliEvent) => void;
  /** Run in a pseudo-terminal (120x40): stdout is then the screen, stdout and stderr together */
  terminal?: boolean;
}

/** Runs a command in a pseudo-terminal (python3's pty module: there is no pty package among our dependencies). */
const PTY_HELPER = fileURLToPath(new URL('./in-terminal.py', import.meta.url));

/** A running CLI process: its events so far, waiting for events, and SIGKILL at a chosen moment. */
export interface CliProcess {
  readonly pid: number;
  readonly events: CliEvent[];
  /** Resolves with the `count`-th event (counted from the start) that matches; rejects if the process ends first. */
  waitForEvent(match: (event: CliEvent) => boolean, count?: number): Promise<CliEvent>;
  /** SIGKILL now (no chance to record anything more, as after `kill -9` or a power cut); resolves when it is gone. */
  kill(): Promise<CliResult>;
  readonly done: Promise<CliResult>;
}

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // AWS_* settings of the machine running the tests (profile, endpoint, region) must not leak into the run.
    if (!name.startsWith('AWS_')) env[name] = value;
  }
  return {
    ...env,
    AWS_ACCESS_KEY_ID: TEST_ENV.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: TEST_ENV.AWS_SECRET_ACCESS_KEY,
    // On Node 20 the SDK prints a multi-line "upgrade to Node 22" notice on stderr; it is not the tool's output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

/** Starts `node bin/glacier-copy ARGS…` and follows its stdout event by event. */
export function spawnCli(args: string[], options: CliRunOptions = {}): CliProcess {
  const command = options.terminal ? ['python3', PTY_HELPER, process.execPath, CLI_BIN, ...args] : [process.execPath, CLI_BIN, ...args];
  const child = spawn(command[0]!, command.slice(1), { env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  const events: CliEvent[] = [];
  const other: string[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  let killed = false;
  let timedOut = false;
  const waiters = new Set<{ match: (e: CliEvent) => boolean; count: number; seen: number; resolve: (e: CliEvent) => void; reject: (e: Error) => void }>();

  const onLine = (line: string) => {
    if (line.startsWith('{')) {
      let event: CliEvent | undefined;
      try {
        event = JSON.parse(line) as CliEvent;
      } catch {
        other.push(line);
        return;
      }
      events.push(event);
      options.onEvent?.(event);
      for (const w of [...waiters]) {
        if (w.match(event) && ++w.seen >= w.count) {
          waiters.delete(w);
          w.resolve(event);
        }
      }
    } else if (line !== '') other.push(line);
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 90_000);

  const done = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (pending !== '') onLine(pending);
      for (const w of waiters) {
        w.reject(new Error(`glacier-copy ${args[0]} ended (code ${code}, signal ${signal}) before the awaited event; stderr: ${stderr.trim()}`));
      }
      waiters.clear();
      const summaryEvent = events.findLast((e) => e.type === 'summary');
      const summary = typeof summaryEvent?.text === 'string' ? summaryEvent.text : '';
      resolve({ code, signal, stdout, stderr, events, summary, summaryEvent, text: other.join('\n'), killed, timedOut });
    });
  });
  done.catch(() => undefined);

  return {
    pid: child.pid!,
    events,
    waitForEvent(match, count = 1) {
      const seen = events.filter(match).length;
      if (seen >= count) return Promise.resolve(events.filter(match)[count - 1]!);
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`glacier-copy ${args[0]} has already ended; stderr: ${stderr.trim()}`));
      }
      return new Promise((resolve, reject) => waiters.add({ match, count, seen, resolve, reject }));
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
      return done;
    },
    done,
  };
}

/** Runs the CLI to its end. */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).done;
}

export interface StartArgs {
  endpoint: string;
  vault: string;
  bucket: string;
  state: string;
  /** more flags; a flag given again here wins over the defaults below */
  extra?: string[];
}

/**
 * `start` as the tests run it: JSON events, a 1 s poll interval (notifications may be lost), 8 MiB parts,
 * the simulator as the one endpoint.
 */
export function startArgs(o: StartArgs): string[] {
  return [
    'start',
    '--vault', o.vault,
    '--bucket', o.bucket,
    '--endpoint-url', o.endpoint,
    '--state', o.state,
    '--region', 'us-east-1',
    '--json',
    '--poll-interval', '1s',
    '--part-size', '8MiB',
    ...(o.extra ?? []),
  ];
}

export function resumeArgs(state: string, extra: string[] = []): string[] {
  return ['resume', '--state', state, '--json', '--poll-interval', '1s', ...extra];
}

/** Events of one type. */
export function eventsOf(result: { events: CliEvent[] }, type: string): CliEvent[] {
  return result.events.filter((e) => e.type === type);
}

/** A readable account of a run, for assertion messages. */
export function describeRun(r: CliResult): string {
  const notable = r.events.filter((e) => !['bytes', 'job-initiated', 'job-ready', 'archive-verified', 'inventory-progress', 'summary'].includes(e.type));
  return `exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\nstderr: ${r.stderr.trim()}\nsummary: ${r.summary}${r.text ? `\nother output: ${r.text}` : ''}\nevents: ${notable.map((e) => JSON.stringify(e)).join('\n')}`;
}
