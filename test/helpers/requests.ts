import type { Simulator } from '../../src/sim/server.js';
import type { Route, SimRequest } from '../../src/sim/http.js';
import { isTargetLockKey } from '../../src/transfer/target-lock.js';

/** One request the simulator received, as the tests need to count them. */
export interface RecordedRequest {
  seq: number;
  /** The recorder's phase when the request arrived (tests name phases: 'start', 'resume' …) */
  phase: string;
  service: string;
  operation: string;
  /** S3 */
  bucket?: string;
  /** the x-amz-expected-bucket-owner header */
  expectedBucketOwner?: string;
  /** the x-amz-server-side-encryption header (AES256, aws:kms) */
  sse?: string;
  key?: string;
  partNumber?: number;
  uploadId?: string;
  /** Glacier */
  vault?: string;
  jobId?: string;
  /** Glacier InitiateJob: the job's Type and ArchiveId */
  jobType?: string;
  archiveId?: string;
  /** HTTP status of the answer; undefined while in progress, or when the connection died first */
  status?: number;
  errorCode?: string;
}

export interface RequestRecorder {
  readonly requests: RecordedRequest[];
  /** Stamped on every request that arrives from now on */
  phase: string;
  /** Called when a request arrives (before it is handled) */
  onRequest?: (r: RecordedRequest) => void;
  /** Awaited before a request is handled: a test may hold one back (a stalled download) until an event */
  beforeHandle?: (r: RecordedRequest) => Promise<void> | void;
  of(service: string, operation: string, filter?: (r: RecordedRequest) => boolean): RecordedRequest[];
  /** Successful object writes (PutObject, CompleteMultipartUpload) per key */
  objectWrites(filter?: (r: RecordedRequest) => boolean): Map<string, number>;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function targetOf(service: string, req: SimRequest): Partial<RecordedRequest> {
  const url = new URL(req.raw.url ?? '/', 'http://localhost');
  if (service === 's3') {
    const path = (req.raw.url ?? '/').split('?', 1)[0]!.replace(/^\/+/, '');
    const slash = path.indexOf('/');
    const partNumber = url.searchParams.get('partNumber');
    const owner = req.headers['x-amz-expected-bucket-owner'];
    const sse = req.headers['x-amz-server-side-encryption'];
    return {
      expectedBucketOwner: typeof owner === 'string' ? owner : undefined,
      sse: typeof sse === 'string' ? sse : undefined,
      bucket: decode(slash === -1 ? path : path.slice(0, slash)),
      key: slash === -1 ? undefined : decode(path.slice(slash + 1)),
      partNumber: partNumber === null ? undefined : Number(partNumber),
      uploadId: url.searchParams.get('uploadId') ?? undefined,
    };
  }
  if (service === 'glacier') {
    const m = /^\/[^/]+\/vaults\/([^/]+)(?:\/jobs\/([^/]+))?/.exec(req.rawPath);
    return { vault: m?.[1] && decode(m[1]), jobId: m?.[2] && decode(m[2]) };
  }
  return {};
}

/**
 * Wraps the simulator's services so that every request is recorded with what it touched (key and part, job,
 * archive) and how it was answered. The simulator itself is not changed: this sits where the server asks a
 * service for the route of a request.
 */
export function recordRequests(sim: Simulator): RequestRecorder {
  const recorder: RequestRecorder = {
    requests: [],
    phase: 'setup',
    of(service, operation, filter = () => true) {
      return this.requests.filter((r) => r.service === service && r.operation === operation && filter(r));
    },
    objectWrites(filter = () => true) {
      const writes = new Map<string, number>();
      for (const r of this.requests) {
        if (r.service !== 's3' || r.status !== 200 || !filter(r)) continue;
        if (r.operation !== 'PutObject' && r.operation !== 'CompleteMultipartUpload') continue;
        if (isTargetLockKey(r.key!)) continue; // the transfer's marker, not an archive's object
        writes.set(r.key!, (writes.get(r.key!) ?? 0) + 1);
      }
      return writes;
    },
  };
  let seq = 0;
  for (const service of sim.world.services()) {
    const route = service.route.bind(service);
    service.route = async (req: SimRequest): Promise<Route> => {
      const found = await route(req);
      const entry: RecordedRequest = { seq: ++seq, phase: recorder.phase, service: service.name, operation: found.operation, ...targetOf(service.name, req) };
      recorder.requests.push(entry);
      recorder.onRequest?.(entry);
      return {
        operation: found.operation,
        handle: async (q, res) => {
          try {
            await recorder.beforeHandle?.(entry);
            await found.handle(q, res);
          } catch (e) {
            entry.status = (e as { status?: number }).status ?? 500;
            entry.errorCode = (e as { code?: string }).code;
            throw e;
          }
          entry.status = res.statusCode;
          if (entry.service === 'glacier' && entry.operation === 'InitiateJob') {
            const params = JSON.parse((await q.body()).toString() || '{}') as { Type?: string; ArchiveId?: string };
            entry.jobType = params.Type;
            entry.archiveId = params.ArchiveId;
          }
        },
      };
    };
  }
  return recorder;
}
