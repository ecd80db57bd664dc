import type { EngineEvent } from '../events.js';
import { formatDuration } from './format.js';

type RepeatedKind = Extract<EngineEvent, { type: 'job-renewed' | 'part-retry' | 'throttled' }>;

/** Events that come by the hundred when something passing goes wrong: shown as one line per kind per interval. */
export function isRepeatedKind(e: EngineEvent): e is RepeatedKind {
  return e.type === 'job-renewed' || e.type === 'part-retry' || e.type === 'throttled';
}

const EXAMPLE_LENGTH = 100;

function shorten(text: string): string {
  return text.length <= EXAMPLE_LENGTH ? text : `${text.slice(0, EXAMPLE_LENGTH - 1)}…`;
}

/**
 * Counts repeated events between two `drain`s. Each becomes one line with the count and the first one's reason;
 * every single event goes to the log, which the lines name.
 */
export class RepeatedEvents {
  private seen = new Map<RepeatedKind['type'], { count: number; first: RepeatedKind; longestPauseMs: number }>();

  add(e: RepeatedKind): void {
    const entry = this.seen.get(e.type);
    const pauseMs = e.type === 'throttled' ? e.pauseMs : 0;
    if (entry) {
      entry.count++;
      entry.longestPauseMs = Math.max(entry.longestPauseMs, pauseMs);
    } else this.seen.set(e.type, { count: 1, first: e, longestPauseMs: pauseMs });
  }

  /** The lines for what was counted over the last `intervalMs`, and a fresh count. */
  drain(intervalMs: number, logFile: string | undefined): string[] {
    const span = `in the last ${formatDuration(intervalMs)}`;
    const details = logFile ? `; details in ${logFile}` : '';
    const lines: string[] = [];
    for (const { count, first, longestPauseMs } of this.seen.values()) {
      switch (first.type) {
        case 'job-renewed':
          lines.push(`${count} retrievals requested again ${span} (the first: ${shorten(first.reason)})${details}`);
          break;
        case 'part-retry':
          lines.push(`${count} requests tried again ${span} (the first: ${shorten(first.reason)})${details}`);
          break;
        case 'throttled':
          lines.push(`throttled ${count} times ${span} on ${shorten(first.operation)}, pausing up to ${formatDuration(longestPauseMs)}${details}`);
          break;
      }
    }
    this.seen.clear();
    return lines;
  }
}
