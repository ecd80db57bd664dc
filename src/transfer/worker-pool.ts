import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import type { AwsClientOptions } from '../aws/clients.js';
import { ArchiveFailure, ChunkVerificationError } from '../aws/errors.js';
import type { DataPlane } from './data-plane.js';
import type { ByteRange, PartSpec, PutSpec, RangeSpec, StreamOptions } from './part-copy.js';

export type StreamTask =
  | { kind: 'part'; source: RangeSpec; target: PartSpec; ranges: ByteRange[] }
  | { kind: 'put'; source: RangeSpec; put: PutSpec; inventoryTreeHash: string };

export type ToWorker = { id: number; task: StreamTask } | { id: number; abort: true };

export type ToMain =
  | { ready: true }
  | { id: number; bytes: number }
  | { id: number; result: unknown }
  | { id: number; error: TransferableError }
  | { request: [service: 'glacier' | 's3' | 'sns' | 'sqs', operation: string] };

/** What the main thread branches on in an error (its class, name, code, HTTP status), as a message can carry it. */
export interface TransferableError {
  message: string;
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  verification?: { vault: string; archiveId: string; range: ByteRange; expected: string; actual: string };
  archiveFailure?: true;
}

export function toTransferable(e: unknown): TransferableError {
  const err = (e ?? {}) as Error & Omit<TransferableError, 'message'>;
  const out: TransferableError = { message: err.message ?? String(e), name: err.name, code: err.code, $fault: err.$fault };
  if (err.$metadata) out.$metadata = { httpStatusCode: err.$metadata.httpStatusCode };
  if (e instanceof ChunkVerificationError) out.verification = { vault: e.vault, archiveId: e.archiveId, range: e.range, expected: e.expected, actual: e.actual };
  if (e instanceof ArchiveFailure) out.archiveFailure = true;
  return out;
}

export function fromTransferable(t: TransferableError): Error {
  if (t.verification) {
    const v = t.verification;
    return new ChunkVerificationError(v.vault, v.archiveId, v.range, v.expected, v.actual);
  }
  if (t.archiveFailure) return new ArchiveFailure(t.message);
  const e = new Error(t.message);
  if (t.name !== undefined) e.name = t.name;
  for (const key of ['code', '$metadata', '$fault'] as const) if (t[key] !== undefined) Object.assign(e, { [key]: t[key] });
  return e;
}

export interface WorkerPoolOptions {
  workers: number;
  /** How each worker builds its own SDK clients (plain data: credentials come from the profile or the chain) */
  clients: Omit<AwsClientOptions, 'onRequest'>;
  /** Told of every request a worker sends, as AwsClientOptions.onRequest */
  onRequest?: AwsClientOptions['onRequest'];
}

interface Running {
  onBytes?: (n: number) => void;
  resolve(value: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  running: Map<number, Running>;
  /** Resolves once the worker has loaded its modules and built its clients */
  ready: Promise<void>;
}

/**
 * Tells V8 the old-generation size below which it may skip full collections in each worker. A worker holds little
 * on its JS heap but streams hundreds of MB/s through short-lived buffers; left to guess that size, V8 shrinks it
 * with the low survival rate of those scavenges and then runs a full (mark-compact) collection every few MB
 * promoted: 150 of them per 2 GiB copied with 2 workers, a quarter of the process's CPU. With it, 3, and CPU per
 * GiB fell ~23 % (bench/README.md). 64 MB: bounded, so memory stays flat over long runs.
 */
export const WORKER_HEAP_FLAG = '--initial-old-space-size=64';
/** V8's default (it guesses), for the isolates that are not stream workers (the inventory's naming worker). */
const DEFAULT_HEAP_FLAG = '--initial-old-space-size=0';

/**
 * Stream workers started whose isolates may not exist yet. V8 reads the setting as it creates an isolate, on the
 * new thread: it stays set until every worker being started is ready (or failed to start).
 */
let startingWorkers = 0;

function withStreamWorkerHeap(start: () => Slot): Slot {
  if (startingWorkers++ === 0) setFlagsFromString(WORKER_HEAP_FLAG);
  const started = () => {
    if (--startingWorkers === 0) setFlagsFromString(DEFAULT_HEAP_FLAG);
  };
  try {
    const slot = start();
    slot.ready.then(started, started);
    return slot;
  } catch (e) {
    started();
    throw e;
  }
}

/**
 * The data plane on worker threads, each with its own SDK clients and connections: the hashing and the HTTP of
 * every stream run off the main thread, which keeps the engine, the state and the UI and records what the
 * workers report. A stream goes to the worker with the fewest in flight. A stream whose signal aborts is
 * given up at once (the worker is told to stop it): it is not recorded, as on the main thread.
 */
export class WorkerPool implements DataPlane {
  private readonly slots: Slot[] = [];
  private nextId = 1;

  constructor(private readonly options: WorkerPoolOptions) {
    for (let i = 0; i < options.workers; i++) this.slots.push(this.spawn());
  }

  copyPart(source: RangeSpec, target: PartSpec, ranges: ByteRange[], options: StreamOptions) {
    return this.run({ kind: 'part', source, target, ranges }, options) as ReturnType<DataPlane['copyPart']>;
  }

  putStreamed(source: RangeSpec, put: PutSpec, inventoryTreeHash: string, options: StreamOptions) {
    return this.run({ kind: 'put', source, put, inventoryTreeHash }, options) as ReturnType<DataPlane['putStreamed']>;
  }

  /**
   * Resolves once every worker is ready (modules loaded, clients built: a fraction of a second of CPU each), so
   * that a run starts copying on workers that are ready rather than paying for their start in its first parts.
   */
  async ready(): Promise<void> {
    // Waited for, they keep the process alive (idle ones are unref'd).
    for (const s of this.slots) s.worker.ref();
    try {
      await Promise.all(this.slots.map((s) => s.ready));
    } finally {
      for (const s of this.slots) if (s.running.size === 0) s.worker.unref();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private spawn(): Slot {
    return withStreamWorkerHeap(() => this.startWorker());
  }

  private startWorker(): Slot {
    const worker = new Worker(new URL('./stream-worker.js', import.meta.url), { workerData: this.options.clients });
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`stream worker exited with code ${code} as it started`)));
    });
    ready.catch(() => undefined); // told through ready() to whoever waits for it
    const slot: Slot = { worker, running: new Map(), ready };
    // Idle workers do not keep the process alive; one with streams in flight does (see run).
    worker.unref();
    worker.on('message', (m: ToMain) => {
      if ('ready' in m) return;
      if ('request' in m) return this.options.onRequest?.(...m.request);
      const running = slot.running.get(m.id);
      if (!running) return; // given up (aborted) while the worker finished it
      if ('bytes' in m) running.onBytes?.(m.bytes);
      else if ('result' in m) running.resolve(m.result);
      else running.reject(fromTransferable(m.error));
    });
    // A worker that dies (a bug, out of memory) fails its streams, which are retried like any failed stream,
    // on a new worker in its place.
    const replace = (e: Error) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      this.slots[index] = this.spawn();
      for (const running of [...slot.running.values()]) running.reject(e);
    };
    worker.on('error', (e) => replace(new Error(`stream worker failed: ${e.message}`)));
    worker.on('exit', (code) => replace(new Error(`stream worker exited with code ${code}`)));
    return slot;
  }

  private run(task: StreamTask, options: StreamOptions): Promise<unknown> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.slots.length === 0) return Promise.reject(new Error('the stream workers are closed'));
    const slot = this.slots.reduce((a, b) => (b.running.size < a.running.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const settle = (fn: () => void) => {
        if (!slot.running.delete(id)) return;
        signal?.removeEventListener('abort', onAbort);
        if (slot.running.size === 0) slot.worker.unref();
        fn();
      };
      const onAbort = () => {
        slot.worker.postMessage({ id, abort: true } satisfies ToWorker);
        settle(() => reject(signal!.reason));
      };
      slot.running.set(id, { onBytes: options.onBytes, resolve: (v) => settle(() => resolve(v)), reject: (e) => settle(() => reject(e)) });
      if (slot.running.size === 1) slot.worker.ref();
      signal?.addEventListener('abort', onAbort, { once: true });
      slot.worker.postMessage({ id, task } satisfies ToWorker);
    });
  }
}
