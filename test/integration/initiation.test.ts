import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { CopyCostModel, DEFAULT_PRIOR, DEFAULT_WINDOW_SHARE } from '../../src/retrieve/pacing.js';
import { auditCopy } from '../../src/sim/audit.js';
import { Latency } from '../../src/sim/latency.js';
import type { GeneratedArchiveSpec } from '../../src/sim/glacier/generate.js';
import { renderInventory } from '../../src/sim/glacier/inventory.js';
import type { SimulatorOptions } from '../../src/sim/server.js';
import { TransferState } from '../../src/state/db.js';
import { describeRun, eventsOf, spawnCli, startArgs, type CliEvent } from '../helpers/cli.js';
import { FAST_JOBS, TIME_SCALE, expectCompleteCopy } from '../helpers/copy-world.js';
import { recordRequests, type RequestRecorder } from '../helpers/requests.js';
import { startSimHarness, type SimHarness } from '../helpers/sim.js';

const REGION = 'us-east-1';

/**
 * A simulator with the options these tests need (an InitiateJob rate limit, request latency), one vault and one
 * bucket, and the vault's inventory written to a file so that the copy starts at once.
 */
interface World {
  harness: SimHarness;
  recorder: RequestRecorder;
  dir: string;
  inventory: string;
  state: string;
  archives: number;
  stop(): Promise<void>;
}

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.stop();
});

async function startWorld(vault: string, archives: GeneratedArchiveSpec[], options: SimulatorOptions): Promise<World> {
  const harness = await startSimHarness({
    timeScale: TIME_SCALE,
    s3ReadArchived: true,
    ...options,
    glacier: { jobDelaySeconds: FAST_JOBS, ...options.glacier, vaults: [{ name: vault, seed: vault, archives }] },
  });
  const recorder = recordRequests(harness.sim);
  await harness.clients.s3.send(new CreateBucketCommand({ Bucket: `${vault}-copy` }));
  const dir = mkdtempSync(join(tmpdir(), 'glacier-copy-initiation-'));
  const inventory = join(dir, 'inventory.json');
  writeFileSync(inventory, renderInventory(harness.sim.world.glacier.store.getVault(REGION, vault), 'JSON', new Date().toISOString()));
  recorder.phase = 'copy';
  const world: World = {
    harness,
    recorder,
    dir,
    inventory,
    state: join(dir, 'state.db'),
    archives: archives.length,
    async stop() {
      await harness.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  worlds.push(world);
  return world;
}

async function auditWorld(w: World, vault: string) {
  // The audit's reads are not the copy's: they go without the simulated latency.
  Object.assign(w.harness.sim.world, { latency: new Latency(0, 'audit') });
  const state = TransferState.open(w.state, { readonly: true });
  const keys = new Map<string, string>();
  try {
    for (const a of state.iterateArchivesSnapshot()) if (a.key !== null) keys.set(a.archive_id, a.key);
  } finally {
    state.close();
  }
  w.recorder.phase = 'audit';
  return auditCopy(w.harness.sim, w.harness.clients, { vault, bucket: `${vault}-copy`, keyOf: (id) => keys.get(id) });
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

const ms = (e: CliEvent) => Date.parse(String(e.at));

describe('requesting retrievals from a rate-limited Glacier', () => {
  it('copies every archive, requesting each once, as fast as the InitiateJob rate limit allows', async () => {
    const ARCHIVES = 300;
    const RATE = 40;
    const BURST = 10;
    const archives = Array.from({ length: ARCHIVES }, (_, i) => ({ size: 1 + ((i * 7919) % 4000), description: `tiny/${i}.bin` }));
    const w = await startWorld('limited', archives, { glacier: { initiateJobRate: { perSecond: RATE, burst: BURST } } });
    const run = spawnCli(startArgs({ endpoint: w.harness.sim.url, vault: 'limited', bucket: 'limited-copy', state: w.state, extra: ['--inventory', w.inventory] }), {
      timeoutMs: 60_000,
    });
    const result = await run.done;
    expect(result.code, describeRun(result)).toBe(0);
    expectCompleteCopy(await auditWorld(w, 'limited'), ARCHIVES);

    // Glacier said no, often; the tool heard it, backed off, and came back.
    const refused = w.harness.sim.world.glacier.initiateJobLimit!.refused;
    expect(refused).toBeGreaterThan(0);
    const initiated = w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'copy');
    expect(initiated.filter((r) => r.status === 400 && r.errorCode === 'ThrottlingException')).toHaveLength(refused);
    expect(eventsOf(result, 'throttled').length).toBeGreaterThan(0);
    expect(eventsOf(result, 'throttled').every((e) => /InitiateJob/.test(String(e.operation)))).toBe(true);

    // Each archive requested exactly once: a refused call started no job, so asking again costs nothing.
    const started = initiated.filter((r) => r.status === 202 && r.jobType === 'archive-retrieval');
    const perArchive = countBy(started, (r) => r.archiveId!);
    expect(perArchive.size).toBe(ARCHIVES);
    expect([...perArchive.values()].every((n) => n === 1)).toBe(true);
    expect(w.harness.sim.world.glacier.store.getVault(REGION, 'limited').jobs.size).toBe(ARCHIVES);
    expect(eventsOf(result, 'job-initiated')).toHaveLength(ARCHIVES);
    expect(eventsOf(result, 'job-renewed')).toHaveLength(0);
    expect(eventsOf(result, 'warning').filter((e) => /InitiateJob/.test(String(e.message)))).toEqual([]);

    // Backing off does not mean crawling: the retrievals were requested at about the rate Glacier allows.
    const initiatedAt = eventsOf(result, 'job-initiated').map(ms);
    const spanMs = Math.max(...initiatedAt) - Math.min(...initiatedAt);
    const idealMs = ((ARCHIVES - BURST) / RATE) * 1000;
    expect(spanMs).toBeLessThan(2 * idealMs);
  }, 60_000);
});

describe('pacing retrievals by the output window', () => {
  it('keeps no more retrievals in flight than the copy can take inside the window, and re-requests none', async () => {
    const ARCHIVES = 130;
    const SIZE = 64 * 1024;
    const WINDOW_MS = 4000;
    // The prior: 20 ms per archive and 800 KiB/s, 100 ms for each of these archives: 30 fit the budget at first.
    const THROUGHPUT = 800 * 1024;
    const prior = { ...DEFAULT_PRIOR, msPerMiB: (1000 * 1024 * 1024) / THROUGHPUT };
    const budgetMs = WINDOW_MS * DEFAULT_WINDOW_SHARE;
    const archives = Array.from({ length: ARCHIVES }, (_, i) => ({ size: SIZE, description: `paced/${i}.bin` }));
    // Every request waits 25–75 ms: with two archives copied at a time, each costs the tool about 60 ms, and the
    // copy about 8 s, almost three times the budget.
    const w = await startWorld('paced', archives, { latencyMs: 50 });

    /** What the budget allows for a model as the state holds it: the most archives of SIZE whose copy fits. */
    const allowedBy = (model: CopyCostModel) => {
      let n = 1;
      while (model.costMs(n + 1, (n + 1) * SIZE) <= budgetMs) n++;
      return n;
    };
    const samples: { at: number; inFlight: number; allowed: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (existsSync(w.state)) {
          try {
            const state = TransferState.open(w.state, { readonly: true });
            try {
              const c = state.counts();
              const inFlight = c.requesting.archives + c.requested.archives + c.staged.archives + c.completing.archives;
              const model = CopyCostModel.fromJSON(state.transferInfo().copyModel, prior);
              samples.push({ at: Date.now(), inFlight, allowed: allowedBy(model) });
            } finally {
              state.close();
            }
          } catch {
            // The state is being created.
          }
        }
        await sleep(40);
      }
    })();
    const run = spawnCli(
      startArgs({
        endpoint: w.harness.sim.url,
        vault: 'paced',
        bucket: 'paced-copy',
        state: w.state,
        extra: ['--inventory', w.inventory, '--archive-concurrency', '2', '--output-window', `${WINDOW_MS}ms`, '--expected-throughput', `${THROUGHPUT}`],
      }),
      { timeoutMs: 60_000 },
    );
    const result = await run.done;
    sampling = false;
    await sampler;
    expect(result.code, describeRun(result)).toBe(0);
    expectCompleteCopy(await auditWorld(w, 'paced'), ARCHIVES);
    expect(eventsOf(result, 'job-renewed')).toHaveLength(0);
    const retrievals = w.recorder.of('glacier', 'InitiateJob', (r) => r.phase === 'copy' && r.jobType === 'archive-retrieval');
    expect(retrievals).toHaveLength(ARCHIVES);

    // In flight at each moment, against what the budget allowed by the model the tool held then (the state holds
    // it as of the last second, so the bound is the most any model of the 2 s around allowed).
    expect(samples.length).toBeGreaterThan(20);
    const mostInFlight = Math.max(...samples.map((s) => s.inFlight));
    for (const s of samples) {
      const near = samples.filter((o) => Math.abs(o.at - s.at) <= 2000);
      const bound = Math.max(...near.map((o) => o.allowed));
      // The model moves a little with every archive copied: one saved a second ago may allow a few fewer.
      expect(s.inFlight, `at ${s.at}: ${JSON.stringify(near)}`).toBeLessThanOrEqual(Math.ceil(bound * 1.05));
    }
    // The window, not the vault, limited the retrievals in flight; and the copy had plenty to do.
    expect(mostInFlight).toBeLessThan(ARCHIVES / 2);
    expect(mostInFlight).toBeGreaterThanOrEqual(Math.min(...samples.map((s) => s.allowed)) / 2);

    // The same from the outside: retrievals requested and not yet written to S3, counted at each InitiateJob.
    const outside: number[] = [];
    for (const r of retrievals) {
      const written = w.recorder.requests.filter((q) => q.seq < r.seq && q.service === 's3' && q.operation === 'PutObject' && q.status === 200).length;
      outside.push(retrievals.filter((q) => q.seq <= r.seq).length - written);
    }
    expect(Math.max(...outside)).toBeLessThanOrEqual(Math.max(...samples.map((s) => s.allowed)));

    // And what the window is for: no staged archive waited for its copy longer than the window.
    const readyAt = new Map(eventsOf(result, 'job-ready').map((e) => [String(e.archiveId), ms(e)]));
    const waits = eventsOf(result, 'archive-verified').map((e) => ms(e) - readyAt.get(String(e.archiveId))!);
    expect(waits).toHaveLength(ARCHIVES);
    expect(Math.max(...waits)).toBeLessThan(WINDOW_MS);
  }, 60_000);
});
