import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferState } from '../../src/state/db.js';
import { describeRun, resumeArgs, runCli, spawnCli, type CliEvent } from '../helpers/cli.js';
import { FAST_JOBS, MIB, expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** What the state file held when the process died: the work that must not be done again. */
interface StateAtKill {
  inventoryJobId?: string;
  archives: number;
  verified: Set<string>;
  keys: Map<string, string>;
  /** archive id → its recorded multipart upload */
  uploads: Map<string, string>;
  /** archive id → part numbers recorded as uploaded */
  parts: Map<string, Set<number>>;
}

function stateAtKill(path: string): StateAtKill {
  const state = TransferState.open(path, { readonly: true });
  try {
    const snapshot: StateAtKill = {
      inventoryJobId: state.transferInfo().inventoryJobId,
      archives: 0,
      verified: new Set(),
      keys: new Map(),
      uploads: new Map(),
      parts: new Map(),
    };
    for (const a of state.iterateArchivesSnapshot()) {
      snapshot.archives++;
      if (a.key !== null) snapshot.keys.set(a.archive_id, a.key);
      if (a.status === 'verified') snapshot.verified.add(a.archive_id);
      if (a.upload_id !== null) snapshot.uploads.set(a.archive_id, a.upload_id);
      const parts = state.parts(a.seq).map((p) => p.part_number);
      if (parts.length > 0) snapshot.parts.set(a.archive_id, new Set(parts));
    }
    return snapshot;
  } finally {
    state.close();
  }
}

const isVerified = (e: CliEvent) => e.type === 'archive-verified';

describe('resume after the process is killed with SIGKILL', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      // The inventory job takes a second of wall time, so that the first kill lands while it runs.
      jobDelaySeconds: { ...FAST_JOBS, Inventory: 3600 },
      vaults: [
        { name: 'killed-in-inventory', seed: 'k-inv', archives: mixedArchives(10, 'k-inv') },
        { name: 'killed-after-some', seed: 'k-some', archives: mixedArchives(20, 'k-some') },
        {
          name: 'killed-mid-parts',
          seed: 'k-parts',
          // Eight or nine 8 MiB parts each: more than the four streams, so that when the 7th part is sent the first
          // archive (whichever it is) has three parts done and cannot be complete yet.
          archives: [60, 70, 66, 57, 68, 64].map((mib, i) => ({ size: mib * MIB + i * 4099, description: `big/${i}.bin` })),
        },
      ],
      buckets: ['after-inventory-kill', 'after-verified-kill', 'after-parts-kill'],
    });
  });
  afterAll(() => w?.stop());

  /**
   * Checks, from the requests the simulator saw, that the resumed run repeated nothing the killed run had
   * recorded: no verified archive retrieved or written again, no recorded part uploaded again, no upload
   * replaced, and no key written twice (a write S3 carried out but the dead process never recorded is the one
   * thing that is legitimately redone).
   */
  function expectNothingRecordedWasRedone(killed: StateAtKill, bucket: string, startPhase: string, resumePhase: string) {
    const inResume = (r: { phase: string; bucket?: string }) => r.phase === resumePhase && r.bucket === bucket;
    const archiveOfKey = new Map([...killed.keys].map(([id, key]) => [key, id]));
    for (const id of killed.verified) {
      const key = killed.keys.get(id)!;
      const touched = w.recorder.requests.filter(
        (r) => (inResume(r) && r.key === key && r.operation !== 'HeadObject') || (r.phase === resumePhase && r.operation === 'InitiateJob' && r.archiveId === id),
      );
      expect(touched.map((r) => `${r.operation} ${r.key ?? r.archiveId}`), `verified before the kill: ${key}`).toEqual([]);
    }
    for (const [id, parts] of killed.parts) {
      const key = killed.keys.get(id)!;
      const again = w.recorder.of('s3', 'UploadPart', (r) => inResume(r) && r.key === key && parts.has(r.partNumber!));
      expect(again.map((r) => r.partNumber), `parts of ${key} recorded before the kill`).toEqual([]);
    }
    for (const [id, uploadId] of killed.uploads) {
      if (killed.verified.has(id)) continue;
      const key = killed.keys.get(id)!;
      expect(w.recorder.of('s3', 'CreateMultipartUpload', (r) => inResume(r) && r.key === key), `a new upload for ${key}`).toEqual([]);
      const completes = w.recorder.of('s3', 'CompleteMultipartUpload', (r) => inResume(r) && r.key === key);
      for (const c of completes) expect(c.uploadId, `upload completed for ${key}`).toBe(uploadId);
    }
    const resumed = w.recorder.objectWrites((r) => r.phase === resumePhase && r.bucket === bucket);
    expect([...resumed].filter(([, n]) => n > 1), 'keys written more than once by the resumed run').toEqual([]);
    const before = w.recorder.objectWrites((r) => r.phase === startPhase && r.bucket === bucket);
    for (const [key, n] of resumed) {
      if (!before.has(key)) continue;
      // Written by the killed run and again now: only allowed if the killed run died before recording it.
      expect(killed.verified.has(archiveOfKey.get(key)!), `written again although recorded as verified: ${key}`).toBe(false);
      expect(n).toBe(1);
    }
  }

  it('finishes a transfer killed while waiting for the inventory job, without requesting a second inventory', async () => {
    const state = w.path('inventory-kill.db');
    w.recorder.phase = 'inv-start';
    const run = spawnCli(w.start({ vault: 'killed-in-inventory', bucket: 'after-inventory-kill', state }));
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'inventory' && /requested inventory job/.test(String(e.detail)));
    const killed = await run.kill();
    expect(killed.signal).toBe('SIGKILL');
    // Killed mid-wait: Glacier is still working on the job, and the state knows which job it is.
    const jobs = [...w.vault('killed-in-inventory').jobs.values()].filter((j) => j.action === 'InventoryRetrieval');
    expect(jobs.map((j) => j.status)).toEqual(['InProgress']);
    const atKill = stateAtKill(state);
    expect(atKill.inventoryJobId).toBe(jobs[0]!.id);
    expect(atKill.archives).toBe(0);

    w.recorder.phase = 'inv-resume';
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'killed-in-inventory', bucket: 'after-inventory-kill' }), 10);
    expect(w.recorder.of('glacier', 'InitiateJob', (r) => r.vault === 'killed-in-inventory' && r.jobType === 'inventory-retrieval')).toHaveLength(1);
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'inv-resume' && r.jobId === jobs[0]!.id)).toHaveLength(1);
    expect(w.recorder.objectWrites((r) => r.bucket === 'after-inventory-kill').size).toBe(10);
    expect([...w.recorder.objectWrites((r) => r.bucket === 'after-inventory-kill').values()].every((n) => n === 1)).toBe(true);
  });

  it('finishes a transfer killed after some archives were verified, copying none of them again', async () => {
    const state = w.path('verified-kill.db');
    const inventory = w.writeInventory('killed-after-some', 'JSON');
    w.recorder.phase = 'some-start';
    const run = spawnCli(w.start({ vault: 'killed-after-some', bucket: 'after-verified-kill', state, extra: ['--inventory', inventory] }));
    await run.waitForEvent(isVerified, 5);
    const killed = await run.kill();
    expect(killed.signal).toBe('SIGKILL');
    const atKill = stateAtKill(state);
    expect(atKill.verified.size).toBeGreaterThanOrEqual(5);
    expect(atKill.verified.size).toBeLessThan(20);

    w.recorder.phase = 'some-resume';
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'killed-after-some', bucket: 'after-verified-kill' }), 20);
    expectNothingRecordedWasRedone(atKill, 'after-verified-kill', 'some-start', 'some-resume');
    // The resumed run reports only what it copied itself.
    const verifiedAgain = resumed.events.filter(isVerified).map((e) => e.archiveId as string);
    expect(verifiedAgain.filter((id) => atKill.verified.has(id))).toEqual([]);

    // Resumed once more after the end: nothing to do, and nothing created for it (no topic, no queue).
    w.recorder.phase = 'some-again';
    const again = await runCli(resumeArgs(state));
    expect(again.code, describeRun(again)).toBe(0);
    expect(again.summary).toMatch(/20\/20 archives verified/);
    const calls = w.recorder.requests.filter((r) => r.phase === 'some-again').map((r) => `${r.service}:${r.operation}`);
    expect([...new Set(calls)].sort()).toEqual(['glacier:DescribeVault', 's3:HeadBucket']);
  });

  it('finishes a transfer killed while parts were being uploaded, reusing its multipart uploads and recorded parts', async () => {
    const state = w.path('parts-kill.db');
    const inventory = w.writeInventory('killed-mid-parts', 'CSV');
    w.recorder.phase = 'parts-start';
    const run = spawnCli(w.start({ vault: 'killed-mid-parts', bucket: 'after-parts-kill', state, extra: ['--inventory', inventory, '--concurrency', '4'] }));
    // Kill as the 7th part upload reaches S3: some parts are done and recorded, others on the wire.
    let kill: Promise<unknown> | undefined;
    w.recorder.onRequest = (r) => {
      if (r.phase === 'parts-start' && r.operation === 'UploadPart' && w.recorder.of('s3', 'UploadPart', (u) => u.phase === 'parts-start').length === 7) {
        kill = run.kill();
      }
    };
    const killed = await run.done;
    w.recorder.onRequest = undefined;
    await kill;
    expect(killed.signal, describeRun(killed)).toBe('SIGKILL');
    const atKill = stateAtKill(state);
    expect(atKill.verified.size).toBeLessThan(6);
    expect(atKill.uploads.size).toBeGreaterThan(0);
    expect([...atKill.parts.values()].reduce((n, p) => n + p.size, 0)).toBeGreaterThanOrEqual(3);
    const open = await w.harness.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: 'after-parts-kill' }));
    expect(open.Uploads?.length ?? 0).toBeGreaterThan(0);

    w.recorder.phase = 'parts-resume';
    const resumed = await runCli(resumeArgs(state, ['--concurrency', '4']));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'killed-mid-parts', bucket: 'after-parts-kill' }), 6);
    expectNothingRecordedWasRedone(atKill, 'after-parts-kill', 'parts-start', 'parts-resume');
  });
});
