import type { Command } from 'commander';
import { TransferState } from '../state/db.js';
import { addConnectionOptions, type ConnectionCliOptions } from './connection-options.js';
import { addEngineOptions, engineOptionsFrom, viewOptionsFrom, type EngineCliOptions } from './engine-options.js';
import { runTransfer } from './run-transfer.js';
import { DEFAULT_STATE_FILE } from './start.js';

export function registerResumeCommand(program: Command): void {
  const command = program
    .command('resume')
    .description('continue a transfer from its state file (after a crash, Ctrl-C, or to pick up ready retrievals)')
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .option('--retry-failed', 'try the archives that failed again, whatever the reason (those that failed for a passing reason are retried anyway)');
  addEngineOptions(addConnectionOptions(command, true)).action(async (opts: EngineCliOptions & ConnectionCliOptions & { state: string; retryFailed?: boolean }) => {
    const state = TransferState.open(opts.state);
    if (opts.retryFailed) process.stderr.write(`trying ${state.retryAllFailures()} failed archives again\n`);
    process.exitCode = await runTransfer(state, { engine: engineOptionsFrom(opts), ...viewOptionsFrom(opts), connection: opts });
  });
}
