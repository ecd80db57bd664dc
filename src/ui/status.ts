import { COUNTER, type Counts, type TransferState } from '../state/db.js';

const SHOWN_FAILURES = 20;
import type { RequestFigures } from '../state/accounting.js';
import { summarize } from '../engine/transfer.js';
import { formatBytes, formatDuration } from './format.js';
import { describeScope, type InventoryScope } from '../inventory/scope.js';

/** Stages as users think of them, from the state's archive statuses. */
export interface StatusReport {
  transferId: string;
  vault: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  inventoried: { archives: number; bytes: number };
  stages: Record<'waiting' | 'requested' | 'staged' | 'downloading' | 'verified' | 'failed', { archives: number; bytes: number }>;
  badRows: number;
  /** Among the verified: copies found in S3 before anything was retrieved */
  alreadyInS3: { archives: number; bytes: number };
  bytesCopied: number;
  /** Billed requests so far */
  requests: RequestFigures;
  throughputBytesPerSecond?: number;
  etaSeconds?: number;
  finished: boolean;
  failures: { archiveId: string; key: string | null; reason: string }[];
  /** What the inventory copied from covers, once it is read */
  inventoryScope?: InventoryScope;
  /** A process runs the transfer now */
  running: boolean;
  /** What `glacier-copy resume` would do */
  resume: ResumePlan;
}

/** What `resume` would do with the transfer as it stands. */
export interface ResumePlan {
  /** The inventory is still to be read (or awaited from Glacier) */
  inventory: boolean;
  /** Archives to request from Glacier: not requested yet, or failed for a passing reason */
  request: number;
  /** Retrievals requested, not ready yet */
  await: number;
  /** Archives whose retrieval is ready: copied first */
  copy: number;
  /** Among `request`: failed archives tried again (a passing reason: an outage, throttling) */
  retry: number;
  /** Failed for a lasting reason: stay failed unless `--retry-failed` */
  stayFailed: number;
}

/** Reads only the state file: safe while a transfer runs, and without credentials. */
export function statusReport(state: TransferState, running = false): StatusReport {
  const config = state.config();
  const counts = state.counts();
  const info = state.transferInfo();
  const summary = summarize(state, counts);
  const bytesCopied = state.counters().get(COUNTER.bytesCopied) ?? 0;
  const partsInProgress = state.stagedWithUploads();
  const elapsedMs = (info.finishedAt ?? Date.now()) - info.createdAt;
  const throughput = bytesCopied > 0 && elapsedMs > 0 ? bytesCopied / (elapsedMs / 1000) : undefined;
  const remaining = summary.bytes - counts.verified.bytes - counts.failed.bytes;
  return {
    transferId: config.transferId,
    vault: config.vault,
    bucket: config.bucket,
    prefix: config.prefix,
    storageClass: config.storageClass,
    inventoried: { archives: summary.archives, bytes: summary.bytes },
    stages: {
      waiting: counts.planned,
      requested: { archives: counts.requesting.archives + counts.requested.archives, bytes: counts.requesting.bytes + counts.requested.bytes },
      staged: { archives: counts.staged.archives - partsInProgress.archives, bytes: counts.staged.bytes - partsInProgress.bytes },
      downloading: { archives: partsInProgress.archives + counts.completing.archives, bytes: partsInProgress.bytes + counts.completing.bytes },
      verified: counts.verified,
      failed: counts.failed,
    },
    badRows: summary.badRows,
    alreadyInS3: summary.alreadyInS3,
    bytesCopied,
    requests: summary.requests,
    throughputBytesPerSecond: throughput,
    // Copy time only: Glacier's retrieval hours are not in it.
    etaSeconds: throughput && remaining > 0 ? remaining / throughput : undefined,
    finished: info.finishedAt !== undefined,
    failures: summary.failed,
    inventoryScope: summary.inventoryScope,
    running,
    resume: resumePlan(state, counts),
  };
}

function resumePlan(state: TransferState, counts: Counts): ResumePlan {
  const retry = state.retryableFailureCount();
  return {
    inventory: !state.transferInfo().inventoryDone,
    request: counts.planned.archives + retry,
    await: counts.requesting.archives + counts.requested.archives,
    copy: counts.staged.archives + counts.completing.archives,
    retry,
    stayFailed: counts.failed.archives - retry,
  };
}

/** What `resume` would do, in one line. */
export function renderResumePlan(p: ResumePlan, finished: boolean): string {
  const steps = [
    p.inventory ? 'reads the inventory (waiting for Glacier\'s job if needed)' : '',
    p.copy > 0 ? `copies ${p.copy} archives whose retrieval is ready` : '',
    p.await > 0 ? `waits for ${p.await} retrievals requested` : '',
    p.request > 0 ? `requests ${p.request} archives from Glacier${p.retry > 0 ? ` (${p.retry} of them failed for a passing reason and are tried again)` : ''}` : '',
  ].filter(Boolean);
  const lasting = p.stayFailed > 0 ? `${p.stayFailed} failed for a lasting reason stay failed (\`resume --retry-failed\` tries them once the cause is fixed)` : '';
  if (steps.length === 0) return finished && !lasting ? 'nothing to do: the transfer is finished' : lasting || 'nothing to do';
  return [steps.join(', then '), lasting].filter(Boolean).join('; ');
}

export function renderStatus(r: StatusReport): string {
  const line = (label: string, c: { archives: number; bytes: number }) =>
    `  ${label.padEnd(12)} ${String(c.archives).padStart(9)} archives  ${formatBytes(c.bytes).padStart(11)}`;
  const out = [
    `transfer ${r.transferId}: vault ${r.vault} → s3://${r.bucket}/${r.prefix} (${r.storageClass})${r.finished ? ' — finished' : r.running ? ' — running' : ' — not running'}`,
    line('inventoried', r.inventoried),
    ...(r.inventoryScope ? describeScope(r.inventoryScope, r.vault).map((l) => `  ${l}`) : []),
    ...(['waiting', 'requested', 'staged', 'downloading', 'verified', 'failed'] as const).map((s) => line(s, r.stages[s])),
  ];
  if (r.alreadyInS3.archives > 0) out.push(`  ${alreadyInS3(r.alreadyInS3)} before this transfer (among the verified; not retrieved)`);
  if (r.badRows > 0) out.push(`  ${r.badRows} inventory rows could not be read (not copied)`);
  out.push(`  requests     ${renderRequests(r.requests, r.stages.verified.archives)}`);
  out.push(
    `  throughput   ${r.throughputBytesPerSecond ? `${formatBytes(r.throughputBytesPerSecond)}/s` : 'not measured yet'}` +
      (r.etaSeconds !== undefined ? `, copy ETA ${formatDuration(r.etaSeconds * 1000)} once retrievals are ready` : ''),
  );
  for (const f of r.failures.slice(0, SHOWN_FAILURES)) out.push(`  failed: ${f.key ?? f.archiveId}: ${f.reason}`);
  if (r.stages.failed.archives > SHOWN_FAILURES) out.push(`  … and ${r.stages.failed.archives - SHOWN_FAILURES} more failed (\`glacier-copy report\` lists every archive with its reason)`);
  if (!r.running) out.push(`  resume       ${renderResumePlan(r.resume, r.finished)}`);
  return out.join('\n');
}

/** Billed requests in one line: S3 writes (per archive copied) and Glacier retrievals (re-requests among them). */
export function renderRequests(r: RequestFigures, archivesCopied: number): string {
  const overhead = r.s3Writes - r.archiveWrites;
  const perArchive =
    archivesCopied > 0 ? ` (${(r.archiveWrites / archivesCopied).toFixed(2)} per archive copied, ${overhead} for the transfer's listings and marker)` : '';
  return `${r.s3Writes} S3 write requests${perArchive}; ${r.retrievals} Glacier retrievals, ${r.reRequests} of them re-requests`;
}

/** "N archives (X) were already in S3" */
export function alreadyInS3(c: { archives: number; bytes: number }): string {
  return `${c.archives} archives (${formatBytes(c.bytes)}) were already in S3`;
}
