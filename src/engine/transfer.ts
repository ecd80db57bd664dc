import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { paginateListJobs, type GlacierJobDescription } from '@aws-sdk/client-glacier';
import pLimit from 'p-limit';
import type { AwsClients } from '../aws/clients.js';
import { ArchiveFailure, ConfigError, describeError, httpStatusOf, isStateStorageError, isCredentialsError } from '../aws/errors.js';
import type { EngineEvent, EventSink } from '../events.js';
import { fetchInventory, loadInventory, openInventoryFile, type LoadedInventory } from '../inventory/acquire.js';
import { describeVaultInventory, scopeWarning, unlisted, type InventoryScope } from '../inventory/scope.js';
import { InventoryFormatError } from '../inventory/index.js';
import { createNamer, type ArchiveNamer } from '../naming/index.js';
import { recordAlreadyCopied } from '../plan/already-copied.js';
import { planArchives } from '../plan/plan.js';
import { RetrievalInitiator, type InitiateOutcome } from '../retrieve/initiator.js';
import { jobDescription } from '../retrieve/jobs.js';
import { closeChannel, openChannel, receiveNotices, type JobNotice } from '../retrieve/notifications.js';
import { CopyCostModel, DEFAULT_WINDOW_SHARE, RetrievalPacer, type CopyCostPrior } from '../retrieve/pacing.js';
import { Accounting, requestFigures, type RequestFigures } from '../state/accounting.js';
import { COUNTER, PLAN_STAGE, totalOf, type ArchiveRow, type ArchiveStatus, type TransferState } from '../state/db.js';
import { copyArchive, JobExpiredError, planOf, UploadLostError, type ArchiveCopyContext, type StreamSlot } from '../transfer/archive-copy.js';
import { threadDataPlane, type DataPlane } from '../transfer/data-plane.js';
import { abortStaleUploads } from '../transfer/cleanup.js';
import { TargetLock, TargetLockedError } from '../transfer/target-lock.js';
import { FatalTransferError, asFatal, validateTransfer } from './validate.js';

/** Archives not yet verified or failed */
const OPEN_STATUSES: ArchiveStatus[] = ['planned', 'requesting', 'requested', 'staged', 'completing'];
/** Retrievals requested and not yet copied: what the pacing budget counts */
const IN_FLIGHT_STATUSES: ArchiveStatus[] = ['requesting', 'requested', 'staged', 'completing'];
/** A job may take this long to appear in ListJobs after InitiateJob answered (or failed to answer). */
const MAX_LIST_LAG_MS = 60_000;

export interface EngineOptions {
  /** Streams (parts, or archives written with one streamed PutObject) copied at once */
  concurrency: number;
  /** Archives copied at once: many small archives in flight hide the round trips each one costs */
  archiveConcurrency: number;
  /** How often to ask Glacier about jobs, in case notifications are lost */
  pollIntervalMs: number;
  /** How long Glacier keeps a job's output (24 h on AWS) */
  outputWindowMs: number;
  /** The user's cap on bytes requested from Glacier and not yet copied (none by default: pacing decides) */
  maxStagedBytes: number;
  /** The user's cap on retrieval jobs in flight (none by default) */
  maxJobsInFlight: number;
  /** Tries per part before the archive is put back for a later attempt */
  maxAttempts: number;
  /** Attempts per archive without progress before it is failed (job renewals without progress count too, up to twice this) */
  maxArchiveAttempts: number;
  /** First pause before an archive whose copy failed is tried again; doubles each time, up to 5 minutes */
  retryBaseMs: number;
  /** SQS long-poll wait */
  receiveWaitSeconds: number;
  /** Long polls of the notification queue at once (each takes up to 10 messages) */
  receivers: number;
  /** Copy cost assumed before any is measured */
  copyPrior?: CopyCostPrior;
  /** Stop before the first retrieval, once the inventory is read and the archives are named (`plan`) */
  planOnly?: boolean;
  /** Take over another transfer's marker on the target even when it looks alive */
  forceUnlock: boolean;
  /** Worker threads that stream parts and archives (the CLI builds the pool; see run-transfer) */
  workers: number;
}

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  concurrency: 8,
  archiveConcurrency: 128,
  workers: availableParallelism(),
  pollIntervalMs: 15 * 60_000,
  outputWindowMs: 24 * 3600_000,
  maxStagedBytes: Number.POSITIVE_INFINITY,
  maxJobsInFlight: Number.POSITIVE_INFINITY,
  maxAttempts: 5,
  maxArchiveAttempts: 8,
  retryBaseMs: 5000,
  receiveWaitSeconds: 20,
  receivers: 8,
  forceUnlock: false,
};

export interface TransferSummary {
  archives: number;
  bytes: number;
  verified: { archives: number; bytes: number };
  failed: { archiveId: string; key: string | null; reason: string }[];
  failedCount: number;
  pending: number;
  badRows: number;
  /** Verified copies found in S3 before anything was retrieved: not copied again */
  alreadyInS3: { archives: number; bytes: number };
  requests: RequestFigures;
  /** What the inventory copied from covers (unknown until it is read) */
  inventoryScope?: InventoryScope;
  done: boolean;
}

/**
 * Drives one transfer from its state to the end: validate, notifications, inventory, plan, then a loop that
 * keeps as many retrievals in flight as the copy can take inside Glacier's download window (pacing.ts),
 * requests them through an adaptive pool (initiator.ts), learns of ready jobs (queue first, a background
 * reconciliation with Glacier's job list as fallback), copies ready archives longest-ready first through
 * bounded pools, and renews jobs whose output window runs out. Every AWS side effect is recorded in the state
 * before and after, so the loop can be killed anywhere and resumed.
 */
export class TransferEngine {
  private readonly options: EngineOptions;
  private readonly config;
  private readonly streamLimit;
  private readonly model: CopyCostModel;
  private readonly pacer: RetrievalPacer;
  /** How long a job may be missing from ListJobs after it started: never longer than between two polls */
  private readonly listLagMs: number;
  /** Archives being copied that hold or wait for streams (all but the buffered ones) */
  private streaming = 0;
  private initiator?: RetrievalInitiator;
  /** Archives being copied, by seq */
  private readonly active = new Map<number, Promise<void>>();
  /** Staged archives fetched for dispatch, longest ready first */
  private readyQueue: ArchiveRow[] = [];
  private readyDirty = true;
  /** Planned archives fetched for requesting, in inventory order */
  private candidates: ArchiveRow[] = [];
  /** Archives whose InitiateJob is under way */
  private readonly callsInFlight = new Set<number>();
  /** Archives whose InitiateJob ended without a known outcome, and when */
  private readonly unknownSince = new Map<number, number>();
  /** Started jobs waiting to be recorded in one transaction */
  private startedQueue: { archive: ArchiveRow; jobId: string }[] = [];
  /**
   * Notices of our jobs that came before the InitiateJob answer was recorded (at a high time scale a job can
   * complete first), by archive seq: applied once the job is recorded, or adopted at once if the answer was lost.
   */
  private readonly earlyNotices = new Map<number, JobNotice>();
  /** Whether the user was told that Glacier is short of Expedited capacity */
  private toldCapacity = false;
  private reconciling?: Promise<void>;
  /** When recent jobs were started, by seq: a job may be missing from a listing for a while, yet not be gone */
  private readonly startedAt = new Map<number, number>();
  /** When this run began: a job a previous run started just before it ended may not be listed yet either */
  private readonly runStartedAt = Date.now();
  /** The last listing left a previous run's jobs to be judged by the next one */
  private settleAfterLag = false;
  private wake: () => void = () => undefined;
  private nextPollAt = 0;
  private nextRenewalCheckAt = 0;
  private lastThrottleNotice = 0;
  private fatal?: Error;
  private retryAfter = new Map<number, number>();

  constructor(
    private readonly state: TransferState,
    private readonly clients: AwsClients,
    options: Partial<EngineOptions>,
    private readonly emit: EventSink,
    private readonly accounting = new Accounting(),
    /** Where parts and streamed archives are copied: this thread by default, a WorkerPool for the CLI */
    private readonly dataPlane: DataPlane = threadDataPlane(clients),
  ) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...options };
    this.config = state.config();
    this.streamLimit = pLimit(this.options.concurrency);
    this.listLagMs = Math.min(MAX_LIST_LAG_MS, this.options.pollIntervalMs);
    this.model = CopyCostModel.fromJSON(state.transferInfo().copyModel, this.options.copyPrior);
    this.pacer = new RetrievalPacer(this.model, {
      outputWindowMs: this.options.outputWindowMs,
      windowShare: DEFAULT_WINDOW_SHARE,
      maxJobs: this.options.maxJobsInFlight,
      maxBytes: this.options.maxStagedBytes,
    });
  }

  async run(signal: AbortSignal): Promise<TransferSummary> {
    this.emit({ type: 'phase', phase: 'validate' });
    await validateTransfer(this.clients, this.config);
    if (this.state.transferInfo().finishedAt !== undefined) {
      // Resumed after the end: nothing to copy, and no topic or queue to create for it.
      this.emit({ type: 'phase', phase: 'done' });
      return this.summary();
    }
    // Read first: a bad naming-overrides file costs nothing.
    const namer = await createNamer(this.config);
    // A dry run (`plan`) retrieves nothing and writes nothing to the bucket: no marker, topic or queue.
    if (this.options.planOnly) {
      await this.prepare(namer, undefined, signal);
      this.emit({ type: 'phase', phase: 'done' });
      return this.summary();
    }
    const lock = await TargetLock.acquire(this.clients.s3, this.config, {
      force: this.options.forceUnlock,
      onWrite: () => this.accounting.add(COUNTER.markerWrites),
    }).catch((e) => {
      throw e instanceof TargetLockedError ? e : asFatal(e, `cannot write the transfer's marker in bucket "${this.config.bucket}"`);
    });
    lock.startHeartbeat(
      (reason) => {
        this.fatal ??= new FatalTransferError(`${reason}; stopped so that the two do not overwrite each other`);
        this.wake();
      },
      (message) => this.emit({ type: 'warning', message }),
    );
    try {
      return await this.runHoldingTarget(namer, signal);
    } finally {
      // A marker left behind (this fails, or the process is killed) is taken over by this transfer's `resume`.
      await lock.release().catch((e) => this.emit({ type: 'warning', message: `removing the transfer's marker failed: ${describeError(e)}` }));
    }
  }

  /** Everything after validation, while this transfer holds the target's marker. */
  private async runHoldingTarget(namer: ArchiveNamer, signal: AbortSignal): Promise<TransferSummary> {
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
    const receiveSignal = AbortSignal.any([signal, stopReceiving.signal]);
    const receiving = Promise.all(Array.from({ length: this.options.receivers }, () => this.receiveLoop(channel.queueUrl, receiveSignal)));
    try {
      await this.prepare(namer, channel.topicArn, signal);
      this.emit({ type: 'phase', phase: 'copy' });
      this.state.retryTransientFailures();
      this.initiator = new RetrievalInitiator(this.clients.glacierSingleAttempt, {
        vault: this.config.vault,
        tier: this.config.tier,
        topicArn: channel.topicArn,
        transferId: this.config.transferId,
      });
      await this.copyLoop(signal);
    } finally {
      stopReceiving.abort();
      await receiving;
      await this.settle();
    }
    const summary = this.summary();
    if (summary.pending === 0) {
      this.emit({ type: 'phase', phase: 'cleanup' });
      await abortStaleUploads(this.clients.s3, this.state, { abandoned: false });
      // The topic and queue stay while a `resume` may still need them (AWS refuses to recreate a queue for 60 s).
      if (!this.state.anyRetryableFailure()) {
        await closeChannel(this.clients.sns, this.clients.sqs, channel);
        this.state.setTransfer({ finished_at: Date.now() });
      }
    }
    this.flushAccounting();
    this.emit({ type: 'phase', phase: 'done' });
    return this.summary();
  }

  /**
   * What comes before any retrieval, each step done once: the inventory (without a topic, its job is polled),
   * the keys, and the archives already in S3.
   */
  private async prepare(namer: ArchiveNamer, topicArn: string | undefined, signal: AbortSignal): Promise<void> {
    if (!this.state.transferInfo().inventoryDone) await this.inventory(topicArn, signal);
    if (!this.state.transferInfo().planned) {
      this.emit({ type: 'phase', phase: 'plan' });
      const planned = planArchives(this.state, namer, this.emit);
      this.emit({ type: 'planned', ...planned });
    }
    if (!this.state.transferInfo().alreadyCopiedChecked) {
      this.emit({ type: 'phase', phase: 'already-in-s3' });
      const found = await recordAlreadyCopied(this.clients.s3, this.state, signal);
      // Interrupted part way, it is done again by `resume` (what it found is recorded).
      if (!signal.aborted) this.state.setTransfer({ planned: PLAN_STAGE.alreadyCopiedChecked });
      if (found.archives > 0) this.emit({ type: 'already-in-s3', ...found });
    }
  }

  private async inventory(topicArn: string | undefined, signal: AbortSignal): Promise<void> {
    this.emit({ type: 'phase', phase: 'inventory' });
    const { inventoryFile, vault, transferId, prefix, namingOverrides } = this.config;
    const naming = { prefix, namingOverrides };
    let loaded: LoadedInventory;
    if (inventoryFile) {
      try {
        loaded = await loadInventory(openInventoryFile(inventoryFile), this.state, { vaultArnSuffix: `:vaults/${vault}`, naming }, this.emit);
      } catch (e) {
        if (e instanceof InventoryFormatError || (e as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new ConfigError(`--inventory ${inventoryFile}: ${(e as Error).message}`);
        }
        throw e;
      }
    } else {
      loaded = await fetchInventory({
        glacier: this.clients.glacier,
        naming,
        vault,
        transferId,
        topicArn,
        state: this.state,
        emit: this.emit,
        signal,
        waitForJob: (jobId) => this.waitForNotice(jobId, signal),
      });
    }
    const scope: InventoryScope = { date: loaded.date, listed: loaded.listed, vault: await describeVaultInventory(this.clients.glacier, vault) };
    // A file that lists fewer archives than the vault's last inventory counts is likely cut short (at a line
    // end a CSV still reads as whole), or older: refused before anything is spent, unless the user says so.
    if (inventoryFile && unlisted(scope) > 0 && !this.config.allowPartialInventory) {
      throw new ConfigError(
        `--inventory ${inventoryFile}: lists ${scope.listed} archives, but vault ${vault} held ${scope.vault!.archives} at its last inventory (${scope.vault!.date}): the file may be truncated or older; pass --allow-partial-inventory to copy only what it lists`,
      );
    }
    this.state.setTransfer({ inventory_scope: JSON.stringify(scope), inventory_done: 1 });
    const warning = scopeWarning(scope, vault);
    if (warning) this.emit({ type: 'warning', message: warning });
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
        else this.onJobNotice(n);
      }
    });
    this.wake();
  }

  /**
   * A job's notice. One the state does not name yet is kept if it is ours and its archive's InitiateJob is still
   * being answered or recorded; if that call ended without an answer, the job is adopted from the notice at once.
   */
  private onJobNotice(n: JobNotice): void {
    const archive = this.state.archiveByJob(n.JobId) ? undefined : this.requestingArchiveOf(n);
    if (!archive) {
      this.onJobState(n.JobId, n.StatusCode, 'notification', n.StatusMessage ?? undefined, n.CompletionDate ?? undefined);
      return;
    }
    if (this.callsInFlight.has(archive.seq) || this.startedQueue.some((s) => s.archive.seq === archive.seq)) this.earlyNotices.set(archive.seq, n);
    else this.adoptNoticed(archive, n);
  }

  /** The archive of a notice of ours whose job the state does not name, if it is being requested. */
  private requestingArchiveOf(n: JobNotice): ArchiveRow | undefined {
    if (n.JobDescription !== jobDescription(this.config.transferId) || !n.ArchiveId) return undefined;
    const archive = this.state.archive(n.ArchiveId);
    return archive?.status === 'requesting' ? archive : undefined;
  }

  /** Adopts the job of a notice for an archive whose InitiateJob ended without an answer (a failed job is not adopted). */
  private adoptNoticed(archive: ArchiveRow, n: JobNotice): void {
    if (n.StatusCode === 'Failed') return;
    this.adopt(archive, n.JobId);
    this.onJobState(n.JobId, n.StatusCode, 'notification', n.StatusMessage ?? undefined, n.CompletionDate ?? undefined);
  }

  /** Records a job Glacier started for a `requesting` archive whose InitiateJob answer was lost. */
  private adopt(archive: ArchiveRow, jobId: string): void {
    this.unknownSince.delete(archive.seq);
    this.state.updateArchive(archive.seq, { status: 'requested', job_id: jobId });
    this.accounting.add(COUNTER.retrievals);
  }

  /** Applies what Glacier says of a job: ready, or failed. */
  private onJobState(jobId: string, status: string | undefined, via: 'notification' | 'poll', message?: string, completionDate?: string): void {
    const archive = this.state.archiveByJob(jobId);
    if (!archive || archive.status !== 'requested') return; // not ours, or a duplicate notice
    if (status === 'Succeeded') {
      // The 24 h window runs from Glacier's completion, which a late notice or a poll may learn of hours later.
      const readyAt = Math.min(Date.now(), Date.parse(completionDate ?? '') || Date.now());
      this.state.updateArchive(archive.seq, { status: 'staged', job_ready_at: readyAt });
      this.readyDirty = true;
      this.emit({ type: 'job-ready', archiveId: archive.archive_id, jobId, via });
    } else if (status === 'Failed') {
      this.requestAgain(archive, `retrieval job ${jobId} failed: ${message ?? 'no reason given'}`);
    }
  }

  /**
   * Puts an archive back to be requested (and paid) again, keeping its upload and verified parts. Only renewals
   * without progress count towards failing it: a large archive may need many windows, copying parts in each.
   */
  private requestAgain(archive: ArchiveRow, reason: string, progressed = false): void {
    const attempts = progressed ? 0 : archive.attempts + 1;
    if (attempts >= this.options.maxArchiveAttempts * 2) {
      this.fail(archive, reason, true);
      return;
    }
    this.state.updateArchive(archive.seq, { status: 'planned', job_id: null, job_ready_at: null, attempts });
    this.accounting.add(COUNTER.reRequests);
    this.readyQueue = [];
    this.readyDirty = true;
    this.emit({ type: 'job-renewed', archiveId: archive.archive_id, reason });
  }

  /**
   * Fails an archive. `retryable` failures (outages, throttling that outlasted every retry) are tried again by
   * the next `resume`; the others (bytes that do not match the inventory, an archive Glacier no longer has) stay
   * failed.
   */
  private fail(archive: ArchiveRow, reason: string, retryable = false): void {
    this.state.updateArchive(archive.seq, { status: 'failed', error: reason, retryable: retryable ? 1 : 0 });
    this.emit({ type: 'archive-failed', archiveId: archive.archive_id, key: archive.key, reason });
  }

  /**
   * Brings the state in line with Glacier's job list, read page by page while the copy goes on: ready jobs
   * become staged (notifications can be lost), failed or forgotten (expired) ones are requested again, and
   * `requesting` archives (an InitiateJob without a known outcome) adopt the job Glacier started for them, or
   * go back to be requested if it started none.
   */
  private async reconcileJobs(): Promise<void> {
    const listedFrom = Date.now();
    const listedSince = listedFrom - this.listLagMs;
    for (const [seq, at] of this.startedAt) if (at < listedSince) this.startedAt.delete(seq);
    this.state.startJobListing();
    try {
      const ours = jobDescription(this.config.transferId);
      for await (const page of paginateListJobs({ client: this.clients.glacier }, { accountId: '-', vaultName: this.config.vault })) {
        const jobs = (page.JobList ?? []).filter((j) => j.Action === 'ArchiveRetrieval' && j.JobDescription === ours);
        this.state.transaction(() => {
          this.state.noteListedJobs(jobs.map((j) => j.JobId!));
          for (const job of jobs) this.applyListedJob(job);
        });
      }
      // When this run may have begun within the lag of a call a previous run made, its jobs are judged later.
      const previousRunTooRecent = listedSince < this.runStartedAt;
      this.settleAfterLag = previousRunTooRecent;
      this.state.transaction(() => {
        for (const archive of this.state.archivesWithStatus('requesting')) {
          if (this.callsInFlight.has(archive.seq)) continue;
          const unknownAt = this.unknownSince.get(archive.seq) ?? (previousRunTooRecent ? this.runStartedAt : 0);
          if (unknownAt > listedSince) continue; // too recent to be listed yet
          this.unknownSince.delete(archive.seq);
          this.state.updateArchive(archive.seq, { status: 'planned', job_id: null });
        }
        for (const archive of this.state.archivesWithUnlistedJobs()) {
          // A copy in progress learns of an expiry itself; a job started lately may not be listed yet.
          const startedAt = this.startedAt.get(archive.seq) ?? (previousRunTooRecent ? this.runStartedAt : 0);
          if (this.active.has(archive.seq) || startedAt >= listedSince) continue;
          this.requestAgain(archive, `retrieval job ${archive.job_id} is no longer known to Glacier (output window passed)`);
        }
      });
    } finally {
      this.state.endJobListing();
      this.candidates = [];
      this.readyDirty = true;
    }
  }

  private applyListedJob(job: GlacierJobDescription): void {
    if (this.state.archiveByJob(job.JobId!)) {
      this.onJobState(job.JobId!, job.StatusCode, 'poll', job.StatusMessage, job.CompletionDate);
      return;
    }
    // A job the state does not name: started by an InitiateJob whose answer was lost.
    if (job.StatusCode === 'Failed') return;
    const archive = this.state.archive(job.ArchiveId!);
    if (archive?.status !== 'requesting' || this.callsInFlight.has(archive.seq)) return;
    this.earlyNotices.delete(archive.seq);
    this.adopt(archive, job.JobId!);
    this.onJobState(job.JobId!, job.StatusCode, 'poll', job.StatusMessage, job.CompletionDate);
  }

  private startReconcile(): void {
    this.reconciling = this.reconcileJobs()
      .catch((e) => {
        if (isStateStorageError(e)) this.fatal = e as Error;
        else if (isCredentialsError(e)) this.fatal = asFatal(e, 'listing jobs');
        else this.emit({ type: 'warning', message: `polling jobs failed: ${describeError(e)}` });
      })
      .finally(() => {
        this.reconciling = undefined;
        // Unknown outcomes (and a previous run's last calls) are settled as soon as Glacier can have listed them.
        this.nextPollAt = Date.now() + (this.unknownSince.size > 0 || this.settleAfterLag ? this.listLagMs : this.options.pollIntervalMs);
        this.wake();
      });
  }

  /** Retrievals in flight: requested from Glacier and not yet copied. */
  private inFlight(): { archives: number; bytes: number } {
    return this.state.totalWithStatus(IN_FLIGHT_STATUSES);
  }

  private nextCandidate(): ArchiveRow | undefined {
    if (this.candidates.length === 0) {
      this.candidates = this.state.archivesWithStatus('planned', 512).filter((a) => !this.callsInFlight.has(a.seq));
    }
    return this.candidates.shift();
  }

  /**
   * Requests as many retrievals as the initiator has room for and the pacer allows. The archives are marked
   * `requesting` in one transaction before their calls are sent.
   */
  private initiate(signal: AbortSignal): void {
    const initiator = this.initiator!;
    let room = initiator.room();
    if (room === 0) return;
    const inFlight = this.inFlight();
    const batch: ArchiveRow[] = [];
    this.state.transaction(() => {
      while (room > 0) {
        const archive = this.nextCandidate();
        if (!archive) break;
        if (archive.size === 0 || this.hasAllParts(archive)) {
          // Nothing to fetch: an empty archive, or every part already in S3.
          this.state.updateArchive(archive.seq, { status: 'staged' });
          this.readyDirty = true;
          continue;
        }
        if (!this.pacer.allows(inFlight, archive.size)) {
          this.candidates.unshift(archive);
          break;
        }
        this.state.updateArchive(archive.seq, { status: 'requesting' });
        inFlight.archives++;
        inFlight.bytes += archive.size;
        batch.push(archive);
        room--;
      }
    });
    for (const archive of batch) {
      this.callsInFlight.add(archive.seq);
      void initiator.initiate(archive.archive_id, signal).then((outcome) => this.onInitiated(archive, outcome, signal));
    }
  }

  private onInitiated(archive: ArchiveRow, outcome: InitiateOutcome, signal: AbortSignal): void {
    this.callsInFlight.delete(archive.seq);
    try {
      switch (outcome.kind) {
        case 'started':
          if (this.startedQueue.length === 0) queueMicrotask(() => this.recordStarted());
          this.startedQueue.push({ archive, jobId: outcome.jobId });
          break;
        case 'refused':
          this.onRefused(archive, outcome);
          break;
        case 'unknown': {
          const early = this.earlyNotices.get(archive.seq);
          if (early) {
            // Its notice came first: the job exists.
            this.earlyNotices.delete(archive.seq);
            this.state.transaction(() => this.adoptNoticed(archive, early));
            if (this.state.archiveBySeq(archive.seq)?.status !== 'requesting') break;
          }
          // The archive stays `requesting` until the job list says whether Glacier started a job.
          this.unknownSince.set(archive.seq, Date.now());
          this.nextPollAt = Math.min(this.nextPollAt, Date.now() + this.listLagMs);
          if (!signal.aborted) this.emit({ type: 'warning', message: `InitiateJob for archive ${archive.archive_id} ended without an answer (${describeError(outcome.error)}); its job list will tell` });
          break;
        }
        case 'fatal':
          this.earlyNotices.delete(archive.seq);
          this.state.updateArchive(archive.seq, { status: 'planned' });
          this.fatal ??= asFatal(outcome.error, `cannot request retrieval of archive ${archive.archive_id}`);
          break;
      }
    } catch (e) {
      this.fatal ??= e as Error;
    }
    this.wake();
  }

  /** Records started jobs in one transaction, then tells of them. */
  private recordStarted(): void {
    const started = this.startedQueue;
    this.startedQueue = [];
    try {
      this.state.transaction(() => {
        for (const { archive, jobId } of started) this.state.updateArchive(archive.seq, { status: 'requested', job_id: jobId });
      });
    } catch (e) {
      // Unrecorded jobs are found again by the reconciliation (the archives are still `requesting`).
      this.fatal ??= e as Error;
      return;
    }
    for (const { archive, jobId } of started) {
      this.startedAt.set(archive.seq, Date.now());
      this.accounting.add(COUNTER.retrievals);
      this.emit({ type: 'job-initiated', archiveId: archive.archive_id, jobId, tier: this.config.tier });
    }
    this.applyEarlyNotices(started);
  }

  /** Notices that came before their jobs were recorded, applied now that they are. */
  private applyEarlyNotices(started: { archive: ArchiveRow; jobId: string }[]): void {
    if (this.earlyNotices.size === 0) return;
    try {
      this.state.transaction(() => {
        for (const { archive, jobId } of started) {
          const early = this.earlyNotices.get(archive.seq);
          this.earlyNotices.delete(archive.seq);
          if (early?.JobId === jobId) this.onJobState(jobId, early.StatusCode, 'notification', early.StatusMessage ?? undefined, early.CompletionDate ?? undefined);
        }
      });
    } catch (e) {
      this.fatal ??= e as Error;
    }
  }

  private onRefused(archive: ArchiveRow, outcome: Extract<InitiateOutcome, { kind: 'refused' }>): void {
    const reason = describeError(outcome.error);
    this.earlyNotices.delete(archive.seq);
    if (outcome.reason === 'no-capacity' && !this.toldCapacity) {
      this.toldCapacity = true;
      this.emit({
        type: 'warning',
        message: `Glacier is short of Expedited retrieval capacity (${reason}); those retrievals are requested again with backoff. Bulk and Standard retrievals are not affected (--tier Bulk or Standard)`,
      });
    }
    if (outcome.reason === 'not-found') {
      this.fail(archive, `Glacier does not know archive ${archive.archive_id} (deleted since the inventory?)`);
      return;
    }
    if (outcome.reason === 'policy') {
      const attempts = archive.attempts + 1;
      if (attempts >= this.options.maxArchiveAttempts * 2) {
        // A policy that never allows this archive (larger than its hourly budget) must not block the others.
        this.fail(archive, `the vault's data retrieval policy keeps refusing this retrieval: ${reason}`, true);
        return;
      }
      this.state.updateArchive(archive.seq, { status: 'planned', attempts });
    } else {
      this.state.updateArchive(archive.seq, { status: 'planned' });
    }
    this.candidates = [];
    // One notice per pause, not one per refused call.
    const pausedUntil = this.initiator!.pausedUntilMs;
    if (pausedUntil > this.lastThrottleNotice) {
      this.lastThrottleNotice = pausedUntil;
      this.emit({ type: 'throttled', operation: `InitiateJob (${reason})`, pauseMs: Math.max(0, pausedUntil - Date.now()) });
    }
  }

  private hasAllParts(archive: ArchiveRow): boolean {
    return !!archive.upload_id && this.state.partCount(archive.seq) === archive.part_count;
  }

  /** Archives whose job output runs out before they can be copied are requested again now. */
  private renewExpiring(): void {
    const margin = Math.min(this.options.outputWindowMs / 8, 3 * 3600_000);
    const expiring = this.state.stagedReadyBefore(Date.now() - this.options.outputWindowMs + margin);
    if (expiring.length === 0) return;
    this.state.transaction(() => {
      for (const archive of expiring) {
        if (this.active.has(archive.seq) || archive.size === 0 || this.hasAllParts(archive)) continue;
        this.requestAgain(archive, `output of job ${archive.job_id} expires before it can be copied`);
      }
    });
  }

  /** The next ready archive, refilling the queue from the state when allowed; `setAside` are not fetched again. */
  private nextReady(mayRefill: boolean, setAside: ReadonlySet<number>): ArchiveRow | undefined {
    if (this.readyQueue.length === 0 && this.readyDirty && mayRefill) {
      this.readyDirty = false;
      const now = Date.now();
      const skip = (a: ArchiveRow) => this.active.has(a.seq) || setAside.has(a.seq) || (this.retryAfter.get(a.seq) ?? 0) > now;
      const want = this.options.archiveConcurrency * 2 + this.active.size + this.retryAfter.size;
      const staged = this.state.stagedByReadiness(want);
      // A full page may have more behind it.
      this.readyDirty = staged.length >= want;
      this.readyQueue = [...this.state.archivesWithStatus('completing'), ...staged].filter((a) => !skip(a));
    }
    return this.readyQueue.shift();
  }

  /**
   * Starts copies of ready archives, longest ready first, while archive lanes are free. An archive that needs a
   * stream (all but the tiny buffered ones) starts only when a stream is free for it: one waiting for a stream
   * stays staged, where the renewal check still sees it, and lets the tiny ones behind it go first.
   */
  private dispatch(signal: AbortSignal): void {
    const waiting: ArchiveRow[] = [];
    const waitingSeqs = new Set<number>();
    let refills = 0;
    while (this.active.size < this.options.archiveConcurrency) {
      // One refill per pass: archives set aside for a stream are fetched again by the next one.
      if (this.readyQueue.length === 0) refills++;
      const archive = this.nextReady(refills <= 1, waitingSeqs);
      if (!archive) break;
      if (this.active.has(archive.seq) || waitingSeqs.has(archive.seq)) continue;
      const streams = planOf(archive, this.config.partSize).method !== 'buffered' && archive.size > 0;
      if (streams && this.streaming >= this.options.concurrency) {
        waiting.push(archive);
        waitingSeqs.add(archive.seq);
        continue;
      }
      if (streams) this.streaming++;
      const task = this.copyOne(archive, signal).finally(() => {
        if (streams) this.streaming--;
        this.active.delete(archive.seq);
        this.wake();
      });
      this.active.set(archive.seq, task);
    }
    this.readyQueue.unshift(...waiting);
  }

  /**
   * Copies one archive, from its row as the state has it now (the queue's copy may be stale: requested again,
   * failed, or copied meanwhile). Never rejects: what fails is recorded, or becomes the engine's fatal error.
   */
  private async copyOne(queued: ArchiveRow, signal: AbortSignal): Promise<void> {
    let archive: ArchiveRow;
    try {
      const current = this.state.archiveBySeq(queued.seq);
      if (!current || (current.status !== 'staged' && current.status !== 'completing') || (this.retryAfter.get(current.seq) ?? 0) > Date.now()) return;
      archive = current;
    } catch (e) {
      this.fatal ??= e as Error;
      return;
    }
    try {
      await this.copyAndRecord(archive, signal);
    } catch (e) {
      // Recording what happened failed (the state file cannot be written): nothing can go on safely.
      this.fatal ??= e as Error;
    }
  }

  private async copyAndRecord(archive: ArchiveRow, signal: AbortSignal): Promise<void> {
    // Held time of the stream pool, to learn what this archive cost the tool.
    let streamMs = 0;
    const slot: StreamSlot = (fn) =>
      this.streamLimit(async () => {
        const started = Date.now();
        try {
          return await fn();
        } finally {
          streamMs += Date.now() - started;
        }
      });
    const ctx: ArchiveCopyContext = {
      vault: this.config.vault,
      bucket: this.config.bucket,
      storageClass: this.config.storageClass,
      expectedBucketOwner: this.config.expectedBucketOwner,
      sse: this.config.sse && { algorithm: this.config.sse, kmsKeyId: this.config.sseKmsKeyId },
      glacier: this.clients.glacier,
      s3: this.clients.s3,
      dataPlane: this.dataPlane,
      state: this.state,
      accounting: this.accounting,
      partSize: this.config.partSize,
      limit: slot,
      signal,
      emit: this.emit,
      maxAttempts: this.options.maxAttempts,
    };
    const partsBefore = archive.upload_id ? this.state.partCount(archive.seq) : 0;
    const progressed = () => this.state.partCount(archive.seq) > partsBefore;
    const started = Date.now();
    try {
      await copyArchive(ctx, archive);
      if (archive.size > 0) {
        const toolMs = streamMs > 0 ? streamMs / this.options.concurrency : (Date.now() - started) / this.options.archiveConcurrency;
        this.model.observe({ bytes: archive.size, toolMs });
      }
      // Told once it is recorded: whoever hears it may stop this process at once.
      this.state.afterDeferred(() => this.emit({ type: 'archive-verified', archiveId: archive.archive_id, key: archive.key!, size: archive.size }));
    } catch (e) {
      if (signal.aborted) return;
      const current = this.state.archiveBySeq(archive.seq)!;
      if (e instanceof JobExpiredError || e instanceof UploadLostError) {
        this.requestAgain(current, e.message, e instanceof JobExpiredError && progressed());
      } else if (e instanceof ArchiveFailure) {
        this.fail(current, e.message);
      } else if (isStateStorageError(e)) {
        this.fatal = e as Error;
      } else if (isCredentialsError(e) || httpStatusOf(e) === 403) {
        this.fatal = asFatal(e, `copying archive ${archive.archive_id} to ${archive.key}`);
      } else {
        // Outages pass: back off for longer each time (up to 5 minutes), and count from scratch whenever the
        // archive made progress, so that only an archive that keeps failing without progress fails.
        const attempts = progressed() ? 1 : current.attempts + 1;
        const reason = `copying to ${archive.key} failed: ${describeError(e)}`;
        if (attempts >= this.options.maxArchiveAttempts) this.fail(current, reason, true);
        else {
          this.state.updateArchive(archive.seq, { attempts, error: reason });
          this.retryAfter.set(archive.seq, Date.now() + Math.min(300_000, this.options.retryBaseMs * 2 ** (attempts - 1)));
          this.readyDirty = true;
          this.emit({ type: 'warning', message: `${reason}; will try again` });
        }
      }
    }
  }

  /** Writes buffered counters and the copy model to the state. */
  private flushAccounting(): void {
    this.accounting.flush(this.state);
    this.state.setTransfer({ copy_model: JSON.stringify(this.model) });
  }

  private async copyLoop(signal: AbortSignal): Promise<void> {
    let nextFlushAt = 0;
    while (!signal.aborted && !this.fatal) {
      const now = Date.now();
      const open = this.state.totalWithStatus(OPEN_STATUSES).archives > 0;
      if (!open && this.active.size === 0 && this.callsInFlight.size === 0 && !this.reconciling) return;
      if (now >= nextFlushAt) {
        this.flushAccounting();
        nextFlushAt = now + 1000;
      }
      if (now >= this.nextPollAt && !this.reconciling) this.startReconcile();
      if (now >= this.nextRenewalCheckAt) {
        this.renewExpiring();
        this.nextRenewalCheckAt = now + Math.min(60_000, this.options.outputWindowMs / 100);
      }
      for (const [seq, at] of this.retryAfter) {
        if (at <= now) {
          this.retryAfter.delete(seq);
          this.readyDirty = true;
        }
      }
      this.initiate(signal);
      this.dispatch(signal);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(10, Math.min(1000, this.nextPollAt - Date.now())));
        this.wake = () => {
          clearTimeout(timer);
          // Many wakes in one turn of the event loop make one pass of the loop.
          setImmediate(resolve);
        };
      });
    }
    if (this.fatal) {
      await this.settle();
      throw this.fatal;
    }
  }

  /** Waits for every copy, InitiateJob call and reconciliation under way, and records what they did. */
  private async settle(): Promise<void> {
    while (this.active.size > 0 || this.callsInFlight.size > 0 || this.reconciling) {
      await Promise.allSettled([...this.active.values(), this.reconciling, sleep(20)]);
    }
    if (this.startedQueue.length > 0) this.recordStarted();
    try {
      this.flushAccounting();
    } catch (e) {
      this.fatal ??= e as Error;
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
  const counters = state.counters();
  return {
    archives: all.archives,
    bytes: all.bytes,
    verified: counts.verified,
    failed: state.failures().map((f) => ({ archiveId: f.archive_id, key: f.key, reason: f.error ?? 'unknown' })),
    failedCount: counts.failed.archives,
    pending,
    badRows,
    alreadyInS3: { archives: counters.get(COUNTER.alreadyInS3) ?? 0, bytes: counters.get(COUNTER.alreadyInS3Bytes) ?? 0 },
    requests: requestFigures(counters),
    inventoryScope: state.transferInfo().inventoryScope,
    done: pending === 0 && counts.failed.archives === 0 && badRows === 0,
  };
}

export type { EngineEvent };
