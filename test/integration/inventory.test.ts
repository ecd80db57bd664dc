import { existsSync } from 'node:fs';
import { DescribeJobCommand, InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, eventsOf, runCli } from '../helpers/cli.js';
import { expectCompleteCopy, mixedArchives, startCopyWorld, waitUntil, type CopyWorld } from '../helpers/copy-world.js';

/** Descriptions that CSV must quote: commas, double quotes (backslash-escaped in Glacier's CSV), backslashes. */
const CSV_HOSTILE = [
  { size: 3000, description: 'say "cheese", please.jpg' },
  { size: 10 * 1024 * 1024, description: 'C:\\Users\\ann\\My "Docs",old\\report.pdf' },
];

describe('where the vault inventory comes from', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'from-file', seed: 'inv-file', archives: [...mixedArchives(14, 'inv-file'), ...CSV_HOSTILE] },
        { name: 'by-job', seed: 'inv-job', archives: mixedArchives(10, 'inv-job') },
        { name: 'reuse', seed: 'inv-reuse', archives: mixedArchives(10, 'inv-reuse') },
        { name: 'damaged', seed: 'inv-damaged', archives: mixedArchives(30, 'inv-damaged') },
      ],
      buckets: ['json-inventory', 'csv-inventory', 'job-inventory', 'reused-inventory', 'after-damage'],
    });
  });
  afterAll(() => w?.stop());

  const inventoryJobs = (phase: string) => w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === phase && r.jobType === 'inventory-retrieval');

  for (const format of ['JSON', 'CSV'] as const) {
    it(`copies from a ${format} inventory given with --inventory, without asking Glacier for one`, async () => {
      const bucket = `${format.toLowerCase()}-inventory`;
      const state = w.path(`${format}.db`);
      const inventory = w.writeInventory('from-file', format);
      w.recorder.phase = `file-${format}`;
      const run = await runCli(w.start({ vault: 'from-file', bucket, state, extra: ['--inventory', inventory] }));
      expect(run.code, describeRun(run)).toBe(0);
      expectCompleteCopy(await w.audit({ statePath: state, vault: 'from-file', bucket }), 16);
      expect(inventoryJobs(`file-${format}`)).toEqual([]);
      // Quoted CSV fields came through whole: the names are those the descriptions give.
      const keys = [...w.keysOf(state).values()];
      expect(keys).toContain('say "cheese", please.jpg');
      expect(keys).toContain('C:/Users/ann/My "Docs",old/report.pdf');
    });
  }

  it('requests an inventory job when given no inventory, and copies what it lists', async () => {
    const state = w.path('job.db');
    w.recorder.phase = 'job';
    const run = await runCli(w.start({ vault: 'by-job', bucket: 'job-inventory', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'by-job', bucket: 'job-inventory' }), 10);
    expect(inventoryJobs('job')).toHaveLength(1);
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'job' && r.jobId !== undefined).length).toBeGreaterThan(0);
  });

  it("fetches Glacier's inventory again when its download arrives damaged, and copies every archive", async () => {
    // The first download (the inventory's) has a byte flipped a third of the way in, whatever field it hits.
    w.harness.sim.world.faults.configure('glacier.GetJobOutput:corrupt@1');
    const state = w.path('damaged.db');
    w.recorder.phase = 'damaged';
    const run = await runCli(w.start({ vault: 'damaged', bucket: 'after-damage', state }));
    w.harness.sim.world.faults.configure('');
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'damaged', bucket: 'after-damage' }), 30);
    const inventoryJob = [...w.vault('damaged').jobs.values()].find((j) => j.action === 'InventoryRetrieval')!;
    const downloads = w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'damaged' && r.jobId === inventoryJob.id);
    expect(downloads).toHaveLength(2);
    expect(eventsOf(run, 'warning').map((e) => e.message)).toContainEqual(expect.stringMatching(/reading inventory job .* failed .*fetching it again/));
    expect(eventsOf(run, 'inventory-bad-row')).toEqual([]);
  });

  it('reuses a recent inventory job that ListJobs shows instead of starting another', async () => {
    const glacier = w.harness.clients.glacier;
    const { jobId } = await glacier.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'reuse', jobParameters: { Type: 'inventory-retrieval', Format: 'CSV', Description: 'made by someone else' } }),
    );
    await waitUntil(
      async () => (await glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'reuse', jobId }))).StatusCode === 'Succeeded',
      'the earlier inventory job has completed',
    );

    const state = w.path('reuse.db');
    w.recorder.phase = 'reuse';
    const run = await runCli(w.start({ vault: 'reuse', bucket: 'reused-inventory', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'reuse', bucket: 'reused-inventory' }), 10);
    expect(inventoryJobs('reuse')).toEqual([]);
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'reuse' && r.jobId === jobId)).toHaveLength(1);
    expect(eventsOf(run, 'phase').map((e) => e.detail)).toContainEqual(expect.stringContaining(`reusing inventory job ${jobId}`));
  });
});

describe("what an inventory covers: Glacier's is a daily snapshot", () => {
  let w: CopyWorld;
  beforeAll(async () => {
    // A simulated day lasts over two real minutes: no daily inventory is taken while a test runs unless it takes one.
    w = await startCopyWorld({
      timeScale: 600,
      vaults: [
        { name: 'snapshot', seed: 'inv-snapshot', archives: mixedArchives(8, 'inv-snapshot') },
        { name: 'cut', seed: 'inv-cut', archives: mixedArchives(9, 'inv-cut') },
      ],
      buckets: ['snapshot-copy', 'cut-copy'],
    });
  });
  afterAll(() => w?.stop());

  it('copies the inventory it was given, says its date, and warns when the vault has since listed more archives', async () => {
    const glacier = w.harness.clients.glacier;
    // An inventory job completed before an archive was uploaded and Glacier's next daily inventory listed it.
    const { jobId } = await glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'snapshot', jobParameters: { Type: 'inventory-retrieval' } }));
    await waitUntil(
      async () => (await glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'snapshot', jobId }))).StatusCode === 'Succeeded',
      'the inventory job has completed',
    );
    const inventoryDate = w.vault('snapshot').inventory!.date;
    const late = await glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'snapshot', archiveDescription: 'late.txt', body: Buffer.from('uploaded late') }));
    w.harness.sim.world.glacier.store.takeInventory(w.vault('snapshot'));

    const state = w.path('snapshot.db');
    const run = await runCli(w.start({ vault: 'snapshot', bucket: 'snapshot-copy', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.jobId === jobId)).toHaveLength(1); // the earlier job, reused
    expect([...w.keysOf(state).keys()]).not.toContain(late.archiveId);
    expect(w.keysOf(state).size).toBe(8);
    const warning = /vault snapshot held 9 archives at its last inventory \(.*\), 1 more than the inventory copied lists/;
    expect(eventsOf(run, 'warning').map((e) => e.message)).toContainEqual(expect.stringMatching(warning));
    expect(run.summary).toContain(`the copy covers vault snapshot as of its inventory of ${inventoryDate}`);
    expect(run.summary).toMatch(warning);

    const status = await runCli(['status', '--state', state]);
    expect(status.stdout).toContain(`as of its inventory of ${inventoryDate}`);
    expect(status.stdout).toMatch(warning);
  });

  it('refuses an inventory file cut at a line end, which lists fewer archives than the vault holds, unless told to copy it', async () => {
    // The last two rows gone, the file still ends with a whole CSV line.
    const cut = w.writeInventory('cut', 'CSV', (t) => `${t.split('\r\n').slice(0, -3).join('\r\n')}\r\n`);
    const state = w.path('cut.db');
    const refused = await runCli(w.start({ vault: 'cut', bucket: 'cut-copy', state, extra: ['--inventory', cut] }));
    expect(refused.code, describeRun(refused)).toBe(2);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^glacier-copy: --inventory .*: lists 7 archives, but vault cut held 9 at its last inventory .*--allow-partial-inventory/),
    ]);
    expect(existsSync(state)).toBe(false);

    const allowed = await runCli(w.start({ vault: 'cut', bucket: 'cut-copy', state, extra: ['--inventory', cut, '--allow-partial-inventory'] }));
    expect(allowed.code, describeRun(allowed)).toBe(0);
    expect(w.keysOf(state).size).toBe(7);
    expect(allowed.summary).toMatch(/vault cut held 9 archives at its last inventory .*2 more than the inventory copied lists/);
  });
});
