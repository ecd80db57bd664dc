import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { ConfigError, describeError, isNotFound, isRetryable } from '../aws/errors.js';
import { withRetries } from '../aws/retry.js';
import type { EventSink } from '../events.js';
import { jobDescription, listVaultJobs } from '../retrieve/jobs.js';
import { totalOf, type TransferState } from '../state/db.js';
import type { NamingConfig } from '../naming/namer.js';
import { InventoryFormatError, type ByteSource } from './index.js';
import { readNamedInventory } from './named-reader.js';

/** Glacier stores archive ids and descriptions as printable ASCII (its API takes nothing else). */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * Streams an inventory document into the state, in batched transactions, each archive with its candidate key
 * (read and named on a worker thread while the batches before are written).
 * An inventory that names another vault is refused. In a file, bad rows are recorded and reported, and the
 * rest goes on. In Glacier's own output (`fromGlacier`), which carries no checksum, a row Glacier could not have
 * written (a bad row, an id or description that is not printable ASCII) means the download was damaged: the
 * whole document is refused (InventoryFormatError), to be fetched again.
 */
export async function loadInventory(
  source: ByteSource,
  state: TransferState,
  expected: { vaultArnSuffix: string; naming: NamingConfig; fromGlacier?: boolean },
  emit: EventSink,
): Promise<LoadedInventory> {
  const damaged = (entry: number | string, what: string) => new InventoryFormatError(`entry ${entry} of Glacier's inventory ${what}: the download is damaged`);
  state.startInventory();
  let archives = 0;
  let bytes = 0;
  let listed = 0;
  let date: string | undefined;
  for await (const event of readNamedInventory(source, expected.naming)) {
    if (event.kind !== 'header') listed += event.kind === 'archives' ? event.archives.length : 1;
    if (event.kind === 'header') {
      date = event.header.inventoryDate;
      const arn = event.header.vaultArn;
      if (arn !== undefined && !arn.endsWith(expected.vaultArnSuffix)) {
        throw new ConfigError(`the inventory is of ${arn}, not of vault ${expected.vaultArnSuffix.replace(/^:vaults\//, '')}`);
      }
    } else if (event.kind === 'archives') {
      if (expected.fromGlacier) {
        const odd = event.archives.find((a) => !(PRINTABLE_ASCII.test(a.archiveId) && PRINTABLE_ASCII.test(a.description)));
        if (odd) throw damaged(JSON.stringify(odd.archiveId), 'has characters Glacier never writes');
      }
      state.addArchives(event.archives);
      archives += event.archives.length;
      for (const a of event.archives) bytes += a.size;
      emit({ type: 'inventory-progress', archives, bytes });
    } else {
      if (expected.fromGlacier) throw damaged(event.entry, `is not a valid archive (${event.reason})`);
      const line = event.line ?? event.entry;
      state.addBadRow(line, event.reason);
      emit({ type: 'inventory-bad-row', line, reason: event.reason });
    }
  }
  const repeated = state.finishInventory();
  if (repeated > 0) emit({ type: 'warning', message: `${repeated} inventory entries repeat an archive id listed before them; the first entry of each is used` });
  return { ...totalOf(state.counts()), listed, date };
}

/** What loading an inventory found: archives kept, every entry listed (readable or not), the document's date. */
export interface LoadedInventory {
  archives: number;
  bytes: number;
  listed: number;
  date?: string;
}

/**
 * The bytes of a download, passed on as they come, checked at the end against the length Glacier gave for the
 * whole document: a body cut short (even at a line end, where a CSV still reads as whole) or longer is damaged.
 */
async function* ofLength(body: AsyncIterable<Uint8Array>, expected: number): AsyncGenerator<Uint8Array> {
  let received = 0;
  for await (const chunk of body) {
    received += chunk.length;
    yield chunk;
  }
  if (received !== expected) throw new InventoryFormatError(`the download holds ${received} bytes, Glacier's job says ${expected}: it is damaged`);
}

export interface InventoryJobContext {
  glacier: GlacierClient;
  naming: NamingConfig;
  vault: string;
  transferId: string;
  topicArn?: string;
  state: TransferState;
  emit: EventSink;
  signal: AbortSignal;
  /** Resolves when the job's notice arrives or the next poll is due */
  waitForJob: (jobId: string) => Promise<void>;
}

function isWholeVault(p: { StartDate?: string; EndDate?: string; Limit?: string; Marker?: string } | undefined): boolean {
  return !p?.StartDate && !p?.EndDate && !p?.Limit && !p?.Marker;
}

/** AWS's documented completion time of inventory-retrieval jobs, in hours. */
export const INVENTORY_WAIT_HOURS = { min: 3, max: 5 };

/** A user-supplied inventory file. */
export function openInventoryFile(path: string): Readable {
  return createReadStream(path);
}

/**
 * The vault inventory from Glacier: the output of a succeeded inventory job still listed (recent), else of a
 * new inventory-retrieval job, whose id is recorded so that `resume` waits for the same job.
 */
export async function fetchInventory(ctx: InventoryJobContext, tried: TriedJobs = { failed: 0, gone: new Set() }): Promise<LoadedInventory> {
  let jobId = ctx.state.transferInfo().inventoryJobId;
  if (!jobId) {
    const jobs = (await listVaultJobs(ctx.glacier, ctx.vault)).filter((j) => j.Action === 'InventoryRetrieval');
    // Ours and still running: requested by a run that stopped before it could record the job id.
    const ours = jobs.find((j) => j.StatusCode === 'InProgress' && j.JobDescription === jobDescription(ctx.transferId));
    // Only a whole-vault inventory will do: one asked for with a date range, a limit or a marker lists a part of
    // the vault, and copying from it would leave archives out while reporting done.
    const recent = jobs
      .filter((j) => j.StatusCode === 'Succeeded' && isWholeVault(j.InventoryRetrievalParameters) && !tried.gone.has(j.JobId!))
      .sort((a, b) => (b.CompletionDate ?? '').localeCompare(a.CompletionDate ?? ''))[0];
    let detail: string;
    if (recent) {
      jobId = recent.JobId!;
      detail = `reusing inventory job ${jobId} completed ${recent.CompletionDate}`;
    } else if (ours) {
      jobId = ours.JobId!;
      detail = `waiting for inventory job ${jobId} requested earlier`;
    } else {
      const out = await ctx.glacier
        .send(
          new InitiateJobCommand({
            accountId: '-',
            vaultName: ctx.vault,
            jobParameters: { Type: 'inventory-retrieval', Format: 'JSON', SNSTopic: ctx.topicArn, Description: jobDescription(ctx.transferId) },
          }),
        )
        .catch((e: unknown) => {
          // The vault exists (it was just described): what Glacier does not have is its first inventory.
          if (isNotFound(e)) throw new ConfigError(`vault "${ctx.vault}" has no inventory yet (Glacier takes the first about a day after the first upload); start again once it has one`);
          throw e;
        });
      jobId = out.jobId!;
      detail = `requested inventory job ${jobId}; Glacier takes hours`;
    }
    // Recorded before it is reported: whoever sees the event may stop this process at once.
    ctx.state.setTransfer({ inventory_job_id: jobId });
    ctx.emit({ type: 'phase', phase: 'inventory', detail });
  }
  // This job will not do (gone, or failed): never taken again; another inventory is found or requested.
  const startOver = () => {
    ctx.state.setTransfer({ inventory_job_id: null });
    tried.gone.add(jobId);
    return fetchInventory(ctx, tried);
  };
  let size: number | undefined;
  for (;;) {
    let job;
    try {
      job = await ctx.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: ctx.vault, jobId }));
    } catch (e) {
      if (!isNotFound(e)) throw e;
      // The job's output window passed (a long pause between runs): start over with a new one.
      return startOver();
    }
    if (job.StatusCode === 'Succeeded') {
      size = job.InventorySizeInBytes;
      break;
    }
    if (job.StatusCode === 'Failed') {
      const failure = `inventory job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`;
      if (++tried.failed >= MAX_FAILED_INVENTORY_JOBS) {
        ctx.state.setTransfer({ inventory_job_id: null });
        throw new Error(failure);
      }
      ctx.emit({ type: 'warning', message: `${failure}; requesting another` });
      return startOver();
    }
    ctx.emit({ type: 'inventory-waiting', jobId, requestedAt: job.CreationDate ?? new Date().toISOString(), expectedHours: INVENTORY_WAIT_HOURS });
    await ctx.waitForJob(jobId);
    if (ctx.signal.aborted) throw ctx.signal.reason;
  }
  const expected = { vaultArnSuffix: `:vaults/${ctx.vault}`, naming: ctx.naming, fromGlacier: true };
  const loaded = await withRetries(
    async () => {
      const out = await ctx.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: ctx.vault, jobId }), { abortSignal: ctx.signal });
      // Glacier sends no checksum with an inventory: its length is what tells a whole one.
      const body = out.body as Readable;
      return loadInventory(size === undefined ? body : ofLength(body, size), ctx.state, expected, ctx.emit);
    },
    {
      attempts: 5,
      signal: ctx.signal,
      // A damaged or cut-short document is fetched again, like any other failed download.
      retryable: (e) => e instanceof InventoryFormatError || isRetryable(e),
      onRetry: (_, e) => ctx.emit({ type: 'warning', message: `reading inventory job ${jobId} failed (${describeError(e)}); fetching it again` }),
    },
  ).catch((e: unknown) => {
    if (!isNotFound(e)) throw e;
    return undefined;
  });
  if (loaded) return loaded;
  // Its output expired between the job's description and its download (a reused job near the end of its window).
  ctx.emit({ type: 'warning', message: `the output of inventory job ${jobId} is gone (expired); requesting another inventory` });
  return startOver();
}

/** Inventory jobs that may fail (Glacier's own trouble) before the run gives up. */
const MAX_FAILED_INVENTORY_JOBS = 3;

/** Inventory jobs this run found failed or expired: never taken again. */
interface TriedJobs {
  failed: number;
  gone: Set<string>;
}
