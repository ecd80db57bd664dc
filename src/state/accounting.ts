import { COUNTER, type TransferState } from './db.js';

/** S3 requests billed at the PUT/COPY/POST/LIST rate. */
export const S3_WRITE_CLASS = new Set(['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'ListMultipartUploads', 'ListObjectsV2', 'ListParts']);

/**
 * Counts that change many times a second (bytes copied, requests sent) are added here, in memory, and written
 * to the state in one transaction per flush, so that counting never costs a write per event. A crash loses at
 * most what was counted since the last flush: these are figures for people, never inputs to a decision about
 * what is copied.
 */
export class Accounting {
  private pending = new Map<string, number>();

  add(name: string, n = 1): void {
    this.pending.set(name, (this.pending.get(name) ?? 0) + n);
  }

  /** Counts a request sent to AWS (every attempt: each may be billed). */
  request(service: string, operation: string): void {
    this.add(COUNTER.requests(service, operation));
  }

  flush(state: TransferState): void {
    if (this.pending.size === 0) return;
    const deltas = this.pending;
    this.pending = new Map();
    state.addCounters(deltas);
  }
}

/** Billed figures from a transfer's counters. */
export interface RequestFigures {
  /** S3 requests at the PUT/COPY/POST/LIST rate */
  s3Writes: number;
  /** Of those, the ones that wrote archives (PutObject, the multipart calls), not the transfer's listings and marker */
  archiveWrites: number;
  /** Archive retrievals requested from Glacier, re-requests included */
  retrievals: number;
  /** Retrievals requested again (an output that expired, a job that failed): each was paid twice */
  reRequests: number;
}

/** The S3 calls that write objects; the others of S3_WRITE_CLASS list. */
const OBJECT_WRITES = ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload'];

export function requestFigures(counters: Map<string, number>): RequestFigures {
  const count = (op: string) => counters.get(COUNTER.requests('s3', op)) ?? 0;
  let s3Writes = 0;
  for (const op of S3_WRITE_CLASS) s3Writes += count(op);
  const archiveWrites = OBJECT_WRITES.reduce((n, op) => n + count(op), 0) - (counters.get(COUNTER.markerWrites) ?? 0);
  return { s3Writes, archiveWrites, retrievals: counters.get(COUNTER.retrievals) ?? 0, reRequests: counters.get(COUNTER.reRequests) ?? 0 };
}
