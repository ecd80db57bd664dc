import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DescribeJobCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import type { GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { describeRun, eventsOf, runCli, type CliResult } from '../helpers/cli.js';
import { FAST_JOBS, MIB, countBy, expectCompleteCopy, mixedArchives, startCopyWorld, waitUntil, type CopyWorld } from '../helpers/copy-world.js';

/** Archives that all need a retrieval job: single PutObject (buffered and streamed) and multipart alike. */
const RETRIEVED: GeneratedArchiveSpec[] = [1024, 2 * MIB, 9 * MIB, 20 * MIB + 17, 3000, 5 * MIB].map((size, i) => ({ size, description: `retrieved/${i}.bin` }));

describe('AWS behaviours the tool survives', () => {
  let w: CopyWorld;
  const vaults = ['lost', 'failing', 'doomed', 'capacity', 'raced', 'policy', 'partial'];
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        ...vaults.filter((v) => v !== 'doomed' && v !== 'partial').map((name) => ({ name, seed: name, archives: RETRIEVED })),
        // One archive to retrieve, and empty ones that need no retrieval.
        { name: 'doomed', seed: 'doomed', archives: [{ size: 5000, description: 'doomed.bin' }, { size: 0, description: 'empty-1' }, { size: 0, description: 'empty-2' }] },
        { name: 'partial', seed: 'partial', archives: mixedArchives(10, 'partial') },
      ],
      buckets: vaults,
    });
  });
  afterEach(() => w.harness.sim.world.faults.configure(''));
  afterAll(() => w?.stop());

  const injected = (key: string) => w.harness.sim.world.faults.injected.get(key) ?? 0;
  /** InitiateJob calls per archive of one run (a lost answer's call counts: Glacier started its job). */
  const initiatedPerArchive = (phase: string) => countBy(w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === phase && r.jobType === 'archive-retrieval'), (r) => r.archiveId!);
  const copy = async (vault: string, extra: string[] = []): Promise<CliResult> => {
    w.recorder.phase = vault;
    return runCli(w.start({ vault, bucket: vault, state: w.path(`${vault}.db`), extra: ['--inventory', w.writeInventory(vault, 'JSON'), ...extra] }));
  };
  const expectCopied = async (run: CliResult, vault: string) => {
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: w.path(`${vault}.db`), vault, bucket: vault }), w.archives(vault).length);
  };

  it('copies every archive exactly once when answers are lost: InitiateJob (settled from the job list), PutObject, UploadPart, CompleteMultipartUpload (adopted)', async () => {
    const spec = 'glacier.InitiateJob:lose@1+3;s3.PutObject:lose@1+2;s3.UploadPart:lose@2;s3.CompleteMultipartUpload:lose@1';
    w.harness.sim.world.faults.configure(spec);
    const run = await copy('lost');
    await expectCopied(run, 'lost');
    for (const key of ['glacier.InitiateJob:lose', 's3.PutObject:lose', 's3.UploadPart:lose', 's3.CompleteMultipartUpload:lose']) expect(injected(key), key).toBeGreaterThan(0);
    // No retrieval paid twice: each archive's job was started once, and none was requested again.
    expect([...initiatedPerArchive('lost').values()]).toEqual(RETRIEVED.map(() => 1));
    expect(eventsOf(run, 'job-renewed')).toEqual([]);
  });

  it("requests an archive again when its retrieval job fails, counting it as a re-request, and copies it", async () => {
    w.harness.sim.world.faults.configure('glacier.InitiateJob:fail@1+2');
    const run = await copy('failing');
    await expectCopied(run, 'failing');
    const renewed = eventsOf(run, 'job-renewed');
    expect(renewed).toHaveLength(2);
    for (const e of renewed) expect(e.reason).toMatch(/retrieval job .* failed: .*simulated failure/);
    const perArchive = initiatedPerArchive('failing');
    expect([...perArchive.values()].sort()).toEqual([1, 1, 1, 1, 2, 2]);
    expect(run.summary).toMatch(/8 Glacier retrievals, 2 of them re-requests/);
  });

  it('backs off and retries Expedited retrievals refused for lack of capacity, saying once that Bulk and Standard are not affected', async () => {
    w.harness.sim.world.faults.configure('glacier.InitiateJob:capacity@1+2+3+5');
    const run = await copy('capacity', ['--tier', 'Expedited']);
    await expectCopied(run, 'capacity');
    expect(injected('glacier.InitiateJob:capacity')).toBeGreaterThanOrEqual(4);
    const told = eventsOf(run, 'warning').filter((e) => /Expedited/.test(e.message as string));
    expect(told).toHaveLength(1);
    expect(told[0]!.message).toMatch(/Bulk and Standard retrievals are not affected/);
    expect(eventsOf(run, 'archive-failed')).toEqual([]);
    expect(eventsOf(run, 'job-renewed')).toEqual([]);
  });

  it('sends a conditional write again after 409 ConditionalRequestConflict, within the archive’s copy, and fails nothing', async () => {
    // The first PutObject is the transfer's marker on the target (which looks again after a 409 itself).
    w.harness.sim.world.faults.configure('s3.PutObject:conflict@2+3;s3.CompleteMultipartUpload:conflict@1');
    const run = await copy('raced');
    await expectCopied(run, 'raced');
    expect(injected('s3.PutObject:conflict') + injected('s3.CompleteMultipartUpload:conflict')).toBe(3);
    const retries = eventsOf(run, 'part-retry').filter((e) => /ConditionalRequestConflict/.test(e.reason as string));
    expect(retries).toHaveLength(3);
    // Retried at once, not set aside as a failed copy.
    expect(eventsOf(run, 'warning').filter((e) => /ConditionalRequestConflict/.test(e.message as string))).toEqual([]);
    expect(eventsOf(run, 'job-renewed')).toEqual([]);
  });

  it('is not held back by a data retrieval policy when retrieving Bulk: a policy limits Standard retrievals only', async () => {
    w.harness.sim.world.faults.configure('glacier.InitiateJob:policy=1');
    const run = await copy('policy', ['--tier', 'Bulk']);
    await expectCopied(run, 'policy');
    expect(eventsOf(run, 'throttled')).toEqual([]);
  });

  it('does not reuse an inventory job that lists a part of the vault (Limit), and copies every archive', async () => {
    const glacier = w.harness.clients.glacier;
    const { jobId } = await glacier.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'partial', jobParameters: { Type: 'inventory-retrieval', InventoryRetrievalParameters: { Limit: '3' } } }),
    );
    await waitUntil(async () => (await glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'partial', jobId }))).StatusCode === 'Succeeded', 'the partial inventory job has completed');
    w.recorder.phase = 'partial';
    const state = w.path('partial.db');
    const run = await runCli(w.start({ vault: 'partial', bucket: 'partial', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'partial', bucket: 'partial' }), 10);
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'partial' && r.jobId === jobId)).toEqual([]);
    expect(w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'partial' && r.jobType === 'inventory-retrieval')).toHaveLength(1);
  });

  // Last: a run that ends with a retryable failure keeps its topic and queue for `resume`.
  it('fails, with Glacier’s message, an archive whose retrieval jobs keep failing, and copies the others', async () => {
    w.harness.sim.world.faults.configure('glacier.InitiateJob:fail=1');
    const run = await copy('doomed');
    expect(run.code, describeRun(run)).toBe(1);
    const failed = eventsOf(run, 'archive-failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toMatch(/retrieval job .* failed: .*simulated failure/);
    expect(run.summary).toMatch(/simulated failure/);
    // Requested again up to a bound, not for ever.
    const requests = initiatedPerArchive('doomed').get(failed[0]!.archiveId as string)!;
    expect(requests).toBeGreaterThan(1);
    expect(requests).toBe(eventsOf(run, 'job-renewed').length + 1);
    expect(eventsOf(run, 'archive-verified')).toHaveLength(2);
  });
});

describe('a job notice that comes before its InitiateJob answer', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    // Jobs complete the moment they start, so their notices race the InitiateJob answers.
    w = await startCopyWorld({ vaults: [{ name: 'eager', seed: 'eager', archives: RETRIEVED }], buckets: ['eager'], jobDelaySeconds: { ...FAST_JOBS, Bulk: 0 } });
  });
  afterAll(() => w?.stop());

  it('is kept and applied: a job whose answer was lost is adopted from its notice, without waiting for a poll or paying again', async () => {
    w.harness.sim.world.faults.configure('glacier.InitiateJob:lose@1+2+4');
    const state = w.path('eager.db');
    w.recorder.phase = 'eager';
    // Polls are 15 minutes apart (the default): only the notices can tell of these jobs in time.
    const run = await runCli(
      w.start({ vault: 'eager', bucket: 'eager', state, extra: ['--inventory', w.writeInventory('eager', 'JSON'), '--poll-interval', '15m'] }),
      { timeoutMs: 150_000 },
    );
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'eager', bucket: 'eager' }), RETRIEVED.length);
    expect(w.harness.sim.world.faults.injected.get('glacier.InitiateJob:lose')).toBe(3);
    const ready = eventsOf(run, 'job-ready');
    expect(ready).toHaveLength(RETRIEVED.length);
    expect(ready.filter((e) => e.via !== 'notification')).toEqual([]);
    expect(eventsOf(run, 'job-renewed')).toEqual([]);
    const perArchive = countBy(w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'eager'), (r) => r.archiveId!);
    expect([...perArchive.values()]).toEqual(RETRIEVED.map(() => 1));
  }, 180_000);
});
