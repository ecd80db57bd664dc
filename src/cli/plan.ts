import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { priorThroughput } from '../retrieve/pacing.js';
import { loadPrices, PriceTableError } from '../plan/cost.js';
import { buildPlanReport, type PlanReport } from '../plan/plan-report.js';
import type { TransferState } from '../state/db.js';
import { renderPlan, renderPlanLine } from '../ui/plan.js';
import { engineOptionsFrom, progressModeFrom, viewOptionsFrom } from './engine-options.js';
import { runTransfer } from './run-transfer.js';
import { EXIT, UsageError } from './usage.js';
import { addTransferOptions, startTransfer, type TransferCliOptions } from './start.js';

/** The copy rate a plan assumes for its duration, in archives: the per-archive round trips, hidden 128 at a time. */
export const PLAN_ARCHIVES_PER_SECOND = 100;

export interface PlanCliOptions {
  prices?: string;
  expectedThroughput?: number;
}

function pricesFrom(o: PlanCliOptions) {
  try {
    return loadPrices(o.prices);
  } catch (e) {
    if (e instanceof PriceTableError) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * Runs a transfer up to its first retrieval (the inventory read, the archives named, those already in S3 found),
 * then hands its plan to `show`, which returns the exit code. The state stays: `resume` copies from it.
 */
export async function runPlan(state: TransferState, opts: TransferCliOptions, show: (report: PlanReport) => Promise<number>): Promise<number> {
  const prices = pricesFrom(opts);
  const bytesPerSecond = opts.expectedThroughput ?? priorThroughput();
  return runTransfer(state, {
    engine: { ...engineOptionsFrom(opts), planOnly: true },
    ...viewOptionsFrom(opts),
    // The plan is the output: progress shows only while the inventory is read.
    progress: opts.json ? 'quiet' : progressModeFrom(opts),
    connection: opts,
    finish: async (_summary, connection) =>
      show(await buildPlanReport(state, { region: connection.region, prices, rates: { bytesPerSecond, archivesPerSecond: PLAN_ARCHIVES_PER_SECOND } })),
  });
}

/** Prints a plan (text, or one JSON document with --json) and how to go on. */
export function showPlan(opts: TransferCliOptions) {
  return async (report: PlanReport): Promise<number> => {
    if (opts.json) process.stdout.write(`${JSON.stringify({ type: 'plan', ...report })}\n`);
    else process.stdout.write(`${renderPlan(report)}\n`);
    process.stderr.write(`nothing was retrieved; the inventory and the plan are kept in ${opts.state}: \`glacier-copy resume --state ${opts.state}\` copies\n`);
    return EXIT.ok;
  };
}

/** Shows the plan in one line and asks to go ahead (on a terminal); true to copy. */
export function confirmPlan(opts: TransferCliOptions, answer: { yes: boolean }) {
  return async (report: PlanReport): Promise<number> => {
    const ask = createInterface({ input: process.stdin, output: process.stderr });
    try {
      const reply = await ask.question(`${renderPlanLine(report)}\ngo ahead? [y/N] `);
      answer.yes = /^y(es)?$/i.test(reply.trim());
    } finally {
      ask.close();
    }
    if (!answer.yes) process.stderr.write(`nothing was retrieved; \`glacier-copy resume --state ${opts.state}\` copies when you are ready\n`);
    return EXIT.ok;
  };
}

export function registerPlanCommand(program: Command): void {
  const command = program
    .command('plan')
    .description('what copying a vault would cost and how long it would take, from its inventory, retrieving nothing (as start --dry-run)');
  addTransferOptions(command).action((opts: TransferCliOptions) => startTransfer({ ...opts, dryRun: true }));
}
