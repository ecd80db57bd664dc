import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { describeRun, eventsOf, runCli, spawnCli } from '../helpers/cli.js';
import { MIB, countBy, expectCompleteCopy, mixedArchives, startCopyWorld, waitUntil, type CopyWorld } from '../helpers/copy-world.js';

/** Archives that all need a retrieval job (none empty), single-PUT and multipart alike. */
const RETRIEVED: GeneratedArchiveSpec[] = [1024, 2 * MIB, 9 * MIB, 20 * MIB + 17, 3000, 5 * MIB, 12 * MIB, 100].map((size, i) => ({
  size,
  description: `retrieved/${i}.bin`,
}));

describe('retrieval jobs and their notifications', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'expiring', seed: 'expiring', archives: RETRIEVED },
        { name: 'quiet', seed: 'quiet', archives: mixedArchives(10, 'quiet') },
        { name: 'chatty', seed: 'chatty', archives: mixedArchives(10, 'chatty') },
        // 17 parts of 8 MiB
        { name: 'progressing', seed: 'progressing', archives: [{ size: 16 * 8 * MIB + MIB, description: 'progressing.bin' }] },
      ],
      buckets: ['after-expiry', 'after-silence', 'after-duplicates', 'after-many-windows'],
    });
  });
  afterEach(() => w.harness.sim.world.faults.configure(''));
  afterAll(() => w?.stop());

  const injected = (key: string) => w.harness.sim.world.faults.injected.get(key) ?? 0;

  it('requests an archive again when its job output expired before the copy reached it, and still copies it', async () => {
    // The first three jobs' output expires minutes after they complete; with every notification lost, the tool
    // learns of the jobs only when it polls two seconds later, when those three are gone from ListJobs.
    w.harness.sim.world.faults.configure('glacier.InitiateJob:expire@1+2+3;glacier.JobNotification:drop=1');
    const before = injected('glacier.InitiateJob:expire');
    const state = w.path('expiry.db');
    w.recorder.phase = 'expiry';
    const run = await runCli(
      w.start({ vault: 'expiring', bucket: 'after-expiry', state, extra: ['--inventory', w.writeInventory('expiring', 'JSON'), '--poll-interval', '2s'] }),
    );
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'expiring', bucket: 'after-expiry' }), RETRIEVED.length);

    expect(injected('glacier.InitiateJob:expire') - before).toBe(3);
    const initiated = w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'expiry');
    const expired = initiated.slice(0, 3).map((r) => r.archiveId!);
    const renewed = eventsOf(run, 'job-renewed');
    expect(renewed.map((e) => e.archiveId).sort()).toEqual([...expired].sort());
    for (const e of renewed) expect(e.reason).toMatch(/no longer known to Glacier|expired/);
    const perArchive = countBy(initiated, (r) => r.archiveId!);
    for (const archive of w.archives('expiring')) expect(perArchive.get(archive.id), archive.description).toBe(expired.includes(archive.id) ? 2 : 1);
  });

  it('keeps renewing the job of an archive that copies parts in every output window, and copies it', async () => {
    // Each job's output expires after one part: the second download of a job finds it gone, 16 times over.
    const downloads = new Map<string, number>();
    w.recorder.beforeHandle = (r) => {
      if (r.phase !== 'windows' || r.operation !== 'GetJobOutput') return;
      const n = (downloads.get(r.jobId!) ?? 0) + 1;
      downloads.set(r.jobId!, n);
      if (n === 2) w.vault('progressing').jobs.get(r.jobId!)!.expiresAtMs = w.harness.sim.world.clock.nowMs();
    };
    const state = w.path('windows.db');
    w.recorder.phase = 'windows';
    const run = await runCli(
      w.start({ vault: 'progressing', bucket: 'after-many-windows', state, extra: ['--inventory', w.writeInventory('progressing', 'CSV'), '--concurrency', '1'] }),
    );
    w.recorder.beforeHandle = undefined;
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'progressing', bucket: 'after-many-windows' }), 1);
    expect(eventsOf(run, 'job-renewed')).toHaveLength(16);
    const stored = w.recorder.of('s3', 'UploadPart', (r) => r.phase === 'windows' && r.status === 200).map((r) => r.partNumber);
    expect(stored.sort((a, b) => a! - b!)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
  });

  it('learns of completed jobs by polling when every notification is lost', async () => {
    w.harness.sim.world.faults.configure('glacier.JobNotification:drop=1');
    const before = injected('glacier.JobNotification:drop');
    const state = w.path('silence.db');
    w.recorder.phase = 'silence';
    const run = await runCli(w.start({ vault: 'quiet', bucket: 'after-silence', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'quiet', bucket: 'after-silence' }), 10);

    const jobs = w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'silence');
    expect(jobs.filter((r) => r.jobType === 'inventory-retrieval')).toHaveLength(1);
    expect(injected('glacier.JobNotification:drop') - before).toBe(jobs.length);
    const ready = eventsOf(run, 'job-ready');
    expect(ready).toHaveLength(w.archives('quiet').filter((a) => a.size > 0).length);
    expect(ready.every((e) => e.via === 'poll')).toBe(true);
  });

  it('does no harm when notifications arrive twice', async () => {
    w.harness.sim.world.faults.configure('glacier.JobNotification:duplicate=1');
    const before = injected('glacier.JobNotification:duplicate');
    const state = w.path('duplicates.db');
    w.recorder.phase = 'duplicates';
    const run = await runCli(w.start({ vault: 'chatty', bucket: 'after-duplicates', state }));
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'chatty', bucket: 'after-duplicates' }), 10);

    const jobs = w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'duplicates');
    expect(injected('glacier.JobNotification:duplicate') - before).toBe(jobs.length);
    const archiveJobs = jobs.filter((r) => r.jobType === 'archive-retrieval');
    expect([...countBy(archiveJobs, (r) => r.archiveId!).values()].every((n) => n === 1)).toBe(true);
    expect(archiveJobs).toHaveLength(w.archives('chatty').filter((a) => a.size > 0).length);
    expect([...countBy(eventsOf(run, 'job-ready'), (e) => String(e.archiveId)).values()].every((n) => n === 1)).toBe(true);
    expect(eventsOf(run, 'job-renewed')).toEqual([]);
    const writes = w.recorder.objectWrites((r) => r.phase === 'duplicates');
    expect(writes.size).toBe(10);
    expect([...writes.values()].every((n) => n === 1)).toBe(true);
    // The inventory, announced twice, was read once.
    const inventoryJob = [...w.vault('chatty').jobs.values()].find((j) => j.action === 'InventoryRetrieval')!;
    expect(w.recorder.of('glacier', 'GetJobOutput', (r) => r.jobId === inventoryJob.id)).toHaveLength(1);
  });
});

describe('the output window on a fast clock', () => {
  // 24 simulated hours pass in one second of wall time.
  const TIME_SCALE = 86_400;
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      timeScale: TIME_SCALE,
      vaults: [
        { name: 'slow', seed: 'slow', archives: [20 * MIB + 5, ...[1, 2, 3, 4, 5].map((n) => n * 300_000)].map((size, i) => ({ size, description: `slow/${i}.bin` })) },
        { name: 'cut-short', seed: 'cut-short', archives: [{ size: 30 * MIB + 5, description: 'cut-short.bin' }] },
      ],
      buckets: ['after-renewal', 'after-mid-copy-expiry'],
    });
  });
  afterAll(() => w?.stop());

  it('re-requests staged archives before their output window closes when the copy cannot reach them in time (--output-window)', async () => {
    const state = w.path('renewal.db');
    w.recorder.phase = 'renewal';
    // The first download stalls and holds the only copy slot until the tool has renewed a waiting archive's job.
    let release: () => void = () => undefined;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    w.recorder.beforeHandle = (r) => {
      if (r.phase !== 'renewal' || r.operation !== 'GetJobOutput' || held) return;
      held = true;
      return stalled;
    };
    const run = spawnCli(
      w.start({
        vault: 'slow',
        bucket: 'after-renewal',
        state,
        // The copy is assumed fast, so all six are requested at once; then it stalls.
        extra: [
          '--inventory', w.writeInventory('slow', 'JSON'),
          '--concurrency', '1',
          '--output-window', `${(24 * 3600_000) / TIME_SCALE}ms`,
          '--expected-throughput', '10GiB',
        ],
      }),
    );
    run
      .waitForEvent((e) => e.type === 'job-renewed' && /expires before it can be copied/.test(String(e.reason)))
      .finally(release)
      .catch(() => undefined);
    const result = await run.done;
    release();
    w.recorder.beforeHandle = undefined;
    expect(result.code, describeRun(result)).toBe(0);
    expect(held).toBe(true);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'slow', bucket: 'after-renewal' }), 6);

    const proactive = eventsOf(result, 'job-renewed').filter((e) => /expires before it can be copied/.test(String(e.reason)));
    expect(proactive.length).toBeGreaterThan(0);
    const initiated = countBy(w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'renewal'), (r) => r.archiveId!);
    for (const e of proactive) expect(initiated.get(String(e.archiveId))).toBeGreaterThanOrEqual(2);
  });

  it('requests an archive again when its output expires in the middle of a multipart copy, keeping the parts already in S3', async () => {
    const state = w.path('mid-copy.db');
    w.recorder.phase = 'mid-copy';
    // Parts go one at a time; the third part's download is held until Glacier has forgotten the job.
    let downloads = 0;
    w.recorder.beforeHandle = (r) => {
      if (r.phase !== 'mid-copy' || r.operation !== 'GetJobOutput' || ++downloads !== 3) return;
      const job = [...w.vault('cut-short').jobs.values()][0]!;
      return waitUntil(() => w.harness.sim.world.glacier.store.isExpired(job), 'the first job has expired');
    };
    const run = await runCli(
      w.start({ vault: 'cut-short', bucket: 'after-mid-copy-expiry', state, extra: ['--inventory', w.writeInventory('cut-short', 'CSV'), '--concurrency', '1'] }),
    );
    w.recorder.beforeHandle = undefined;
    expect(run.code, describeRun(run)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'cut-short', bucket: 'after-mid-copy-expiry' }), 1);

    const renewed = eventsOf(run, 'job-renewed');
    expect(renewed).toHaveLength(1);
    expect(renewed[0]!.reason).toMatch(/expired/);
    const [first, second] = [...w.vault('cut-short').jobs.values()];
    expect(second).toBeDefined();
    const outputs = (jobId: string) => w.recorder.of('glacier', 'GetJobOutput', (r) => r.phase === 'mid-copy' && r.jobId === jobId);
    expect(outputs(first!.id).map((r) => r.status)).toEqual([206, 206, 404]);
    expect(outputs(second!.id).map((r) => r.status)).toEqual([206, 206]);
    // One upload, each of its four parts stored once: the two copied before the expiry were kept.
    expect(w.recorder.of('s3', 'CreateMultipartUpload', (r) => r.phase === 'mid-copy')).toHaveLength(1);
    const stored = w.recorder.of('s3', 'UploadPart', (r) => r.phase === 'mid-copy' && r.status === 200).map((r) => r.partNumber);
    expect(stored.sort()).toEqual([1, 2, 3, 4]);
  });
});
