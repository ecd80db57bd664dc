import { randomBytes } from 'node:crypto';
import { Permutation48 } from '../permutation.js';
import type { Job } from './store.js';

/** Expired jobs are dropped this many at a time. */
const EXPIRED_BATCH = 1000;

interface Listed {
  seq: number;
  job: Job;
  removed: boolean;
}

/**
 * A vault's jobs in initiation order, as ListJobs lists them. A job id carries the job's sequence number (permuted,
 * so ids still look random), so a listing resumes at its marker by binary search, even when the marker's job
 * expired between two pages. Adding, finding and removing a job are O(1) (removal compacts now and then).
 */
export class JobList {
  private readonly byId = new Map<string, Listed>();
  private order: Listed[] = [];
  private removedCount = 0;
  private nextSeq = 0;
  private readonly permutation: Permutation48;
  /** Jobs whose output window has passed, not dropped yet */
  private expired: string[] = [];

  constructor(key: string) {
    this.permutation = new Permutation48(`jobs:${key}`);
  }

  /** A fresh job id, 92 URL-safe characters like Glacier's. Jobs must be added in the order their ids were made. */
  newId(): string {
    return Buffer.concat([this.permutation.encode(this.nextSeq++), randomBytes(63)]).toString('base64url');
  }

  add(job: Job): void {
    const seq = this.seqOf(job.id);
    const last = this.order[this.order.length - 1];
    if (seq === undefined || (last && last.seq >= seq)) throw new Error(`job ${job.id} added out of order`);
    const listed = { seq, job, removed: false };
    this.order.push(listed);
    this.byId.set(job.id, listed);
  }

  get(id: string): Job | undefined {
    return this.byId.get(id)?.job;
  }

  get size(): number {
    return this.byId.size;
  }

  delete(id: string): void {
    const listed = this.byId.get(id);
    if (!listed) return;
    this.byId.delete(id);
    listed.removed = true;
    if (++this.removedCount > 1024 && this.removedCount * 2 > this.order.length) {
      this.order = this.order.filter((l) => !l.removed);
      this.removedCount = 0;
    }
  }

  /**
   * Forgets a job whose output window has passed. The API hides such a job at once (GlacierStore.isExpired);
   * its record goes with the next batch, so memory stays bounded by the live jobs plus one batch while a job
   * that just expired can still be inspected in the simulator.
   */
  expire(id: string): void {
    this.expired.push(id);
    if (this.expired.length < EXPIRED_BATCH) return;
    for (const expiredId of this.expired) this.delete(expiredId);
    this.expired = [];
  }

  /** The jobs in initiation order, from the job named by `marker` (or the first initiated after it) on. */
  *values(marker?: string): Generator<Job> {
    const order = this.order;
    for (let i = marker === undefined ? 0 : this.firstAtOrAfter(marker); i < order.length; i++) {
      if (!order[i]!.removed) yield order[i]!.job;
    }
  }

  /** Whether `marker` can name a place in the list (a job id, present or gone). */
  isMarker(marker: string): boolean {
    return this.seqOf(marker) !== undefined;
  }

  private firstAtOrAfter(marker: string): number {
    const seq = this.seqOf(marker) ?? Infinity;
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.order[mid]!.seq < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private seqOf(id: string): number | undefined {
    if (!/^[A-Za-z0-9_-]{92}$/.test(id)) return undefined;
    return this.permutation.decode(Buffer.from(id.slice(0, 8), 'base64url'));
  }
}
