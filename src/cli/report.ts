import { Option, type Command } from 'commander';
import { TransferState } from '../state/db.js';
import { reportLines, type ReportFormat } from '../ui/report.js';
import { DEFAULT_STATE_FILE } from './start.js';
import { writeLines } from './write-lines.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('print one row per archive: what it was, where it went in S3, and how it ended (reads only the state file)')
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .addOption(new Option('--format <format>', 'csv, or json (JSON Lines: one object per archive)').choices(['csv', 'json']).default('csv'))
    .action(async (opts: { state: string; format: ReportFormat }) => {
      const state = TransferState.open(opts.state, { readonly: true });
      try {
        await writeLines(process.stdout, reportLines(state, opts.format));
      } finally {
        state.close();
      }
    });
}
