import { DeleteObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, eventsOf, runCli, spawnCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** Mixed sizes, and three archives that want the same name (two are given suffixed keys). */
const COPIED = [...mixedArchives(12, 'copied'), ...[0, 1, 2].map((i) => ({ size: 1000 + i, description: 'same/name.txt' }))];

/** Three archives of 30 MiB: four 8 MiB parts each. */
const LARGE = [0, 1, 2].map((i) => ({ size: 30 * MIB + i, description: `large/${i}.bin` }));

describe('never pay twice', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'large', seed: 'large', archives: LARGE },
        { name: 'copied', seed: 'copied', archives: COPIED },
      ],
      buckets: ['abandoned', 'copied-before'],
    });
  });
  afterAll(() => w?.stop());

  const openUploads = async (bucket: string) => (await w.harness.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  it('a new start over verified copies retrieves none of them again, and says they were already in S3', async () => {
    const inventory = w.writeInventory('copied', 'JSON');
    const first = w.path('copied-first.db');
    const done = await runCli(w.start({ vault: 'copied', bucket: 'copied-before', state: first, extra: ['--inventory', inventory, '--prefix', 'p/'] }));
    expect(done.code, describeRun(done)).toBe(0);
    const keys = w.keysOf(first);
    // One copy is gone since: that archive alone is retrieved and written again.
    const gone = w.archives('copied').find((a) => a.size > 0)!;
    await w.harness.clients.s3.send(new DeleteObjectCommand({ Bucket: 'copied-before', Key: keys.get(gone.id)! }));

    const second = w.path('copied-second.db');
    w.recorder.phase = 'copied-again';
    const again = await runCli(w.start({ vault: 'copied', bucket: 'copied-before', state: second, extra: ['--inventory', inventory, '--prefix', 'p/'] }));
    expect(again.code, describeRun(again)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: second, vault: 'copied', bucket: 'copied-before', prefix: 'p/' }), COPIED.length);
    expect(w.keysOf(second)).toEqual(keys);
    const inAgain = (r: { phase: string }) => r.phase === 'copied-again';
    expect(w.recorder.of('glacier', 'InitiateJob', inAgain).map((r) => r.archiveId)).toEqual([gone.id]);
    expect([...w.recorder.objectWrites(inAgain).keys()]).toEqual([keys.get(gone.id)]);
    // Only the listed keys whose size matches are looked at one by one.
    expect(w.recorder.of('s3', 'HeadObject', inAgain)).toHaveLength(COPIED.length - 1);
    expect(eventsOf(again, 'already-in-s3')).toEqual([expect.objectContaining({ archives: COPIED.length - 1 })]);
    expect(again.summary).toMatch(new RegExp(`${COPIED.length - 1} archives \\(.*\\) were already in S3`));
    const status = await runCli(['status', '--state', second, '--json']);
    expect(JSON.parse(status.stdout).alreadyInS3.archives).toBe(COPIED.length - 1);
  });

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
