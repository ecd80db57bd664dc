import { setMaxListeners } from 'node:events';
import { createAwsClients } from '../aws/clients.js';
import { DEFAULT_ENGINE_OPTIONS, TransferEngine, type EngineOptions, type TransferSummary } from '../engine/transfer.js';
import { Accounting } from '../state/accounting.js';
import type { TransferState } from '../state/db.js';
import { describeScope } from '../inventory/scope.js';
import { formatBytes } from '../ui/format.js';
import { alreadyInS3, renderRequests } from '../ui/status.js';
import { createProgressReporter, DEFAULT_PROGRESS_INTERVAL_MS, writeJsonLine, type ProgressMode } from '../ui/progress.js';
import { defaultLogFile, openEventLog, type EventLog, type LogOptions } from '../ui/log.js';
import { TIER_WAIT_HOURS } from '../plan/cost.js';
import { priorThroughput } from '../retrieve/pacing.js';
import type { EventSink } from '../events.js';
import type { Connection } from '../aws/connection.js';
import { WorkerPool } from '../transfer/worker-pool.js';
import { connectionFor, type ConnectionCliOptions } from './connection-options.js';
import { EXIT, UsageError } from './usage.js';

export interface RunOptions {
  engine: Partial<EngineOptions>;
  progress: ProgressMode;
  /** Progress lines (without a terminal) and counts of repeated events, once per this (default a minute) */
  progressIntervalMs?: number;
  /** The run's JSON log: beside the state file, at level info, unless told otherwise */
  log?: Partial<LogOptions>;
  /** Overrides of the connection the transfer recorded */
  connection?: ConnectionCliOptions;
  /** What ends a run that was not interrupted, instead of the summary: returns the exit code (`plan`) */
  finish?: (summary: TransferSummary, connection: Connection) => Promise<number>;
}

export function renderSummary(s: TransferSummary, vault: string): string {
  const lines = [
    ...(s.inventoryScope ? describeScope(s.inventoryScope, vault) : []),
    `${s.verified.archives}/${s.archives} archives verified in S3 (${formatBytes(s.verified.bytes)} of ${formatBytes(s.bytes)})`,
    s.alreadyInS3.archives > 0 ? `${alreadyInS3(s.alreadyInS3)} before this transfer began: not retrieved again` : '',
    s.failedCount > 0 ? `${s.failedCount} archives failed:` : '',
    ...s.failed.map((f) => `  ${f.key ?? f.archiveId}: ${f.reason}`),
    s.failedCount > 0 ? 'once their cause is fixed, `glacier-copy resume --retry-failed` tries them again' : '',
    s.badRows > 0 ? `${s.badRows} inventory rows could not be read; those archives were not copied (see \`glacier-copy status\`)` : '',
    s.pending > 0 ? `${s.pending} archives still in progress: run \`glacier-copy resume\` to continue` : '',
    `requests: ${renderRequests(s.requests, s.verified.archives)}`,
  ];
  return lines.filter(Boolean).join('\n');
}

function openLog(statePath: string, options: Partial<LogOptions> = {}, context: Parameters<typeof openEventLog>[2]): EventLog {
  try {
    return openEventLog(statePath, { level: 'info', ...options }, context);
  } catch (e) {
    throw new UsageError(`cannot write the log file ${options.file ?? defaultLogFile(statePath)}: ${(e as Error).message} (pass --log-file)`);
  }
}

/**
 * Runs the engine on a transfer state with the terminal attached: progress, Ctrl-C (in-flight work is
 * recorded, exit 130), and a summary. Returns the exit code; closes the state.
 */
export async function runTransfer(state: TransferState, options: RunOptions): Promise<number> {
  const config = state.config();
  let connection: Connection;
  let log: EventLog;
  try {
    connection = await connectionFor(config, options.connection);
    log = openLog(state.path, options.log, config);
  } catch (e) {
    state.close();
    throw e;
  }
  const accounting = new Accounting();
  const engineOptions = { ...DEFAULT_ENGINE_OPTIONS, ...options.engine };
  const onRequest = (service: 'glacier' | 's3' | 'sns' | 'sqs', operation: string) => accounting.request(service, operation);
  const clients = createAwsClients({
    ...connection,
    // Every archive in flight holds a connection, with room for job listings and notifications.
    maxSockets: engineOptions.archiveConcurrency + engineOptions.receivers + 8,
    onRequest,
  });
  // Each worker's connections: as many as the streams it may be handed (all of them, when the others are busy).
  const dataPlane = new WorkerPool({ workers: engineOptions.workers, clients: { ...connection, maxSockets: engineOptions.concurrency }, onRequest });
  const reporter = createProgressReporter(state, {
    mode: options.progress,
    intervalMs: options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
    logFile: log.file,
    tierWaitHours: TIER_WAIT_HOURS[config.tier] ?? TIER_WAIT_HOURS.Bulk!,
    expectedBytesPerSecond: priorThroughput(engineOptions.copyPrior),
  });
  const sink: EventSink = (e) => {
    log.sink(e);
    reporter.sink(e);
  };
  const controller = new AbortController();
  // Every part in flight listens for Ctrl-C on this one signal.
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted); // the state is consistent at every instant
    process.stderr.write('\ninterrupted: recording work in flight (Ctrl-C again to quit at once)…\n');
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await dataPlane.ready();
    const engine = new TransferEngine(state, clients, engineOptions, sink, accounting, dataPlane);
    const summary = await engine.run(controller.signal);
    reporter.stop();
    const interrupted = controller.signal.aborted;
    if (!interrupted && options.finish) return await options.finish(summary, connection);
    const exitCode = interrupted ? EXIT.interrupted : summary.done ? EXIT.ok : EXIT.failed;
    const text = renderSummary(summary, config.vault);
    log.summary({ ...summary, exitCode });
    // With --json, stdout carries JSON only: the summary is an event, and its text goes to stderr for people.
    if (options.progress === 'json') writeJsonLine({ type: 'summary', ...summary, interrupted, exitCode, text });
    if (interrupted) process.stderr.write(`${text}\nstopped; run \`glacier-copy resume --state ${state.path}\` to continue\n`);
    else (options.progress === 'json' ? process.stderr : process.stdout).write(`${text}\n`);
    return exitCode;
  } catch (e) {
    reporter.stop();
    log.error(e);
    if (controller.signal.aborted) return EXIT.interrupted;
    throw e;
  } finally {
    log.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clients.destroy();
    await dataPlane.close();
    state.close();
  }
}
