import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { TransferState } from '../state/db.js';
import { renderStatus, statusReport } from '../ui/status.js';
import { DEFAULT_STATE_FILE } from './start.js';
import { parseDuration } from './usage.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show where a transfer stands (reads only the state file)')
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .option('--json', 'print the status as JSON')
    .option('--watch [interval]', 'print again every interval (default 2s) until interrupted')
    .action(async (opts: { state: string; json?: boolean; watch?: string | boolean }) => {
      const interval = typeof opts.watch === 'string' ? parseDuration(opts.watch) : 2000;
      for (;;) {
        const state = TransferState.open(opts.state, { readonly: true });
        try {
          const report = statusReport(state);
          process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : `${renderStatus(report)}\n`);
        } finally {
          state.close();
        }
        if (!opts.watch) return;
        await sleep(interval);
      }
    });
}
