import { pino, type Level } from 'pino';
import type { EngineEvent, EventSink } from '../events.js';
import { describeError } from '../aws/errors.js';
import { describeEvent } from './describe.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  /** default: beside the state file, `<state>.log` */
  file?: string;
  level: LogLevel;
}

/** Where a transfer's log goes by default: beside its state file. */
export function defaultLogFile(statePath: string): string {
  return `${statePath}.log`;
}

function levelOf(e: EngineEvent): Level {
  switch (e.type) {
    case 'archive-failed':
      return 'error';
    case 'warning':
    case 'throttled':
    case 'part-retry':
    case 'job-renewed':
    case 'inventory-bad-row':
      return 'warn';
    case 'bytes':
      return 'trace';
    case 'inventory-progress':
    case 'inventory-waiting':
      return 'debug';
    default:
      return 'info';
  }
}

export interface EventLog {
  readonly file: string;
  sink: EventSink;
  /** How the run ended */
  summary(s: object): void;
  /** The error a run ended with */
  error(e: unknown): void;
  close(): void;
}

/**
 * The run's JSON log (pino, appended, mode 0600): every event with its archive id and byte range, each line
 * naming the transfer and vault, so that the terminal can stay concise.
 */
export function openEventLog(statePath: string, options: LogOptions, context: { transferId: string; vault: string; bucket: string }): EventLog {
  const file = options.file ?? defaultLogFile(statePath);
  // Synchronous: a run that exits at once (a second Ctrl-C) loses no line.
  const destination = pino.destination({ dest: file, sync: true, mkdir: true, mode: 0o600 });
  const logger = pino({ level: options.level, base: { transfer: context.transferId, vault: context.vault, bucket: context.bucket }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  return {
    file,
    sink: (e) => {
      const level = levelOf(e);
      if (logger.isLevelEnabled(level)) logger[level](e, describeEvent(e) ?? e.type);
    },
    summary: (s) => logger.info({ type: 'summary', ...s }, 'summary'),
    error: (e) => logger.error({ type: 'error', err: e }, describeError(e)),
    close: () => destination.end(),
  };
}
