import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { ConfigError } from '../aws/errors.js';
import { withRetries } from '../aws/retry.js';
import type { EventSink } from '../engine/events.js';
import { jobDescription, listVaultJobs } from '../retrieve/jobs.js';
import type { InventoryEntry, TransferState } from '../state/db.js';
import { readInventory } from './index.js';

const BATCH = 5000;

/**
 * Streams an inventory document into the state, in batched transactions. An inventory that names another
 * vault is refused; bad rows are recorded and reported, and the rest goes on.
 */
export async function loadInventory(
  source: Readable,
  state: TransferState,
  expected: { vaultArnSuffix: string },
  emit: EventSink,
): Promise<{ archives: number; bytes: number }> {
  let batch: InventoryEntry[] = [];
  let archives = 0;
  let bytes = 0;
  const flush = () => {
    state.addArchives(batch);
    batch = [];
    emit({ type: 'inventory-progress', archives, bytes });
  };
  for await (const event of readInventory(source)) {
    if (event.kind === 'header') {
      const arn = event.header.vaultArn;
      if (arn !== undefined && !arn.endsWith(expected.vaultArnSuffix)) {
        throw new ConfigError(`the inventory is of ${arn}, not of vault ${expected.vaultArnSuffix.replace(/^:vaults\//, '')}`);
      }
    } else if (event.kind === 'archive') {
      batch.push(event.archive);
      archives++;
      bytes += event.archive.size;
      if (batch.length >= BATCH) flush();
    } else {
      const line = event.line ?? event.entry;
      state.addBadRow(line, event.reason);
      emit({ type: 'inventory-bad-row', line, reason: event.reason });
    }
  }
  flush();
  return { archives, bytes };
}

export interface InventoryJobContext {
  glacier: GlacierClient;
  vault: string;
  transferId: string;
  topicArn?: string;
  state: TransferState;
  emit: EventSink;
  signal: AbortSignal;
  /** Resolves when the job's notice arrives or the next poll is due */
  waitForJob: (jobId: string) => Promise<void>;
}

/** A user-supplied inventory file. */
export function openInventoryFile(path: string): Readable {
  return createReadStream(path);
}

/**
 * The vault inventory from Glacier: the output of a succeeded inventory job still listed (recent), else of a
 * new inventory-retrieval job, whose id is recorded so that `resume` waits for the same job.
 */
export async function fetchInventory(ctx: InventoryJobContext): Promise<{ archives: number; bytes: number }> {
  let jobId = ctx.state.transferInfo().inventoryJobId;
  if (!jobId) {
    const recent = (await listVaultJobs(ctx.glacier, ctx.vault, { completed: true }))
      .filter((j) => j.Action === 'InventoryRetrieval' && j.StatusCode === 'Succeeded')
      .sort((a, b) => (b.CompletionDate ?? '').localeCompare(a.CompletionDate ?? ''))[0];
    if (recent) {
      jobId = recent.JobId!;
      ctx.emit({ type: 'phase', phase: 'inventory', detail: `reusing inventory job ${jobId} completed ${recent.CompletionDate}` });
    } else {
      const out = await ctx.glacier.send(
        new InitiateJobCommand({
          accountId: '-',
          vaultName: ctx.vault,
          jobParameters: { Type: 'inventory-retrieval', Format: 'JSON', SNSTopic: ctx.topicArn, Description: jobDescription(ctx.transferId) },
        }),
      );
      jobId = out.jobId!;
      ctx.emit({ type: 'phase', phase: 'inventory', detail: `requested inventory job ${jobId}; Glacier takes hours` });
    }
    ctx.state.setTransfer({ inventory_job_id: jobId });
  }
  for (;;) {
    const job = await ctx.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: ctx.vault, jobId }));
    if (job.StatusCode === 'Succeeded') break;
    if (job.StatusCode === 'Failed') {
      ctx.state.setTransfer({ inventory_job_id: null });
      throw new Error(`inventory job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`);
    }
    await ctx.waitForJob(jobId);
    if (ctx.signal.aborted) throw ctx.signal.reason;
  }
  const vaultArnSuffix = `:vaults/${ctx.vault}`;
  return withRetries(
    async () => {
      ctx.state.clearInventory();
      const out = await ctx.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: ctx.vault, jobId }), { abortSignal: ctx.signal });
      return loadInventory(out.body as Readable, ctx.state, { vaultArnSuffix }, ctx.emit);
    },
    { attempts: 5, signal: ctx.signal },
  );
}
