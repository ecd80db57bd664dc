import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runCli, spawnCli } from '../helpers/cli.js';
import { MIB, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** Three archives of 30 MiB: four 8 MiB parts each. */
const LARGE = [0, 1, 2].map((i) => ({ size: 30 * MIB + i, description: `large/${i}.bin` }));

describe('never pay twice', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [{ name: 'large', seed: 'large', archives: LARGE }],
      buckets: ['abandoned'],
    });
  });
  afterAll(() => w?.stop());

  const openUploads = async (bucket: string) => (await w.harness.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  it('cleanup aborts the multipart uploads of a transfer that will not be resumed (AWS bills their parts)', async () => {
    const state = w.path('abandoned.db');
    w.recorder.phase = 'abandoned';
    const run = spawnCli(w.start({ vault: 'large', bucket: 'abandoned', state, extra: ['--concurrency', '1'] }));
    // Killed as the second part reaches S3: with one stream, the first is stored (and recorded) by then.
    let kill: Promise<unknown> | undefined;
    w.recorder.onRequest = (r) => {
      if (r.phase === 'abandoned' && r.operation === 'UploadPart' && w.recorder.of('s3', 'UploadPart', (u) => u.phase === 'abandoned').length === 2) kill = run.kill();
    };
    const killed = await run.done;
    w.recorder.onRequest = undefined;
    await kill;
    expect(killed.signal, describeRun(killed)).toBe('SIGKILL');
    const open = (await openUploads('abandoned')).length;
    expect(open).toBeGreaterThan(0);

    const cleanup = await runCli(['cleanup', '--state', state]);
    expect(cleanup.code, describeRun(cleanup)).toBe(0);
    expect(cleanup.stdout).toMatch(new RegExp(`aborted ${open} multipart uploads`));
    expect(await openUploads('abandoned')).toEqual([]);
  });
});
