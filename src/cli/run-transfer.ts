import { setMaxListeners } from 'node:events';
import { createAwsClients } from '../aws/clients.js';
import { DEFAULT_ENGINE_OPTIONS, TransferEngine, type EngineOptions, type TransferSummary } from '../engine/transfer.js';
import { Accounting } from '../state/accounting.js';
import type { TransferState } from '../state/db.js';
import { describeScope } from '../inventory/scope.js';
import { formatBytes } from '../ui/format.js';
import { alreadyInS3, renderRequests } from '../ui/status.js';
import { createProgressReporter, type ProgressMode } from '../ui/progress.js';
import type { Connection } from '../aws/connection.js';
import { WorkerPool } from '../transfer/worker-pool.js';
import { connectionFor, type ConnectionCliOptions } from './connection-options.js';
import { EXIT } from './usage.js';

export interface RunOptions {
  engine: Partial<EngineOptions>;
  progress: ProgressMode;
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

/**
 * Runs the engine on a transfer state with the terminal attached: progress, Ctrl-C (in-flight work is
 * recorded, exit 130), and a summary. Returns the exit code; closes the state.
 */
export async function runTransfer(state: TransferState, options: RunOptions): Promise<number> {
  const config = state.config();
  let connection: Connection;
  try {
    connection = await connectionFor(config, options.connection);
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
  const reporter = createProgressReporter(options.progress, state);
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
    const engine = new TransferEngine(state, clients, engineOptions, reporter.sink, accounting, dataPlane);
    const summary = await engine.run(controller.signal);
    reporter.stop();
    if (controller.signal.aborted) {
      process.stderr.write(`${renderSummary(summary, config.vault)}\nstopped; run \`glacier-copy resume --state ${state.path}\` to continue\n`);
      return EXIT.interrupted;
    }
    if (options.finish) return await options.finish(summary, connection);
    process.stdout.write(`${renderSummary(summary, config.vault)}\n`);
    return summary.done ? EXIT.ok : EXIT.failed;
  } catch (e) {
    reporter.stop();
    if (controller.signal.aborted) return EXIT.interrupted;
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    clients.destroy();
    await dataPlane.close();
    state.close();
  }
}
