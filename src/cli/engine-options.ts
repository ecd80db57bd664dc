import { Option, type Command } from 'commander';
import type { EngineOptions } from '../engine/transfer.js';
import { priorAtThroughput } from '../retrieve/pacing.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, type ProgressMode } from '../ui/progress.js';
import { LOG_LEVELS, type LogLevel } from '../ui/log.js';
import type { RunOptions } from './run-transfer.js';
import { addJsonOption } from './output-options.js';
import { parseDuration, parseInterval, parsePositiveInt, parseSizeOption } from './usage.js';

export interface EngineCliOptions {
  concurrency?: number;
  archiveConcurrency?: number;
  workers?: number;
  pollInterval?: number;
  maxStaged?: number;
  maxJobs?: number;
  outputWindow?: number;
  expectedThroughput?: number;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
  progressInterval?: number;
  logFile?: string;
  logLevel?: LogLevel;
  forceUnlock?: boolean;
}

/** Tuning options that `start` and `resume` share. */
export function addEngineOptions(command: Command): Command {
  return addJsonOption(command, 'print every event, then the summary, as JSON lines on stdout (text goes to stderr)')
    .option('--concurrency <n>', 'streams (parts, or archives written with one PutObject) copied at once (default 8)', parsePositiveInt('--concurrency'))
    .option('--archive-concurrency <n>', 'archives copied at once, to hide round trips of small ones (default 128)', parsePositiveInt('--archive-concurrency'))
    .option('--workers <n>', 'worker threads that stream and hash the bytes (default: the cores available)', parsePositiveInt('--workers'))
    .option('--poll-interval <duration>', 'how often to ask Glacier about jobs if notifications are late (default 15m)', parseDuration)
    .option('--max-staged <size>', 'most bytes requested from Glacier and not yet copied (default: what the copy can take in the download window)', parseSizeOption('--max-staged', 'GiB'))
    .option('--max-jobs <n>', 'most retrieval jobs in flight (default: what the copy can take in the download window)', parsePositiveInt('--max-jobs'))
    .option('--expected-throughput <size>', 'bytes per second the copy is assumed to reach until it is measured: how much the first retrievals may hold (default 10MiB)', parseSizeOption('--expected-throughput', 'MiB'))
    .addOption(new Option('--output-window <duration>', 'how long job output stays downloadable (AWS: 24h)').argParser(parseDuration).hideHelp())
    .option('--force-unlock', 'take over the marker of another transfer of this vault to this bucket and prefix (only if that run is dead)')
    .option('--quiet', 'print only the summary')
    .option('-P, --progress', 'show progress as it goes (the default): bars on a terminal, a progress line per interval otherwise')
    .option('--no-progress', 'progress lines instead of bars, also on a terminal')
    .option('--progress-interval <duration>', 'how often a progress line is printed without bars, and repeated events counted (default 1m)', parseInterval('--progress-interval'))
    .option('--log-file <file>', 'JSON log of every event (default: the state file with .log added)')
    .addOption(new Option('--log-level <level>', 'least level logged').choices(LOG_LEVELS).default('info'));
}


export function engineOptionsFrom(o: EngineCliOptions): Partial<EngineOptions> {
  const out: Partial<EngineOptions> = {};
  if (o.concurrency !== undefined) out.concurrency = o.concurrency;
  if (o.archiveConcurrency !== undefined) out.archiveConcurrency = o.archiveConcurrency;
  if (o.workers !== undefined) out.workers = o.workers;
  if (o.pollInterval !== undefined) out.pollIntervalMs = o.pollInterval;
  if (o.maxStaged !== undefined) out.maxStagedBytes = o.maxStaged;
  if (o.maxJobs !== undefined) out.maxJobsInFlight = o.maxJobs;
  if (o.outputWindow !== undefined) out.outputWindowMs = o.outputWindow;
  if (o.forceUnlock) out.forceUnlock = true;
  if (o.expectedThroughput !== undefined) out.copyPrior = priorAtThroughput(o.expectedThroughput);
  return out;
}

export function progressModeFrom(o: EngineCliOptions): ProgressMode {
  if (o.json) return 'json';
  if (o.quiet) return 'quiet';
  return o.progress === false ? 'lines' : 'bars';
}

/** How a run is watched: progress on the terminal, and its log. */
export function viewOptionsFrom(o: EngineCliOptions): Pick<RunOptions, 'progress' | 'progressIntervalMs' | 'log'> {
  return {
    progress: progressModeFrom(o),
    progressIntervalMs: o.progressInterval ?? DEFAULT_PROGRESS_INTERVAL_MS,
    log: { file: o.logFile, level: o.logLevel ?? 'info' },
  };
}
