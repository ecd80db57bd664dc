import { Option, type Command } from 'commander';
import type { EngineOptions } from '../engine/transfer.js';
import type { ProgressMode } from '../ui/progress.js';
import { parseByteSize, parseDuration, parsePositiveInt } from './usage.js';

export interface EngineCliOptions {
  concurrency?: number;
  pollInterval?: number;
  maxStaged?: number;
  maxJobs?: number;
  outputWindow?: number;
  json?: boolean;
  quiet?: boolean;
  progress?: boolean;
}

/** Tuning options that `start` and `resume` share. */
export function addEngineOptions(command: Command): Command {
  return command
    .option('--concurrency <n>', 'parts copied at once (default 8)', parsePositiveInt('--concurrency'))
    .option('--poll-interval <duration>', 'how often to ask Glacier about jobs if notifications are late (default 15m)', parseDuration)
    .option('--max-staged <size>', 'most bytes requested from Glacier and not yet copied (default 1TiB)', parseByteSize)
    .option('--max-jobs <n>', 'most retrieval jobs in flight (default 1000)', parsePositiveInt('--max-jobs'))
    .addOption(new Option('--output-window <duration>', 'how long job output stays downloadable (AWS: 24h)').argParser(parseDuration).hideHelp())
    .option('--json', 'print events as JSON lines on stdout')
    .option('--quiet', 'print only the summary')
    .option('--no-progress', 'log lines instead of progress bars');
}

export function engineOptionsFrom(o: EngineCliOptions): Partial<EngineOptions> {
  const out: Partial<EngineOptions> = {};
  if (o.concurrency !== undefined) out.concurrency = o.concurrency;
  if (o.pollInterval !== undefined) out.pollIntervalMs = o.pollInterval;
  if (o.maxStaged !== undefined) out.maxStagedBytes = o.maxStaged;
  if (o.maxJobs !== undefined) out.maxJobsInFlight = o.maxJobs;
  if (o.outputWindow !== undefined) out.outputWindowMs = o.outputWindow;
  return out;
}

export function progressModeFrom(o: EngineCliOptions): ProgressMode {
  if (o.json) return 'json';
  if (o.quiet) return 'quiet';
  return o.progress === false ? 'lines' : 'bars';
}
