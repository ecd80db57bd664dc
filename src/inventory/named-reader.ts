import { Worker } from 'node:worker_threads';
import type { NamingConfig } from '../naming/namer.js';
import { byteChunks } from './lines.js';
import { InventoryFormatError, type ByteSource, type InventoryArchive, type InventoryEvent } from './types.js';

export type NamedArchive = InventoryArchive & { key: string };

/** What readNamedInventory yields: archives in batches, with their candidate keys; other events one by one. */
export type NamedInventoryEvent = { kind: 'archives'; archives: NamedArchive[] } | Exclude<InventoryEvent, { kind: 'archive' }>;

/** Messages to the worker (naming-worker.ts): the document's chunks, then its end. */
export type ToWorker = { kind: 'chunk'; chunk: Uint8Array } | { kind: 'end' };

/** Messages from the worker: a chunk taken (room for another), what it read, its end or its failure. */
export type ToMain =
  | { kind: 'taken' }
  | { kind: 'archives'; archives: NamedArchive[] }
  | { kind: 'event'; event: Exclude<InventoryEvent, { kind: 'archive' }> }
  | { kind: 'done' }
  | { kind: 'error'; name: string; message: string; offset?: number };

/** Chunks sent ahead of the worker: enough to keep it busy, few enough to bound memory. */
const CHUNKS_AHEAD = 8;

/**
 * Reads an inventory (as readInventory does) and names its archives (as the transfer's namer does) on a worker
 * thread, while the caller writes what it yields: reading a vault of millions takes the time of the slower
 * thread, not the sum of both. The caller stopping early (or failing) ends the worker.
 */
export async function* readNamedInventory(source: ByteSource, naming: NamingConfig): AsyncGenerator<NamedInventoryEvent> {
  const worker = new Worker(new URL('./naming-worker.js', import.meta.url), { workerData: naming });
  const received: ToMain[] = [];
  let wake: (() => void) | undefined;
  let exited: Error | undefined;
  worker.on('message', (message: ToMain) => {
    received.push(message);
    wake?.();
  });
  worker.on('error', (e) => {
    exited = e;
    wake?.();
  });
  const next = async (): Promise<ToMain> => {
    while (received.length === 0) {
      if (exited) throw exited;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return received.shift()!;
  };
  let credit = CHUNKS_AHEAD;
  const input = byteChunks(source);
  let inputDone = false;
  try {
    for (;;) {
      // Feed the worker while it has room, then take what it has read.
      while (credit > 0 && !inputDone) {
        const chunk = await input.next();
        if (chunk.done) {
          inputDone = true;
          worker.postMessage({ kind: 'end' } satisfies ToWorker);
        } else {
          credit--;
          worker.postMessage({ kind: 'chunk', chunk: chunk.value } satisfies ToWorker);
        }
      }
      const message = await next();
      if (message.kind === 'taken') credit++;
      else if (message.kind === 'archives') yield message;
      else if (message.kind === 'event') yield message.event;
      else if (message.kind === 'done') return;
      else throw message.name === 'InventoryFormatError' ? new InventoryFormatError(message.message, message.offset) : new Error(message.message);
    }
  } finally {
    await input.return(undefined);
    await worker.terminate();
  }
}
