import { DescribeJobCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
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
