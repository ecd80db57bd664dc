/** A worker thread of the stream pool (worker-pool.ts): copies the parts and archives it is handed. */
import { parentPort, workerData } from 'node:worker_threads';
import { createAwsClients, type AwsClientOptions } from '../aws/clients.js';
import { threadDataPlane } from './data-plane.js';
import { toTransferable, type StreamTask, type ToMain, type ToWorker } from './worker-pool.js';

/** Progress is sent in steps of this many bytes, not per socket read. */
const PROGRESS_STEP = 8 * 1024 * 1024;

const port = parentPort!;
const post = (m: ToMain) => port.postMessage(m);
const clients = createAwsClients({ ...(workerData as AwsClientOptions), onRequest: (service, operation) => post({ request: [service, operation] }) });
const plane = threadDataPlane(clients);
const running = new Map<number, AbortController>();
post({ ready: true });

function perform(task: StreamTask, signal: AbortSignal, onBytes: (n: number) => void): Promise<unknown> {
  if (task.kind === 'part') return plane.copyPart(task.source, task.target, task.ranges, { signal, onBytes });
  return plane.putStreamed(task.source, task.put, task.inventoryTreeHash, { signal, onBytes });
}

port.on('message', (m: ToWorker) => {
  if ('abort' in m) return running.get(m.id)?.abort(new Error('stream given up'));
  const { id } = m;
  const controller = new AbortController();
  running.set(id, controller);
  let unsent = 0;
  const flush = () => {
    if (unsent > 0) post({ id, bytes: unsent });
    unsent = 0;
  };
  const onBytes = (n: number) => {
    unsent += n;
    if (unsent >= PROGRESS_STEP) flush();
  };
  perform(m.task, controller.signal, onBytes).then(
    (result) => {
      flush();
      post({ id, result });
    },
    (e: unknown) => {
      flush();
      post({ id, error: toTransferable(e) });
    },
  ).finally(() => running.delete(id));
});
