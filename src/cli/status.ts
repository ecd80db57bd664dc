import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { TransferState } from '../state/db.js';
import { isLocked } from '../state/lock.js';
import { renderStatus, statusReport, type StatusReport } from '../ui/status.js';
import { addJsonOption } from './output-options.js';
import { DEFAULT_STATE_FILE } from './start.js';
import { parseInterval } from './usage.js';

const DEFAULT_WATCH_MS = 2000;
/** Home, then clear the screen: each report replaces the last, as watch(1) does. */
const REDRAW = '\x1b[H\x1b[2J';

function readStatus(path: string): StatusReport {
  // Asked before the state is read: a run that ends in between is then seen finished, never missed.
  const running = isLocked(path);
  const state = TransferState.open(path, { readonly: true });
  try {
    return statusReport(state, running);
  } finally {
    state.close();
  }
}

export function registerStatusCommand(program: Command): void {
  const command = program
    .command('status')
    .description('show where a transfer stands (reads only the state file)')
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .option('--watch [interval]', `show it again every interval (default ${DEFAULT_WATCH_MS / 1000}s, at least 1s) until the run ends`);
  addJsonOption(command, 'print the status as JSON (one line per report with --watch)').action(
    async (opts: { state: string; json?: boolean; watch?: string | boolean }) => {
      const interval = typeof opts.watch === 'string' ? parseInterval('--watch')(opts.watch) : DEFAULT_WATCH_MS;
      const redraw = !opts.json && process.stdout.isTTY;
      for (let first = true; ; first = false) {
        const report = readStatus(opts.state);
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else process.stdout.write(`${opts.watch && redraw ? REDRAW : ''}${renderStatus(report)}\n`);
        // Watching ends with the run: when the transfer is finished, or no process drives it any more.
        if (!opts.watch || report.finished || !report.running) {
          if (opts.watch && !report.finished) {
            process.stderr.write(`${first ? 'no run drives this transfer now' : 'the run ended before the transfer did'}: \`glacier-copy resume\` continues it\n`);
          }
          return;
        }
        await sleep(interval);
      }
    },
  );
}
