import cliProgress from 'cli-progress';
import type { EngineEvent, EventSink } from '../events.js';
import type { TransferState } from '../state/db.js';
import { describeEvent } from './describe.js';
import { formatBytes } from './format.js';
import { describeInventory, describeProgress, formatRate, isCopying, formatSpan, ProgressStats, type ProgressSnapshot, type ProgressStatsOptions } from './progress-stats.js';
import { isRepeatedKind, RepeatedEvents } from './repeats.js';

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

/** How often progress lines (without a terminal) and the counts of repeated events are printed by default. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 60_000;

export interface ProgressOptions extends ProgressStatsOptions {
  mode: ProgressMode;
  /** Progress lines and counts of repeated events, once per this */
  intervalMs: number;
  /** Named in the lines that count repeated events: the details are there */
  logFile?: string;
  out?: NodeJS.WriteStream;
}

export interface ProgressReporter {
  sink: EventSink;
  stop(): void;
}

/** An event as `--json` prints it: one line, stamped with the time. */
function jsonLine(event: object): string {
  return `${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`;
}

/** Writes one event to stdout, the only thing `--json` puts there. */
export function writeJsonLine(event: object): void {
  process.stdout.write(jsonLine(event));
}

/** Every event (bytes summed per second) as a JSON line on stdout. */
function jsonReporter(): ProgressReporter {
  let bytes = 0;
  // Lines of one turn of the event loop go out in one write: hundreds of events a second, not hundreds of writes.
  let pending = '';
  const writeLine = (event: object) => {
    if (pending === '') setImmediate(flushLines);
    pending += jsonLine(event);
  };
  const flushLines = () => {
    if (pending !== '') process.stdout.write(pending);
    pending = '';
  };
  const flushBytes = () => {
    if (bytes > 0) writeLine({ type: 'bytes', n: bytes });
    bytes = 0;
  };
  const timer = setInterval(flushBytes, 1000);
  return {
    sink: (e) => {
      if (e.type === 'bytes') bytes += e.n;
      else writeLine(e);
    },
    stop: () => {
      clearInterval(timer);
      flushBytes();
      flushLines();
    },
  };
}

/**
 * What a person sees of a run, from the engine's events, which never wait on the terminal: counts come from a
 * snapshot of the state taken on a timer. On a terminal, bars with bytes, rate and ETA (the one-off events
 * printed above them, the bars cleared at the end); elsewhere (or --no-progress) a progress line per interval.
 * Repeated events (retries, renewals, throttling) are counted and shown once per kind per interval.
 */
export function createProgressReporter(state: TransferState, options: ProgressOptions): ProgressReporter {
  if (options.mode === 'quiet') return { sink: () => undefined, stop: () => undefined };
  if (options.mode === 'json') return jsonReporter();
  const out = options.out ?? process.stderr;
  const stats = new ProgressStats(options);
  const repeats = new RepeatedEvents();
  const view = options.mode === 'bars' && out.isTTY ? barsView(out) : linesView(out);
  let lastRepeats = Date.now();
  const flushRepeats = (force: boolean) => {
    if (!force && Date.now() - lastRepeats < options.intervalMs) return;
    for (const line of repeats.drain(Date.now() - lastRepeats, options.logFile)) view.print(line);
    lastRepeats = Date.now();
  };
  const refresh = () => {
    view.update(stats.snapshot(state.counts()));
    flushRepeats(false);
  };
  const timer = setInterval(refresh, view.refreshMs ?? options.intervalMs);
  return {
    sink: (e: EngineEvent) => {
      stats.observe(e);
      if (isRepeatedKind(e)) repeats.add(e);
      else {
        const text = describeEvent(e);
        if (text) view.print(text);
      }
    },
    stop: () => {
      clearInterval(timer);
      // Where it ended, with the rate it ran at: the last progress line, or the bars' last look.
      view.update(stats.snapshot(state.counts()));
      flushRepeats(true);
      view.stop();
    },
  };
}

interface View {
  /** How often to redraw; undefined: once per progress interval */
  refreshMs?: number;
  print(line: string): void;
  update(s: ProgressSnapshot): void;
  stop(): void;
}

function linesView(out: NodeJS.WritableStream): View {
  const print = (line: string) => void out.write(`${new Date().toISOString()} ${line}\n`);
  return { print, update: (s) => print(`progress: ${describeProgress(s)}`), stop: () => undefined };
}

function barsView(out: NodeJS.WriteStream): View {
  const bars = new cliProgress.MultiBar(
    {
      stream: out,
      hideCursor: true,
      // Bars are the present: at the end they go, and the summary stays.
      clearOnComplete: true,
      format: (options, params, payload: { text?: string; label: string; detail: string }) =>
        payload.text ?? ` ${payload.label} |${cliProgress.Format.BarFormat(params.progress, options)}| ${payload.detail}`,
    },
    cliProgress.Presets.shades_classic,
  );
  let rows: cliProgress.SingleBar[] = [];
  let shown: 'text' | 'bars' | undefined;
  /** One row of text (the inventory), or the two bars of the copy: a change of kind replaces the rows. */
  const show = (kind: 'text' | 'bars') => {
    if (shown === kind) return;
    shown = kind;
    for (const row of rows) bars.remove(row);
    rows = kind === 'text' ? [bars.create(1, 0, { text: '' })] : [bars.create(1, 0, { label: 'archives', detail: '' }), bars.create(1, 0, { label: 'bytes   ', detail: '' })];
  };
  return {
    refreshMs: 500,
    // Lines go above the bars, or straight out while there are none (the log is written at a redraw).
    print: (line) => (rows.length > 0 ? bars.log(`${line}\n`) : void out.write(`${line}\n`)),
    update: (s) => {
      const inventory = describeInventory(s);
      if (inventory) {
        show('text');
        rows[0]!.update(0, { text: ` ${inventory}` });
        return;
      }
      if (!isCopying(s)) return;
      show('bars');
      const a = s.archives;
      rows[0]!.setTotal(Math.max(1, a.total));
      rows[0]!.update(a.verified, { detail: `${a.verified}/${a.total} verified · ${a.requested} requested · ${a.ready} ready · ${a.failed} failed` });
      rows[1]!.setTotal(Math.max(1, s.bytes.total));
      rows[1]!.update(s.bytes.verified, {
        detail: `${formatBytes(s.bytes.verified)}/${formatBytes(s.bytes.total)} · ${formatRate(s.bytesPerSecond)}${s.eta ? ` · ETA ${formatSpan(s.eta)}` : ''}`,
      });
    },
    stop: () => {
      if (rows.length > 0) bars.update(); // the lines logged since the last redraw
      bars.stop();
    },
  };
}
