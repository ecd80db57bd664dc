import { Option, type Command } from 'commander';
import type { EngineOptions } from '../engine/transfer.js';
import { DEFAULT_PRIOR } from '../retrieve/pacing.js';
import type { ProgressMode } from '../ui/progress.js';
import { parseDuration, parsePositiveInt, parseSizeOption } from './usage.js';

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
  forceUnlock?: boolean;
}

/** Tuning options that `start` and `resume` share. */
export function addEngineOptions(command: Command): Command {
  return command
    .option('--concurrency <n>', 'streams (parts, or archives written with one PutObject) copied at once (default 8)', parsePositiveInt('--concurrency'))
    .option('--archive-concurrency <n>', 'archives copied at once, to hide round trips of small ones (default 128)', parsePositiveInt('--archive-concurrency'))
    .option('--workers <n>', 'worker threads that stream and hash the bytes (default: the cores available)', parsePositiveInt('--workers'))
    .option('--poll-interval <duration>', 'how often to ask Glacier about jobs if notifications are late (default 15m)', parseDuration)
    .option('--max-staged <size>', 'most bytes requested from Glacier and not yet copied (default: what the copy can take in the download window)', parseSizeOption('--max-staged', 'GiB'))
    .option('--max-jobs <n>', 'most retrieval jobs in flight (default: what the copy can take in the download window)', parsePositiveInt('--max-jobs'))
    .option('--expected-throughput <size>', 'bytes per second the copy is assumed to reach until it is measured: how much the first retrievals may hold (default 10MiB)', parseSizeOption('--expected-throughput', 'MiB'))
    .addOption(new Option('--output-window <duration>', 'how long job output stays downloadable (AWS: 24h)').argParser(parseDuration).hideHelp())
    .option('--force-unlock', 'take over the marker of another transfer of this vault to this bucket and prefix (only if that run is dead)')
    .option('--json', 'print events as JSON lines on stdout')
    .option('--quiet', 'print only the summary')
    .option('--no-progress', 'log lines instead of progress bars');
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
  if (o.expectedThroughput !== undefined) out.copyPrior = { ...DEFAULT_PRIOR, msPerMiB: (1000 * 1024 * 1024) / o.expectedThroughput };
  return out;
}

export function progressModeFrom(o: EngineCliOptions): ProgressMode {
  if (o.json) return 'json';
  if (o.quiet) return 'quiet';
  return o.progress === false ? 'lines' : 'bars';
}
