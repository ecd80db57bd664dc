/**
 * The worker thread of readNamedInventory: parses an inventory fed to it chunk by chunk and names each archive,
 * while the main thread writes the previous batches to the state. Its messages are described in named-reader.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createNamer, type NamingConfig } from '../naming/namer.js';
import { readInventory } from './index.js';
import type { InventoryFormatError } from './types.js';
import type { ToMain, ToWorker } from './named-reader.js';

/** Archives per message: large enough that a message costs little, small enough to keep both threads busy. */
const BATCH = 2000;

const port = parentPort!;
const post = (message: ToMain) => port.postMessage(message);

/** Chunks as they arrive; each one taken tells the main thread it may send another. */
async function* chunks(): AsyncGenerator<Uint8Array> {
  const queue: ToWorker[] = [];
  let wake: (() => void) | undefined;
  port.on('message', (message: ToWorker) => {
    queue.push(message);
    wake?.();
  });
  for (;;) {
    if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const message = queue.shift()!;
    if (message.kind === 'end') return;
    post({ kind: 'taken' });
    yield message.chunk;
  }
}

try {
  const namer = await createNamer(workerData as NamingConfig);
  let archives: Extract<ToMain, { kind: 'archives' }>['archives'] = [];
  for await (const event of readInventory(chunks())) {
    if (event.kind === 'archive') {
      archives.push({ ...event.archive, key: namer.keyOf(event.archive) });
      if (archives.length >= BATCH) {
        post({ kind: 'archives', archives });
        archives = [];
      }
      continue;
    }
    // Other events keep their place in the document: archives before them go first.
    if (archives.length > 0) post({ kind: 'archives', archives });
    archives = [];
    post({ kind: 'event', event });
  }
  if (archives.length > 0) post({ kind: 'archives', archives });
  post({ kind: 'done' });
} catch (e) {
  const error = e as Error;
  post({ kind: 'error', name: error.name, message: error.message, offset: (error as InventoryFormatError).offset });
}
