import { existsSync } from 'node:fs';
import { DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { TransferState } from '../../src/state/db.js';
import { isTargetLockKey, targetLockKey } from '../../src/transfer/target-lock.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, eventsOf, resumeArgs, runCli, spawnCli } from '../helpers/cli.js';
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
        { name: 'shared', seed: 'shared', archives: mixedArchives(6, 'shared') },
      ],
      buckets: ['abandoned', 'copied-before', 'shared-target'],
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
    expect(w.recorder.of('s3', 'HeadObject', (r) => inAgain(r) && !isTargetLockKey(r.key ?? ''))).toHaveLength(COPIED.length - 1);
    expect(eventsOf(again, 'already-in-s3')).toEqual([expect.objectContaining({ archives: COPIED.length - 1 })]);
    expect(again.summary).toMatch(new RegExp(`${COPIED.length - 1} archives \\(.*\\) were already in S3`));
    const status = await runCli(['status', '--state', second, '--json']);
    expect(JSON.parse(status.stdout).alreadyInS3.archives).toBe(COPIED.length - 1);
  });

  const marker = async (bucket: string, key: string) => {
    try {
      const out = await w.harness.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return JSON.parse(await out.Body!.transformToString()) as { transferId: string; heartbeatAt: string };
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    }
  };
  const transferIdOf = (statePath: string) => {
    const state = TransferState.open(statePath, { readonly: true });
    try {
      return state.config().transferId;
    } finally {
      state.close();
    }
  };
  const lockKey = targetLockKey('live/', 'shared');

  it('refuses a second transfer of the same vault to the same bucket and prefix while the first runs, naming it', async () => {
    const first = w.path('shared-first.db');
    const inventory = w.writeInventory('shared', 'JSON');
    w.recorder.phase = 'shared-first';
    // The first transfer's downloads wait until the second has been refused.
    let release: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (release = resolve));
    w.recorder.beforeHandle = (r) => (r.phase === 'shared-first' && r.operation === 'GetJobOutput' ? refused : undefined);
    const running = spawnCli(w.start({ vault: 'shared', bucket: 'shared-target', state: first, extra: ['--prefix', 'live/', '--inventory', inventory] }));
    try {
      await running.waitForEvent((e) => e.type === 'job-initiated');
      expect((await marker('shared-target', lockKey))?.transferId).toBe(transferIdOf(first));
      const second = w.path('shared-second.db');
      const other = await runCli(w.start({ vault: 'shared', bucket: 'shared-target', state: second, extra: ['--prefix', 'live/', '--inventory', inventory] }));
      expect(other.code, describeRun(other)).toBe(2);
      expect(other.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(`vault shared is being copied to s3://shared-target/live/ by transfer ${transferIdOf(first)} on host .* since .*; if that run is dead, wait \\d+ minutes or pass --force-unlock`),
        ),
      ]);
      expect(existsSync(second)).toBe(false);
    } finally {
      release();
      w.recorder.beforeHandle = undefined;
    }
    const done = await running.done;
    expect(done.code, describeRun(done)).toBe(0);
    // The marker went with the run; what the audit sees under the prefix are the archives alone.
    expect(await marker('shared-target', lockKey)).toBeUndefined();
    expectCompleteCopy(await w.audit({ statePath: first, vault: 'shared', bucket: 'shared-target', prefix: 'live/' }), 6);
  });

  it("a transfer killed with SIGKILL takes its own marker over when resumed; another waits for it to go stale, or --force-unlock", async () => {
    const key = targetLockKey('killed/', 'shared');
    const inventory = w.writeInventory('shared', 'CSV');
    const state = w.path('shared-killed.db');
    const run = spawnCli(w.start({ vault: 'shared', bucket: 'shared-target', state, extra: ['--prefix', 'killed/', '--inventory', inventory] }));
    await run.waitForEvent((e) => e.type === 'job-initiated');
    await run.kill();
    const left = await marker('shared-target', key);
    expect(left?.transferId).toBe(transferIdOf(state));

    // Another transfer is refused while the dead run's marker is fresh…
    const other = await runCli(w.start({ vault: 'shared', bucket: 'shared-target', state: w.path('shared-other.db'), extra: ['--prefix', 'killed/', '--inventory', inventory] }));
    expect(other.code, describeRun(other)).toBe(2);
    expect(other.stderr).toMatch(/if that run is dead, wait \d+ minutes or pass --force-unlock/);
    // …while the killed transfer itself goes on at once.
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expect(await marker('shared-target', key)).toBeUndefined();

    // A marker last refreshed an hour ago belongs to a dead run: taken over (not removed: If-Match on its ETag).
    const stale = { transferId: 'deadbeef0000', vault: 'shared', host: 'gone', pid: 1, startedAt: '2020-01-01T00:00:00Z', heartbeatAt: new Date(Date.now() - 3600_000).toISOString() };
    // As the tool writes a marker: the holder in the body, and in the metadata it is read back from.
    const forge = (holder: typeof stale) =>
      w.harness.clients.s3.send(
        new PutObjectCommand({
          Bucket: 'shared-target',
          Key: key,
          Body: JSON.stringify(holder),
          Metadata: { 'transfer-id': holder.transferId, vault: holder.vault, host: holder.host, pid: String(holder.pid), 'started-at': holder.startedAt, 'heartbeat-at': holder.heartbeatAt },
        }),
      );
    await forge(stale);
    w.recorder.phase = 'stale';
    const taker = await runCli(w.start({ vault: 'shared', bucket: 'shared-target', state: w.path('shared-taker.db'), extra: ['--prefix', 'killed/', '--inventory', inventory] }));
    expect(taker.code, describeRun(taker)).toBe(0);
    expect(w.recorder.of('s3', 'PutObject', (r) => r.phase === 'stale' && r.key === key && r.status === 200)).toHaveLength(1);
    expect(await marker('shared-target', key)).toBeUndefined();

    // A fresh marker of a run the user knows is dead: refused, unless --force-unlock.
    await forge({ ...stale, heartbeatAt: new Date().toISOString() });
    const refused = await runCli(w.start({ vault: 'shared', bucket: 'shared-target', state: w.path('shared-refused.db'), extra: ['--prefix', 'killed/', '--inventory', inventory] }));
    expect(refused.code, describeRun(refused)).toBe(2);
    expect(refused.stderr).toContain('by transfer deadbeef0000 on host gone (pid 1)');
    const forced = await runCli(w.start({ vault: 'shared', bucket: 'shared-target', state: w.path('shared-forced.db'), extra: ['--prefix', 'killed/', '--inventory', inventory, '--force-unlock'] }));
    expect(forced.code, describeRun(forced)).toBe(0);
    expect(await marker('shared-target', key)).toBeUndefined();
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
    expect((await marker('abandoned', targetLockKey('', 'large')))?.transferId).toBe(transferIdOf(state));
    const open = (await openUploads('abandoned')).length;
    expect(open).toBeGreaterThan(0);

    const cleanup = await runCli(['cleanup', '--state', state]);
    expect(cleanup.code, describeRun(cleanup)).toBe(0);
    expect(cleanup.stdout).toMatch(new RegExp(`aborted ${open} multipart uploads`));
    expect(await openUploads('abandoned')).toEqual([]);
    expect(await marker('abandoned', targetLockKey('', 'large'))).toBeUndefined();
  });
});
