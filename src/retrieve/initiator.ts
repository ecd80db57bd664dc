import type { GlacierClient } from '@aws-sdk/client-glacier';
import { isCredentialsError, isNotFound, isRetryable, isThrottling, httpStatusOf } from '../aws/errors.js';
import { initiateArchiveRetrieval } from './jobs.js';

/**
 * What became of one InitiateJob. `refused`: Glacier said no, so no job exists and the archive may be requested
 * again later. `unknown`: the call failed in a way that may have started (and billed) a job (5xx, a dropped
 * connection, an abort), so the archive must not be requested again until the job list says whether it was.
 */
export type InitiateOutcome =
  | { kind: 'started'; jobId: string }
  | { kind: 'refused'; reason: 'throttled' | 'no-capacity' | 'policy' | 'not-found'; error: unknown }
  | { kind: 'unknown'; error: unknown }
  | { kind: 'fatal'; error: unknown };

export function classifyInitiateError(e: unknown): InitiateOutcome {
  if ((e as Error)?.name === 'PolicyEnforcedException') return { kind: 'refused', reason: 'policy', error: e };
  // No Expedited capacity at the moment: backed off like a throttle, not a reason to stop the run.
  if ((e as Error)?.name === 'InsufficientCapacityException') return { kind: 'refused', reason: 'no-capacity', error: e };
  if (isThrottling(e)) return { kind: 'refused', reason: 'throttled', error: e };
  if (isNotFound(e)) return { kind: 'refused', reason: 'not-found', error: e };
  if (isCredentialsError(e) || httpStatusOf(e) === 403) return { kind: 'fatal', error: e };
  if (isRetryable(e) || httpStatusOf(e) === undefined) return { kind: 'unknown', error: e };
  return { kind: 'fatal', error: e };
}

/**
 * How many requests may be under way at once, found by trying (additive increase, multiplicative decrease):
 * it doubles per round trip until the first throttle, then grows by one per round trip and halves on each
 * throttle. Throttles of requests sent before the last decrease are not counted again: they describe a
 * concurrency already given up.
 */
export class AdaptiveLimit {
  private value: number;
  private slowStart = true;
  private decreasedAt = 0;

  constructor(private readonly bounds: { initial: number; min: number; max: number } = { initial: 4, min: 1, max: 64 }) {
    this.value = bounds.initial;
  }

  get current(): number {
    return Math.floor(this.value);
  }

  succeeded(): void {
    this.value = Math.min(this.bounds.max, this.value + (this.slowStart ? 1 : 1 / this.value));
  }

  throttled(sentAt: number): void {
    this.slowStart = false;
    if (sentAt < this.decreasedAt) return;
    this.value = Math.max(this.bounds.min, this.value / 2);
    this.decreasedAt = Date.now();
  }
}

export interface InitiatorParams {
  vault: string;
  tier: string;
  topicArn?: string;
  transferId: string;
}

/** Longest pause after repeated throttling; a retrieval policy's hourly budget takes longer to free up. */
const MAX_THROTTLE_PAUSE_MS = 30_000;
const MAX_POLICY_PAUSE_MS = 300_000;

/**
 * Starts archive-retrieval jobs concurrently within an adaptive limit, pausing after refusals. InitiateJob is
 * sent once (a client without SDK retries): a retry after a lost answer would start, and bill, a second job.
 */
export class RetrievalInitiator {
  private inFlight = 0;
  private pausedUntil = 0;
  private throttlePauseMs = 0;
  private policyPauseMs = 0;
  /**
   * When the last pause of each kind began. Calls under way together are refused together: a refusal of a call
   * sent before that pause belongs to the burst that caused it, and does not lengthen it again.
   */
  private readonly pausedAt = { throttle: -Infinity, policy: -Infinity };

  constructor(
    private readonly glacier: GlacierClient,
    private readonly params: InitiatorParams,
    readonly limit = new AdaptiveLimit(),
  ) {}

  /** Calls that may start now. */
  room(now = Date.now()): number {
    if (now < this.pausedUntil) return 0;
    return Math.max(0, this.limit.current - this.inFlight);
  }

  get busy(): number {
    return this.inFlight;
  }

  /** When initiation may resume after a pause (0 when not paused). */
  get pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /** Requests one retrieval; resolves with what became of it (never rejects). */
  async initiate(archiveId: string, signal: AbortSignal): Promise<InitiateOutcome> {
    this.inFlight++;
    const sentAt = Date.now();
    try {
      const jobId = await initiateArchiveRetrieval(this.glacier, { ...this.params, archiveId }, signal);
      this.limit.succeeded();
      this.throttlePauseMs = 0;
      this.policyPauseMs = 0;
      return { kind: 'started', jobId };
    } catch (e) {
      const outcome = classifyInitiateError(e);
      if (outcome.kind === 'refused' && (outcome.reason === 'throttled' || outcome.reason === 'no-capacity')) {
        this.limit.throttled(sentAt);
        if (sentAt > this.pausedAt.throttle) {
          this.throttlePauseMs = Math.min(MAX_THROTTLE_PAUSE_MS, Math.max(100, this.throttlePauseMs * 2));
          this.pause('throttle', this.throttlePauseMs);
        }
      } else if (outcome.kind === 'refused' && outcome.reason === 'policy') {
        if (sentAt > this.pausedAt.policy) {
          this.policyPauseMs = Math.min(MAX_POLICY_PAUSE_MS, Math.max(1000, this.policyPauseMs * 2));
          this.pause('policy', this.policyPauseMs);
        }
      } else if (outcome.kind === 'unknown') {
        // A service in trouble: send less until it answers again.
        this.limit.throttled(sentAt);
        if (sentAt > this.pausedAt.throttle) {
          this.throttlePauseMs = Math.min(MAX_THROTTLE_PAUSE_MS, Math.max(1000, this.throttlePauseMs * 2));
          this.pause('throttle', this.throttlePauseMs);
        }
      }
      return outcome;
    } finally {
      this.inFlight--;
    }
  }

  /** Pauses for about `ms` (with jitter, so that many clients do not come back at one instant). */
  private pause(kind: keyof RetrievalInitiator['pausedAt'], ms: number): void {
    const now = Date.now();
    this.pausedAt[kind] = now;
    this.pausedUntil = Math.max(this.pausedUntil, now + ms * (0.5 + Math.random() / 2));
  }
}
