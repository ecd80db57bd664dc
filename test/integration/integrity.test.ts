import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { describeRun, eventsOf, runCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

const ARCHIVES: GeneratedArchiveSpec[] = [5000, 3 * MIB, 17 * MIB + 3, 8 * MIB, 25 * MIB, 70_000, 12 * MIB + 1].map((size, i) => ({
  size,
  description: `checked/${i}.bin`,
}));
const ranges = (size: number) => Math.max(1, Math.ceil(size / (8 * MIB)));

describe('bytes that are not what Glacier or the inventory says', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'flaky', seed: 'flaky', archives: ARCHIVES },
        { name: 'mislisted', seed: 'mislisted', archives: ARCHIVES },
      ],
      buckets: ['after-corruption', 'after-mismatch'],
    });
  });
  afterEach(() => w.harness.sim.world.faults.configure(''));
  afterAll(() => w?.stop());

  it('detects a corrupted download by its tree hash, fetches it again, and stores the right bytes', async () => {
    w.harness.sim.world.faults.configure('glacier.GetJobOutput:corrupt@1+3+6+10');
    const before = w.harness.sim.world.faults.injected.get('glacier.GetJobOutput:corrupt') ?? 0;
    const state = w.path('corrupt.db');
    w.recorder.phase = 'corrupt';
    const run = await runCli(w.start({ vault: 'flaky', bucket: 'after-corruption', state, extra: ['--inventory', w.writeInventory('flaky', 'JSON')] }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'flaky', bucket: 'after-corruption' }), ARCHIVES.length);

    expect((w.harness.sim.world.faults.injected.get('glacier.GetJobOutput:corrupt') ?? 0) - before).toBe(4);
    const retries = eventsOf(run, 'part-retry');
    expect(retries).toHaveLength(4);
    for (const r of retries) expect(r.reason).toMatch(/tree hash/);
    // Each corrupted range was downloaded once more; nothing failed.
    const downloads = w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'corrupt' && r.status === 206);
    expect(downloads).toHaveLength(ARCHIVES.reduce((n, a) => n + ranges(a.size), 0) + 4);
    expect(eventsOf(run, 'archive-failed')).toEqual([]);
  });

  it('fails an archive whose bytes do not match the inventory tree hash, writes no object for it, and copies the rest', async () => {
    const source = w.archives('mislisted');
    const wrong = [source.find((a) => a.size === 25 * MIB)!, source.find((a) => a.size === 70_000)!];
    const inventory = w.writeInventory('mislisted', 'JSON', (text) => {
      let edited = text;
      for (const a of wrong) edited = edited.replace(a.treeHash, a.treeHash.replace(/^./, (c) => (c === '0' ? '1' : '0')));
      return edited;
    });
    const state = w.path('mismatch.db');
    w.recorder.phase = 'mismatch';
    const run = await runCli(w.start({ vault: 'mislisted', bucket: 'after-mismatch', state, extra: ['--inventory', inventory] }));
    expect(run.code, describeRun(run)).toBe(1);

    const keys = w.keysOf(state);
    const failed = eventsOf(run, 'archive-failed');
    expect(failed.map((e) => e.archiveId).sort()).toEqual(wrong.map((a) => a.id).sort());
    for (const e of failed) expect(e.reason).toMatch(/tree hash .* the inventory says/);
    for (const a of wrong) {
      expect(run.summary).toContain(keys.get(a.id)!);
      await expect(w.harness.clients.s3.send(new HeadObjectCommand({ Bucket: 'after-mismatch', Key: keys.get(a.id)! }))).rejects.toMatchObject({
        name: 'NotFound',
      });
    }
    const uploads = await w.harness.clients.s3.send(new ListMultipartUploadsCommand({ Bucket: 'after-mismatch' }));
    expect(uploads.Uploads ?? []).toEqual([]);

    const audit = await w.audit({ statePath: state, vault: 'mislisted', bucket: 'after-mismatch' });
    expect(audit.missing.sort()).toEqual(wrong.map((a) => keys.get(a.id)!).sort());
    expect({ corrupt: audit.corrupt, extra: audit.extra, openUploads: audit.openUploads, topics: audit.leftoverTopics, queues: audit.leftoverQueues }).toEqual({
      corrupt: [],
      extra: [],
      openUploads: 0,
      topics: [],
      queues: [],
    });
    expect(audit.verified).toBe(ARCHIVES.length - 2);

    const status = await runCli(['status', '--state', state, '--json']);
    const report = status.events[0] as unknown as { stages: { failed: { archives: number } }; failures: { archiveId: string; reason: string }[] };
    expect(report.stages.failed.archives).toBe(2);
    expect(report.failures.map((f) => f.archiveId).sort()).toEqual(wrong.map((a) => a.id).sort());
  });
});

