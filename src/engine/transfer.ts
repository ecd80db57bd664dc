import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { AwsClients } from '../aws/clients.js';
import { ArchiveFailure, ConfigError, describeError, httpStatusOf, isStateStorageError, isCredentialsError, isNotFound, isRetryable, isThrottling } from '../aws/errors.js';
import { fetchInventory, loadInventory, openInventoryFile } from '../inventory/acquire.js';
import { InventoryFormatError } from '../inventory/index.js';
import { planArchives } from '../plan/plan.js';
import { initiateArchiveRetrieval, jobDescription, listVaultJobs } from '../retrieve/jobs.js';
import { closeChannel, openChannel, receiveNotices, type JobNotice } from '../retrieve/notifications.js';
import { totalOf, type ArchiveRow, type ArchiveStatus, type TransferState } from '../state/db.js';
import { copyArchive, JobExpiredError, UploadLostError, type ArchiveCopyContext } from '../transfer/archive-copy.js';
import { abortStaleUploads } from '../transfer/cleanup.js';
import type { EngineEvent, EventSink } from './events.js';
import { asFatal, validateTransfer } from './validate.js';

/** Archives not yet verified or failed */
const OPEN_STATUSES: ArchiveStatus[] = ['planned', 'requesting', 'requested', 'staged', 'completing'];

export interface EngineOptions {
  /** Parts (or small archives) copied at once */
  concurrency: number;
  /** How often to ask Glacier about jobs, in case notifications are lost */
  pollIntervalMs: number;
  /** How long Glacier keeps a job's output (24 h on AWS) */
  outputWindowMs: number;
  /** Most bytes requested from Glacier and not yet copied */
  maxStagedBytes: number;
  /** Most retrieval jobs in flight */
  maxJobsInFlight: number;
  /** Tries per part before the archive is put back for a later attempt */
  maxAttempts: number;
  /** Attempts per archive without progress before it is failed (job renewals count too, up to twice this) */
  maxArchiveAttempts: number;
  /** First pause before an archive whose copy failed is tried again; doubles each time, up to 5 minutes */
  retryBaseMs: number;
  /** SQS long-poll wait */
  receiveWaitSeconds: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  concurrency: 8,
  pollIntervalMs: 15 * 60_000,
  outputWindowMs: 24 * 3600_000,
  maxStagedBytes: 1024 ** 4,
  maxJobsInFlight: 1000,
  maxAttempts: 5,
  maxArchiveAttempts: 8,
  retryBaseMs: 5000,
  receiveWaitSeconds: 20,
};

export interface TransferSummary {
  archives: number;
  bytes: number;
  verified: { archives: number; bytes: number };
  failed: { archiveId: string; key: string | null; reason: string }[];
  failedCount: number;
  pending: number;
  badRows: number;
  done: boolean;
}

/**
 * Drives one transfer from its state to the end: validate, notifications, inventory, plan, then a loop that
 * requests retrievals within budget, learns of ready jobs (queue first, polling as fallback), copies ready
 * archives through one bounded pool, and renews jobs whose output window runs out. Every AWS side effect is
 * recorded in the state before and after, so the loop can be killed anywhere and resumed.
 */
export class TransferEngine {
  private readonly options: EngineOptions;
  private readonly config;
  private readonly limit;
  private readonly active = new Map<string, Promise<void>>();
  private wake: () => void = () => undefined;
  private nextPollAt = 0;
  private nextRenewalCheckAt = 0;
  private initiatePauseUntil = 0;
  private initiatePauseMs = 0;
  private fatal?: Error;
  /** Local time each job was seen ready: its output window is counted from here. */
  private readonly readyAt = new Map<string, number>();
  private retryAfter = new Map<string, number>();

  constructor(
    private readonly state: TransferState,
    private readonly clients: AwsClients,
    options: Partial<EngineOptions>,
    private readonly emit: EventSink,
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.config = state.config();
    this.limit = pLimit(this.options.concurrency);
  }

  async run(signal: AbortSignal): Promise<TransferSummary> {
    this.emit({ type: 'phase', phase: 'validate' });
    await validateTransfer(this.clients, this.config);
    // A user's inventory file is read before anything is created, so that a bad one costs nothing.
    if (this.config.inventoryFile && !this.state.transferInfo().inventoryDone) await this.inventory(undefined, signal);
    this.emit({ type: 'phase', phase: 'notifications' });
    const channel = await openChannel(this.clients.sns, this.clients.sqs, this.config.transferId, (created) => {
      this.state.setTransfer({
        ...(created.topicArn && { topic_arn: created.topicArn }),
        ...(created.queueUrl && { queue_url: created.queueUrl, queue_arn: created.queueArn ?? null }),
      });
    });
    this.state.setTransfer({ subscription_arn: channel.subscriptionArn });
    const stopReceiving = new AbortController();
    const receiving = this.receiveLoop(channel.queueUrl, AbortSignal.any([signal, stopReceiving.signal]));
    try {
      if (!this.state.transferInfo().inventoryDone) await this.inventory(channel.topicArn, signal);
      if (!this.state.transferInfo().planned) {
        this.emit({ type: 'phase', phase: 'plan' });
        const planned = await planArchives(this.state, this.config, this.emit);
        this.state.setTransfer({ planned: 1 });
        this.emit({ type: 'planned', ...planned });
      }
      this.emit({ type: 'phase', phase: 'copy' });
      this.state.retryTransientFailures();
      await this.reconcileJobs();
      await this.copyLoop(channel.topicArn, signal);
    } finally {
      stopReceiving.abort();
      await receiving;
      await Promise.allSettled(this.active.values());
    }
    const summary = this.summary();
    if (summary.pending === 0) {
      this.emit({ type: 'phase', phase: 'cleanup' });
      await abortStaleUploads(this.clients.s3, this.state, { keepRetryable: true });
      // The topic and queue stay while a `resume` may still need them (AWS refuses to recreate a queue for 60 s).
      if (!this.state.anyRetryableFailure()) {
        await closeChannel(this.clients.sns, this.clients.sqs, channel);
        this.state.setTransfer({ finished_at: Date.now() });
      }
    }
    this.emit({ type: 'phase', phase: 'done' });
    return summary;
  }

  private async inventory(topicArn: string | undefined, signal: AbortSignal): Promise<void> {
    this.emit({ type: 'phase', phase: 'inventory' });
    const { inventoryFile, vault, transferId } = this.config;
    if (inventoryFile) {
      this.state.clearInventory();
      try {
        await loadInventory(openInventoryFile(inventoryFile), this.state, { vaultArnSuffix: `:vaults/${vault}` }, this.emit);
      } catch (e) {
        if (e instanceof InventoryFormatError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ConfigError(`--inventory ${inventoryFile}: ${(e as Error).message}`);
        }
        throw e;
      }
    } else {
      await fetchInventory({
        glacier: this.clients.glacier,
        vault,
        transferId,
        topicArn,
        state: this.state,
        emit: this.emit,
        signal,
        waitForJob: (jobId) => this.waitForNotice(jobId, signal),
      });
    }
    this.state.setTransfer({ inventory_done: 1 });
  }

  /** Waits for a notice of `jobId` from the receive loop, or the poll interval, whichever comes first. */
  private inventoryNotices = new Set<string>();
  private async waitForNotice(jobId: string, signal: AbortSignal): Promise<void> {
    const until = Date.now() + this.options.pollIntervalMs;
    while (Date.now() < until && !this.inventoryNotices.has(jobId) && !signal.aborted) {
      await sleep(Math.min(250, until - Date.now()));
    }
  }

  private async receiveLoop(queueUrl: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await receiveNotices(this.clients.sqs, queueUrl, (notices) => this.onNotices(notices), {
          waitSeconds: this.options.receiveWaitSeconds,
          signal,
        });
      } catch (e) {
        if (signal.aborted) return;
        // Lost notifications are covered by polling; keep listening after a pause.
        this.emit({ type: 'warning', message: `reading job notifications failed: ${describeError(e)}` });
        await sleep(1000, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  private onNotices(notices: JobNotice[]): void {
    this.state.transaction(() => {
      for (const n of notices) {
        if (n.Action === 'InventoryRetrieval') this.inventoryNotices.add(n.JobId);
        else this.onJobState(n.JobId, n.StatusCode, 'notification', n.StatusMessage ?? undefined, n.CompletionDate ?? undefined);
      }
    });
    this.wake();
  }

  /** Applies what Glacier says of a job: ready, failed, or (absent from ListJobs) gone. */
  private onJobState(jobId: string, status: string | undefined, via: 'notification' | 'poll', message?: string, completionDate?: string): void {
    const archive = this.state.archiveByJob(jobId);
    if (!archive || archive.status !== 'requested') return; // not ours, or a duplicate notice
    if (status === 'Succeeded') {
      // The 24 h window runs from Glacier's completion, which a late notice or a poll may learn of hours later.
      const readyAt = Math.min(Date.now(), Date.parse(completionDate ?? '') || Date.now());
      this.state.updateArchive(archive.archive_id, { status: 'staged', job_ready_at: readyAt });
      this.readyAt.set(archive.archive_id, readyAt);
      this.emit({ type: 'job-ready', archiveId: archive.archive_id, jobId, via });
    } else if (status === 'Failed') {
      this.requestAgain(archive, `retrieval job ${jobId} failed: ${message ?? 'no reason given'}`);
    }
  }

  /** Puts an archive back to be requested again, keeping its upload and verified parts. */
  private requestAgain(archive: ArchiveRow, reason: string): void {
    const attempts = archive.attempts + 1;
    if (attempts >= this.options.maxArchiveAttempts * 2) {
      this.fail(archive, reason, true);
      return;
    }
    this.state.updateArchive(archive.archive_id, { status: 'planned', job_id: null, job_ready_at: null, attempts });
    this.emit({ type: 'job-renewed', archiveId: archive.archive_id, reason });
  }

  /**
   * Fails an archive. `retryable` failures (outages, throttling that outlasted every retry) are tried again by
   * the next `resume`; the others (bytes that do not match the inventory, an archive Glacier no longer has) stay
   * failed.
   */
  private fail(archive: ArchiveRow, reason: string, retryable = false): void {
    this.state.updateArchive(archive.archive_id, { status: 'failed', error: reason, retryable: retryable ? 1 : 0 });
    this.emit({ type: 'archive-failed', archiveId: archive.archive_id, key: archive.key, reason });
  }

  /**
   * Brings requested and staged archives in line with Glacier's job list: ready jobs become staged, failed or
   * forgotten (expired) ones are requested again, and `requesting` archives (a crash during InitiateJob) adopt
   * the job Glacier started for them, if any.
   */
  private async reconcileJobs(): Promise<void> {
    const jobs = await listVaultJobs(this.clients.glacier, this.config.vault);
    const byId = new Map(jobs.map((j) => [j.JobId!, j]));
    const ours = jobDescription(this.config.transferId);
    const byArchive = new Map<string, (typeof jobs)[number]>();
    for (const j of jobs) {
      if (j.Action === 'ArchiveRetrieval' && j.JobDescription === ours && j.StatusCode !== 'Failed') byArchive.set(j.ArchiveId!, j);
    }
    this.state.transaction(() => {
      for (const archive of this.state.archivesWithStatus('requesting')) {
        const job = byArchive.get(archive.archive_id);
        if (job) this.state.updateArchive(archive.archive_id, { status: 'requested', job_id: job.JobId! });
        else this.state.updateArchive(archive.archive_id, { status: 'planned', job_id: null });
      }
      for (const archive of [...this.state.archivesWithStatus('requested'), ...this.state.archivesWithStatus('staged')]) {
        // A copy in progress learns of an expiry itself; an archive with nothing to fetch has no job.
        if (this.active.has(archive.archive_id) || archive.job_id === null) continue;
        const job = byId.get(archive.job_id!);
        if (!job) {
          this.requestAgain(archive, `retrieval job ${archive.job_id} is no longer known to Glacier (output window passed)`);
        } else if (archive.status === 'requested') {
          this.onJobState(job.JobId!, job.StatusCode, 'poll', job.StatusMessage, job.CompletionDate);
        }
      }
    });
    this.nextPollAt = Date.now() + this.options.pollIntervalMs;
  }

  private inFlight(): { jobs: number; bytes: number } {
    const { archives, bytes } = this.state.totalWithStatus(['requesting', 'requested', 'staged']);
    return { jobs: archives, bytes };
  }

  /** Staged bytes allowed: the configured cap, or what the measured throughput copies in 20 h if smaller. */
  private stagedBudget(): number {
    const { bytesCopied, copyMs } = this.state.progress();
    if (bytesCopied < 64 * 1024 ** 2 || copyMs === 0) return this.options.maxStagedBytes;
    const perMs = (bytesCopied / copyMs) * this.options.concurrency;
    return Math.min(this.options.maxStagedBytes, Math.max(1024 ** 3, perMs * 20 * 3600_000));
  }

  private async initiateJobs(topicArn: string, signal: AbortSignal): Promise<void> {
    if (Date.now() < this.initiatePauseUntil) return;
    const inFlight = this.inFlight();
    const budget = this.stagedBudget();
    const candidates = this.state.archivesWithStatus('planned', 100);
    for (const archive of candidates) {
      if (signal.aborted || this.fatal) return;
      if (archive.size === 0 || this.hasAllParts(archive)) {
        // Nothing to fetch: an empty archive, or every part already in S3.
        this.state.updateArchive(archive.archive_id, { status: 'staged' });
        continue;
      }
      if (inFlight.jobs >= this.options.maxJobsInFlight) return;
      if (inFlight.bytes > 0 && inFlight.bytes + archive.size > budget) return;
      this.state.updateArchive(archive.archive_id, { status: 'requesting' });
      try {
        const jobId = await initiateArchiveRetrieval(
          // Not retried by the SDK: a second attempt after a lost answer would start (and bill) a second job.
          this.clients.glacierSingleAttempt,
          { vault: this.config.vault, archiveId: archive.archive_id, tier: this.config.tier, topicArn, transferId: this.config.transferId },
          signal,
        );
        this.state.updateArchive(archive.archive_id, { status: 'requested', job_id: jobId });
        this.emit({ type: 'job-initiated', archiveId: archive.archive_id, jobId, tier: this.config.tier });
        inFlight.jobs++;
        inFlight.bytes += archive.size;
        this.initiatePauseMs = 0;
      } catch (e) {
        // A refusal (throttling, retrieval policy, unknown archive) started no job. Any other failure (5xx, a
        // dropped connection, Ctrl-C) may have started one: the archive stays `requesting` until the job list
        // says, so that no retrieval is paid for twice.
        const refused = isThrottling(e) || isNotFound(e);
        if (refused) this.state.updateArchive(archive.archive_id, { status: 'planned' });
        if ((e as Error).name === 'PolicyEnforcedException' && archive.attempts + 1 >= this.options.maxArchiveAttempts * 2) {
          // A policy that never allows this archive (larger than its hourly budget) must not block the others.
          this.fail(archive, `the vault's data retrieval policy keeps refusing this retrieval: ${describeError(e)}`, true);
          continue;
        }
        if ((e as Error).name === 'PolicyEnforcedException') this.state.updateArchive(archive.archive_id, { attempts: archive.attempts + 1 });
        if (signal.aborted) return;
        if (!refused && isRetryable(e)) this.nextPollAt = Math.min(this.nextPollAt, Date.now() + 30_000);
        if (isThrottling(e) || isRetryable(e)) {
          this.initiatePauseMs = Math.min(300_000, Math.max(1000, this.initiatePauseMs * 2));
          this.initiatePauseUntil = Date.now() + this.initiatePauseMs;
          this.emit({ type: 'throttled', operation: `InitiateJob (${describeError(e)})`, pauseMs: this.initiatePauseMs });
          return;
        }
        if (isNotFound(e)) {
          this.fail(archive, `Glacier does not know archive ${archive.archive_id} (deleted since the inventory?)`);
          continue;
        }
        this.fatal = asFatal(e, `cannot request retrieval of archive ${archive.archive_id}`);
        return;
      }
    }
  }

  private hasAllParts(archive: ArchiveRow): boolean {
    return !!archive.upload_id && this.state.partCount(archive.archive_id) === archive.part_count;
  }

  /** Archives whose job output runs out before they can be copied are requested again now. */
  private renewExpiring(): void {
    const margin = Math.min(this.options.outputWindowMs / 8, 3 * 3600_000);
    for (const archive of this.state.archivesWithStatus('staged')) {
      if (this.active.has(archive.archive_id) || archive.size === 0 || this.hasAllParts(archive)) continue;
      const readyAt = this.readyAt.get(archive.archive_id) ?? archive.job_ready_at ?? Date.now();
      if (readyAt + this.options.outputWindowMs - margin < Date.now()) {
        this.requestAgain(archive, `output of job ${archive.job_id} expires before it can be copied`);
      }
    }
  }

  private dispatch(signal: AbortSignal): void {
    const room = this.options.concurrency * 2 - this.active.size;
    if (room <= 0) return;
    const ready = [...this.state.archivesWithStatus('completing'), ...this.state.archivesWithStatus('staged', room + this.active.size)];
    for (const archive of ready) {
      if (this.active.size >= this.options.concurrency * 2) return;
      if (this.active.has(archive.archive_id) || (this.retryAfter.get(archive.archive_id) ?? 0) > Date.now()) continue;
      const task = this.copyOne(archive, signal).finally(() => {
        this.active.delete(archive.archive_id);
        this.wake();
      });
      this.active.set(archive.archive_id, task);
    }
  }

  private async copyOne(archive: ArchiveRow, signal: AbortSignal): Promise<void> {
    const ctx: ArchiveCopyContext = {
      vault: this.config.vault,
      bucket: this.config.bucket,
      storageClass: this.config.storageClass,
      expectedBucketOwner: this.config.expectedBucketOwner,
      sse: this.config.sse && { algorithm: this.config.sse, kmsKeyId: this.config.sseKmsKeyId },
      glacier: this.clients.glacier,
      s3: this.clients.s3,
      streamingS3: this.clients.streamingS3,
      state: this.state,
      limit: this.limit,
      signal,
      emit: this.emit,
      maxAttempts: this.options.maxAttempts,
    };
    const partsBefore = this.state.partCount(archive.archive_id);
    try {
      await copyArchive(ctx, archive);
      this.emit({ type: 'archive-verified', archiveId: archive.archive_id, key: archive.key!, size: archive.size });
    } catch (e) {
      if (signal.aborted) return;
      const current = this.state.archive(archive.archive_id)!;
      if (e instanceof JobExpiredError || e instanceof UploadLostError) {
        this.requestAgain(current, e.message);
      } else if (e instanceof ArchiveFailure) {
        this.fail(current, e.message);
      } else if (isStateStorageError(e)) {
        this.fatal = e as Error;
      } else if (isCredentialsError(e) || httpStatusOf(e) === 403) {
        this.fatal = asFatal(e, `copying archive ${archive.archive_id} to ${archive.key}`);
      } else {
        // Outages pass: back off for longer each time (up to 5 minutes), and count from scratch whenever the
        // archive made progress, so that only an archive that keeps failing without progress fails.
        const progressed = this.state.partCount(archive.archive_id) > partsBefore;
        const attempts = progressed ? 1 : current.attempts + 1;
        const reason = `copying to ${archive.key} failed: ${describeError(e)}`;
        if (attempts >= this.options.maxArchiveAttempts) this.fail(current, reason, true);
        else {
          this.state.updateArchive(archive.archive_id, { attempts, error: reason });
          this.retryAfter.set(archive.archive_id, Date.now() + Math.min(300_000, this.options.retryBaseMs * 2 ** (attempts - 1)));
          this.emit({ type: 'warning', message: `${reason}; will try again` });
        }
      }
    }
  }

  private async copyLoop(topicArn: string, signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.fatal) {
      if (!this.state.anyWithStatus(OPEN_STATUSES) && this.active.size === 0) return;
      if (Date.now() >= this.nextPollAt) {
        await this.reconcileJobs().catch((e) => {
          if (isCredentialsError(e)) this.fatal = asFatal(e, 'listing jobs');
          else this.emit({ type: 'warning', message: `polling jobs failed: ${describeError(e)}` });
          this.nextPollAt = Date.now() + Math.min(60_000, this.options.pollIntervalMs);
        });
      }
      if (Date.now() >= this.nextRenewalCheckAt) {
        this.renewExpiring();
        this.nextRenewalCheckAt = Date.now() + Math.min(60_000, this.options.outputWindowMs / 100);
      }
      await this.initiateJobs(topicArn, signal);
      this.dispatch(signal);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(10, Math.min(1000, this.nextPollAt - Date.now())));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    if (this.fatal) {
      await Promise.allSettled(this.active.values());
      throw this.fatal;
    }
  }

  summary(): TransferSummary {
    return summarize(this.state);
  }
}

export function summarize(state: TransferState, counts = state.counts()): TransferSummary {
  const all = totalOf(counts);
  const pending = all.archives - counts.verified.archives - counts.failed.archives;
  const badRows = state.badRows().length;
  return {
    archives: all.archives,
    bytes: all.bytes,
    verified: counts.verified,
    failed: state.failures().map((f) => ({ archiveId: f.archive_id, key: f.key, reason: f.error ?? 'unknown' })),
    failedCount: counts.failed.archives,
    pending,
    badRows,
    done: pending === 0 && counts.failed.archives === 0 && badRows === 0,
  };
}

export type { EngineEvent };
