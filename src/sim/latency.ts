import { setTimeout as sleep } from 'node:timers/promises';
import { seededRandom } from './random.js';

/**
 * The time a request spends on the wire and in the service before it is handled: `ms` on average, uniformly
 * 0.5×–1.5× per request from a seeded PRNG, waited on a timer so that other requests go on meanwhile. With
 * delays like AWS's, a client that sends one request at a time is slow, and parallelism is what makes it fast.
 */
export class Latency {
  private readonly random: () => number;

  constructor(
    private readonly ms: number,
    seed: string | number,
  ) {
    if (!(ms >= 0)) throw new RangeError(`latency must be 0 or more milliseconds, got ${ms}`);
    this.random = seededRandom(`latency:${seed}`);
  }

  /** Resolves after one request's delay; undefined at once when there is no latency. */
  wait(): Promise<void> | undefined {
    if (this.ms === 0) return undefined;
    return sleep(this.ms * (0.5 + this.random()));
  }
}
