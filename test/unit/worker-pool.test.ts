import { EventEmitter } from 'node:events';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// V8's flags and the threads are stood in for: what is checked is when the pool sets the heap setting.
const v8Flags: string[] = [];
const started: FakeWorker[] = [];

class FakeWorker extends EventEmitter {
  constructor() {
    super();
    started.push(this);
  }
  ref() {}
  unref() {}
  postMessage() {}
  async terminate() {
    return 0;
  }
}

vi.mock('node:v8', async (original) => ({ ...(await original<typeof import('node:v8')>()), setFlagsFromString: (flag: string) => v8Flags.push(flag) }));
vi.mock('node:worker_threads', async (original) => ({ ...(await original<typeof import('node:worker_threads')>()), Worker: FakeWorker }));

const { WorkerPool, WORKER_HEAP_FLAG } = await import('../../src/transfer/worker-pool.js');
const DEFAULT = '--initial-old-space-size=0';
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the stream workers’ heap setting', () => {
  beforeEach(() => {
    v8Flags.length = 0;
    started.length = 0;
  });

  it('is set while stream workers start, and back to V8’s default once all of them are ready', async () => {
    const pool = new WorkerPool({ workers: 2, clients: { region: 'us-east-1' } });
    expect(v8Flags).toEqual([WORKER_HEAP_FLAG]);
    started[0]!.emit('message', { ready: true });
    await settle();
    expect(v8Flags).toEqual([WORKER_HEAP_FLAG]); // the second worker's isolate may not exist yet
    started[1]!.emit('message', { ready: true });
    await pool.ready();
    expect(v8Flags).toEqual([WORKER_HEAP_FLAG, DEFAULT]); // e.g. the inventory's naming worker, started next
    await pool.close();
  });

  it('is set again for a worker started in place of one that died, and reset after a worker that never started', async () => {
    const pool = new WorkerPool({ workers: 1, clients: { region: 'us-east-1' } });
    started[0]!.emit('message', { ready: true });
    await pool.ready();
    started[0]!.emit('exit', 1); // a worker dies mid-run: another takes its place
    expect(v8Flags).toEqual([WORKER_HEAP_FLAG, DEFAULT, WORKER_HEAP_FLAG]);
    started[1]!.emit('exit', 1); // which fails as it starts (and is replaced in turn)
    await settle();
    expect(started).toHaveLength(3);
    expect(v8Flags).toEqual([WORKER_HEAP_FLAG, DEFAULT, WORKER_HEAP_FLAG]); // still set for the third
    started[2]!.emit('message', { ready: true });
    await settle();
    expect(v8Flags.at(-1)).toBe(DEFAULT);
    await pool.close();
  });
});
