import type { Command } from 'commander';
import { createAwsClients, type AwsClients } from '../aws/clients.js';
import { TransferState } from '../state/db.js';
import { checkBucket, type CheckProblem, type CheckTotals } from '../verify/bucket-check.js';
import { addConnectionOptions, connectionFor, type ConnectionCliOptions } from './connection-options.js';
import { DEFAULT_STATE_FILE } from './start.js';
import { addJsonOption } from './output-options.js';
import { EXIT, parsePositiveInt } from './usage.js';

function describeProblem(p: CheckProblem): string {
  switch (p.kind) {
    case 'missing':
      return `missing    ${p.key} (archive ${p.archiveId})`;
    case 'different':
      return `different  ${p.key}: ${p.why} (archive ${p.archiveId})`;
    case 'not-copied':
      return `not copied ${p.key ?? '(no key)'}: ${p.status}${p.reason ? `, ${p.reason}` : ''} (archive ${p.archiveId})`;
    case 'extra':
      return `extra      ${p.key} (${p.size} bytes; no archive of this transfer)`;
  }
}

function renderCheckTotals(t: CheckTotals, oneWay: boolean): string {
  return (
    `${t.matched} archives match; ${t.missing} missing, ${t.different} different, ${t.notCopied} not copied, ` +
    `${t.extra} other objects under the prefix${oneWay && t.extra > 0 ? ' (ignored: --one-way)' : ''}`
  );
}

export function registerCheckCommand(program: Command): void {
  const command = program
    .command('check')
    .description("check the bucket against the transfer's state: every archive's object present, unchanged, at its storage class")
    .option('--state <file>', 'state file of the transfer', DEFAULT_STATE_FILE)
    .option('--one-way', 'do not count objects under the prefix that belong to no archive as a difference')
    .option('--concurrency <n>', 'HeadObject requests in flight', parsePositiveInt('--concurrency'), 32);
  addJsonOption(command, 'print each difference and the totals as JSON lines');
  addConnectionOptions(command, true).action(async (opts: ConnectionCliOptions & { state: string; oneWay?: boolean; concurrency: number; json?: boolean }) => {
    const state = TransferState.open(opts.state, { readonly: true });
    let clients: AwsClients | undefined;
    try {
      const config = state.config();
      clients = createAwsClients(await connectionFor(config, opts));
      const totals = await checkBucket(clients.s3, state, {
        concurrency: opts.concurrency,
        onProblem: (p) => process.stdout.write(opts.json ? `${JSON.stringify({ type: 'problem', ...p })}\n` : `${describeProblem(p)}\n`),
      });
      const ok = totals.missing + totals.different + totals.notCopied + (opts.oneWay ? 0 : totals.extra) === 0;
      process.stdout.write(opts.json ? `${JSON.stringify({ type: 'totals', ok, ...totals })}\n` : `${renderCheckTotals(totals, opts.oneWay ?? false)}\n`);
      process.exitCode = ok ? EXIT.ok : EXIT.failed;
    } finally {
      clients?.destroy();
      state.close();
    }
  });
}
