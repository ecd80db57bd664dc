import type { EngineEvent } from '../events.js';
import { totalOf, type Counts } from '../state/db.js';
import { formatBytes, formatDuration } from './format.js';

const HOUR = 3_600_000;
/** The rate is the bytes of about the last minute: recent enough to follow changes, long enough to smooth bursts. */
const RATE_WINDOW_MS = 60_000;

export interface Span {
  minMs: number;
  maxMs: number;
}

/** Where a run stands, for one progress line or one redraw of the bars. */
export interface ProgressSnapshot {
  phase: string;
  /** While the inventory is awaited from Glacier, or read */
  inventory?: { waiting: { jobId: string; elapsedMs: number; expected: Span } } | { read: { archives: number; bytes: number } };
  archives: { verified: number; total: number; failed: number; requested: number; ready: number };
  bytes: { verified: number; total: number };
  /** Bytes a second over the last minute; undefined before anything was copied */
  bytesPerSecond?: number;
  /** Time still to come: a span while Glacier's wait is part of it (its documented range per tier) */
  eta?: Span;
}

export interface ProgressStatsOptions {
  /** The tier's documented retrieval time */
  tierWaitHours: { min: number; max: number };
  /** What the copy is assumed to reach until it is measured */
  expectedBytesPerSecond: number;
  now?: () => number;
}

/**
 * Follows the engine's events (bytes moved, jobs requested, the inventory's job) and, with the state's counts,
 * tells the rate and what is left: copy time at the measured rate, plus Glacier's wait while nothing is ready.
 */
export class ProgressStats {
  private phase = 'validate';
  private inventoryWait?: { jobId: string; requestedAt: number; expected: Span };
  private inventoryRead?: { archives: number; bytes: number };
  private bytes = 0;
  private readonly samples: { at: number; bytes: number }[];
  private firstRequestAt?: number;
  private readonly now: () => number;

  constructor(private readonly options: ProgressStatsOptions) {
    this.now = options.now ?? Date.now;
    this.samples = [{ at: this.now(), bytes: 0 }];
  }

  observe(e: EngineEvent): void {
    switch (e.type) {
      case 'bytes':
        this.bytes += e.n;
        break;
      case 'phase':
        if (e.phase !== 'done') this.phase = e.phase;
        break;
      case 'inventory-waiting':
        this.inventoryWait = {
          jobId: e.jobId,
          requestedAt: Date.parse(e.requestedAt) || this.now(),
          expected: { minMs: e.expectedHours.min * HOUR, maxMs: e.expectedHours.max * HOUR },
        };
        break;
      case 'inventory-progress':
        this.inventoryWait = undefined;
        this.inventoryRead = { archives: e.archives, bytes: e.bytes };
        break;
      case 'job-initiated':
        this.firstRequestAt ??= this.now();
        break;
    }
  }

  snapshot(counts: Counts): ProgressSnapshot {
    const now = this.now();
    this.samples.push({ at: now, bytes: this.bytes });
    // Keep one sample older than the window, so that the rate spans it even when sampled once a minute.
    while (this.samples.length > 2 && this.samples[1]!.at <= now - RATE_WINDOW_MS) this.samples.shift();
    const oldest = this.samples[0]!;
    const bytesPerSecond = this.bytes > 0 && now > oldest.at ? ((this.bytes - oldest.bytes) * 1000) / (now - oldest.at) : undefined;
    const total = totalOf(counts);
    const snapshot: ProgressSnapshot = {
      phase: this.phase,
      archives: {
        verified: counts.verified.archives,
        total: total.archives,
        failed: counts.failed.archives,
        requested: counts.requesting.archives + counts.requested.archives,
        ready: counts.staged.archives + counts.completing.archives,
      },
      bytes: { verified: counts.verified.bytes, total: total.bytes },
      bytesPerSecond,
    };
    if (this.phase === 'inventory') {
      if (this.inventoryRead) snapshot.inventory = { read: this.inventoryRead };
      else if (this.inventoryWait) {
        const w = this.inventoryWait;
        snapshot.inventory = { waiting: { jobId: w.jobId, elapsedMs: now - w.requestedAt, expected: w.expected } };
      }
    }
    if (isCopying(snapshot)) snapshot.eta = this.eta(counts, bytesPerSecond, now);
    return snapshot;
  }

  private eta(counts: Counts, measured: number | undefined, now: number): Span {
    const remaining = Math.max(0, totalOf(counts).bytes - counts.verified.bytes - counts.failed.bytes);
    const copyMs = (remaining * 1000) / (measured || this.options.expectedBytesPerSecond);
    const ready = counts.staged.archives + counts.completing.archives;
    const toRetrieve = counts.planned.archives + counts.requesting.archives + counts.requested.archives;
    if (ready > 0 || toRetrieve === 0) return { minMs: copyMs, maxMs: copyMs };
    // Nothing to copy until Glacier has the first retrievals ready: its wait comes first.
    const since = this.firstRequestAt ?? now;
    const { min, max } = this.options.tierWaitHours;
    return { minMs: Math.max(0, since + min * HOUR - now) + copyMs, maxMs: Math.max(0, since + max * HOUR - now) + copyMs };
  }
}

/** The copy and what ends it: the phases whose progress is archives and bytes. */
export function isCopying(s: ProgressSnapshot): boolean {
  return s.phase === 'copy' || s.phase === 'cleanup';
}

/** "3m20s", or "5h00m–12h00m" when Glacier's wait makes it a range. */
export function formatSpan(span: Span): string {
  const min = formatDuration(span.minMs);
  const max = formatDuration(span.maxMs);
  return min === max ? min : `${min}–${max}`;
}

export function formatRate(bytesPerSecond: number | undefined): string {
  return bytesPerSecond === undefined ? 'rate not measured yet' : `${formatBytes(bytesPerSecond)}/s`;
}

/** The inventory's state in words, or undefined outside the inventory phase. */
export function describeInventory(s: ProgressSnapshot): string | undefined {
  if (!s.inventory) return undefined;
  if ('read' in s.inventory) return `inventory: ${s.inventory.read.archives.toLocaleString('en-US')} archives read (${formatBytes(s.inventory.read.bytes)})`;
  const w = s.inventory.waiting;
  return `inventory: Glacier is preparing job ${w.jobId.slice(0, 12)}…: waiting ${formatDuration(w.elapsedMs)}; such jobs take ${formatSpan(w.expected)}`;
}

/** One progress line: counts, bytes, rate, ETA. */
export function describeProgress(s: ProgressSnapshot): string {
  const inventory = describeInventory(s);
  if (inventory) return inventory;
  const a = s.archives;
  return (
    `${a.verified}/${a.total} archives verified (${a.requested} requested, ${a.ready} ready, ${a.failed} failed), ` +
    `${formatBytes(s.bytes.verified)} of ${formatBytes(s.bytes.total)}, ${formatRate(s.bytesPerSecond)}` +
    (s.eta ? `, ETA ${formatSpan(s.eta)}` : '')
  );
}
