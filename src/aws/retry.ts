import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, isThrottling } from './errors.js';

export interface RetryOptions {
  attempts: number;
  signal?: AbortSignal;
  /** first pause; doubles per attempt up to maxDelayMs, with jitter */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (attempt: number, error: unknown, delayMs: number) => void;
  /** Which errors are worth another try (default: the transient ones, errors.ts) */
  retryable?: (error: unknown) => boolean;
}

/**
 * Retries work that the SDK cannot retry itself: a streamed part whose body is gone once sent, a range whose
 * bytes did not verify. Only transient errors (errors.ts) are retried; anything else is thrown at once.
 */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (options.signal?.aborted || attempt >= options.attempts || !(options.retryable ?? isRetryable)(e)) throw e;
      const factor = isThrottling(e) ? 4 : 2;
      const delay = Math.min(max, base * factor ** (attempt - 1)) * (0.5 + Math.random() / 2);
      options.onRetry?.(attempt, e, delay);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
