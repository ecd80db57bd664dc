import cliProgress from 'cli-progress';
import type { EngineEvent, EventSink } from '../events.js';
import { totalOf, type TransferState } from '../state/db.js';
import { formatBytes } from './format.js';

export type ProgressMode = 'bars' | 'lines' | 'json' | 'quiet';

export interface ProgressReporter {
  sink: EventSink;
  stop(): void;
}

/**
 * Renders engine events. The engine only emits; counts for the bars come from a snapshot of the state taken on
 * a 500 ms timer, so copying never waits on the terminal.
 */
export function createProgressReporter(mode: ProgressMode, state: TransferState, out = process.stderr): ProgressReporter {
  if (mode === 'quiet') return { sink: () => undefined, stop: () => undefined };
  if (mode === 'json') {
    let bytes = 0;
    // Lines of one turn of the event loop go out in one write: hundreds of events a second, not hundreds of writes.
    let pending = '';
    const writeLine = (event: object) => {
      if (pending === '') setImmediate(flushLines);
      pending += `${JSON.stringify({ ...event, at: new Date().toISOString() })}\n`;
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
  const describe = (e: EngineEvent): string | undefined => {
    switch (e.type) {
      case 'phase':
        // Checks that take a moment are not news; a refusal prints its own one line.
        if (e.phase === 'validate' || e.phase === 'notifications' || e.phase === 'done') return undefined;
        return e.detail ? `${e.phase}: ${e.detail}` : `${e.phase}…`;
      case 'planned':
        return `planned ${e.archives} archives, ${formatBytes(e.bytes)}${e.uncopyable ? `; ${e.uncopyable} cannot be copied` : ''}`;
      case 'already-in-s3':
        return `${e.archives} archives (${formatBytes(e.bytes)}) already in S3 from an earlier copy: not retrieved again`;
      case 'inventory-bad-row':
        return `inventory line ${e.line} skipped: ${e.reason}`;
      case 'archive-failed':
        return `FAILED ${e.key ?? e.archiveId}: ${e.reason}`;
      case 'job-renewed':
        return `re-requesting ${e.archiveId.slice(0, 12)}…: ${e.reason}`;
      case 'part-retry':
        return `retrying part ${e.partNumber} of ${e.archiveId.slice(0, 12)}… (attempt ${e.attempt}): ${e.reason}`;
      case 'warning':
        return `warning: ${e.message}`;
      case 'throttled':
        return `throttled on ${e.operation}; pausing ${Math.round(e.pauseMs / 1000)}s`;
      default:
        return undefined;
    }
  };
  if (mode === 'lines' || !out.isTTY) {
    return { sink: (e) => {
      const text = describe(e);
      if (text) out.write(`${new Date().toISOString()} ${text}\n`);
    }, stop: () => undefined };
  }
  const bars = new cliProgress.MultiBar(
    { stream: out, hideCursor: true, clearOnComplete: false, format: ' {label} |{bar}| {value}/{total} {unit}', autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const archivesBar = bars.create(1, 0, { label: 'archives verified', unit: '' });
  const bytesBar = bars.create(1, 0, { label: 'bytes copied     ', unit: '' });
  // Counting scans every archive: in a vault of millions, refresh less often so the copy keeps the CPU.
  let refreshMs = 500;
  let timer: NodeJS.Timeout;
  const refresh = () => {
    const started = Date.now();
    const counts = state.counts();
    const total = totalOf(counts);
    archivesBar.setTotal(Math.max(1, total.archives));
    archivesBar.update(counts.verified.archives, { unit: `(${counts.requested.archives + counts.requesting.archives} requested, ${counts.staged.archives} ready, ${counts.failed.archives} failed)` });
    bytesBar.setTotal(Math.max(1, total.bytes));
    bytesBar.update(counts.verified.bytes, { unit: formatBytes(counts.verified.bytes) });
    refreshMs = Math.max(500, 20 * (Date.now() - started));
  };
  const tick = () => {
    refresh();
    timer = setTimeout(tick, refreshMs);
  };
  timer = setTimeout(tick, refreshMs);
  return {
    sink: (e) => {
      const text = describe(e);
      if (text) bars.log(`${text}\n`);
    },
    stop: () => {
      clearTimeout(timer);
      refresh();
      bars.stop();
    },
  };
}
