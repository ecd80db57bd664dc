/**
 * The scale section of `npm run bench` (issue "Millions of archives"): Glacier hours to empty a vault of many
 * small archives, initiation and copy rates when every request costs a round trip, CPU per archive, billed S3
 * requests per archive, and reading and planning a vault of a million archives. Each figure is measured in
 * this run, with the simulator in its own process.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/aws/clients.js';
import { requestFigures } from '../../src/state/accounting.js';
import { TransferState } from '../../src/state/db.js';
import { benchDir, eventTimes, ratePerSecond, runTool, startSim, type ToolRun } from './harness.js';
import { generatedInventoryFile } from './inventory-file.js';

const KIB = 1024;
const MB = 1000 * 1000;

export interface Figure {
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
  note?: string;
  /** The part of its section that measured it (one the section may skip); none: the whole section */
  part?: string;
}

async function createBucket(url: string, bucket: string): Promise<void> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url, userAgent: 'bench' });
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  clients.destroy();
}

async function objectCount(url: string, bucket: string): Promise<number> {
  const clients = createAwsClients({ region: 'us-east-1', endpoint: url, userAgent: 'bench' });
  let count = 0;
  let token: string | undefined;
  do {
    const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    count += page.KeyCount ?? 0;
    token = page.NextContinuationToken;
  } while (token);
  clients.destroy();
  return count;
}

function startArgs(url: string, vault: string, state: string, extra: string[] = []): string[] {
  return ['start', '--vault', vault, '--bucket', `${vault}-bucket`, '--endpoint-url', url, '--state', state, '--region', 'us-east-1', '--storage-class', 'DEEP_ARCHIVE', ...extra];
}

function assertDone(run: ToolRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what}: glacier-copy exited with ${run.code}: ${run.text.join(' | ')} ${run.stderr}`);
}

/** 5,000 × 4 KiB at --time-scale 720 (an hour is five seconds): the vault empties in simulated hours, re-requests. */
async function emptyManySmall(): Promise<Figure[]> {
  const [count, size, scale] = [5000, 4 * KIB, 720];
  const sim = await startSim(['--hash-only', '--time-scale', String(scale), '--generated-vault', `many:${count}:many:${size}`]);
  const dir = benchDir();
  try {
    await createBucket(sim.url, 'many-bucket');
    const inventory = await generatedInventoryFile('JSON', 'many', count, size);
    const run = await runTool(
      startArgs(sim.url, 'many', join(dir, 's.db'), ['--inventory', inventory, '--output-window', `${(24 * 3600_000) / scale}ms`, '--poll-interval', '60s']),
    );
    assertDone(run, 'emptying 5,000 small archives');
    // From the first retrieval requested to the last archive copied.
    const copyPhase = run.events.find((e) => e.event.type === 'phase' && e.event.phase === 'copy')!.at;
    const cleanup = run.events.find((e) => e.event.type === 'phase' && e.event.phase === 'cleanup')!.at;
    const hours = ((cleanup - copyPhase) / 1000) * (scale / 3600);
    const renewed = run.events.filter((e) => e.event.type === 'job-renewed').length;
    const objects = await objectCount(sim.url, 'many-bucket');
    return [
      { name: 'simulated Glacier hours to empty 5,000 × 4 KiB (--time-scale 720)', value: hours, unit: 'h', target: '≤ 24', met: hours <= 24 && objects === count, note: `${objects}/${count} objects in S3, exit ${run.code}` },
      { name: 're-requested retrievals', value: (100 * renewed) / count, unit: '%', target: '≤ 1', met: renewed / count <= 0.01, note: `${renewed} of ${count}` },
    ];
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * With 50 ms per request (jittered): InitiateJob per second while requesting, then, with every job ready,
 * archives copied per second and the tool's CPU per archive. The first run is stopped once every retrieval is
 * requested; `resume` then finds them all ready and only copies.
 */
async function latencyBound(): Promise<Figure[]> {
  const count = 4000;
  const sim = await startSim(['--hash-only', '--latency', '50', '--job-delay', '20', '--generated-vault', `latent:${count}:latent:4KiB`]);
  const dir = benchDir();
  try {
    await createBucket(sim.url, 'latent-bucket');
    const state = join(dir, 's.db');
    const inventory = await generatedInventoryFile('JSON', 'latent', count, 4 * KIB);
    let initiated = 0;
    const requesting = await runTool(startArgs(sim.url, 'latent', state, ['--inventory', inventory, '--expected-throughput', '1GiB']), {
      stopAt: (e) => e.type === 'job-initiated' && ++initiated === count,
    });
    const initiateRate = ratePerSecond(eventTimes(requesting, 'job-initiated'));
    // Every job completes 20 s after it started; wait until the last one has.
    await new Promise((r) => setTimeout(r, 21_000));
    const copying = await runTool(['resume', '--state', state, '--poll-interval', '60s']);
    assertDone(copying, 'copying 4,000 ready archives');
    const verified = eventTimes(copying, 'archive-verified');
    const copyRate = ratePerSecond(verified);
    const cpuMsPerArchive = (copying.cpuSeconds * 1000) / verified.length;
    return [
      { name: 'InitiateJob per second with --latency 50', value: initiateRate, unit: '/s', target: '≥ 100', met: initiateRate >= 100, note: `${initiated} requested` },
      { name: 'small archives copied per second with --latency 50', value: copyRate, unit: '/s', target: '≥ 400', met: copyRate >= 400, note: `${verified.length} archives of 4 KiB` },
      { name: 'tool CPU per archive copied', value: cpuMsPerArchive, unit: 'ms', target: 'reported', met: true, note: `${copying.cpuSeconds.toFixed(1)} s of CPU for the whole resume, start-up included` },
    ];
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Billed S3 write requests per archive for the two reference workloads' sizes, from the state's counters. */
async function requestsPerArchive(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const { vault, count, size, target } of [
    { vault: 'ten-mb', count: 6, size: 10 * MB, target: 1 },
    { vault: 'one-gb', count: 2, size: 1000 * MB, target: 4 },
  ]) {
    const sim = await startSim(['--hash-only', '--job-delay', '1', '--generated-vault', `${vault}:${count}:${vault}:${size}`]);
    const dir = benchDir();
    try {
      await createBucket(sim.url, `${vault}-bucket`);
      const state = join(dir, 's.db');
      const run = await runTool(startArgs(sim.url, vault, state, ['--inventory', await generatedInventoryFile('JSON', vault, count, size)]));
      assertDone(run, `copying ${vault}`);
      const counters = TransferState.open(state, { readonly: true });
      const byOperation = counters.counters();
      counters.close();
      const billed = requestFigures(byOperation);
      const writes = billed.archiveWrites;
      const perTransfer = billed.s3Writes - billed.archiveWrites;
      const perArchive = writes / count;
      figures.push({
        name: `S3 write requests per ${size / MB >= 1000 ? '1 GB' : '10 MB'} archive (default part size)`,
        value: perArchive,
        unit: '',
        target: target === 1 ? '1' : `≤ ${target}`,
        met: perArchive <= target,
        note: `${writes} object writes for ${count} archives; plus ${perTransfer} request(s) for the transfer itself (listings, its marker)`,
      });
    } finally {
      sim.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

/** Reading and planning an inventory of `count` archives through `start --inventory`, until the plan is done. */
async function readAndPlan(count: number, targets: { seconds: number; rssBytes: number; stateBytes: number }): Promise<Figure[]> {
  const inventory = await generatedInventoryFile('JSON', 'bench', count);
  const sim = await startSim(['--generated-vault', 'bench:0']);
  const dir = benchDir();
  try {
    await createBucket(sim.url, 'bench-bucket');
    const state = join(dir, 's.db');
    const run = await runTool(startArgs(sim.url, 'bench', state, ['--inventory', inventory]), { stopAt: (e) => e.type === 'planned' });
    const started = run.events[0]?.at ?? 0;
    const planned = run.events.find((e) => e.event.type === 'planned');
    if (!planned) throw new Error(`reading ${count} archives did not finish: ${run.text.join(' | ')}`);
    const seconds = (planned.at - started) / 1000;
    const stateBytes = ['', '-wal'].reduce((n, s) => n + (existsSync(state + s) ? statSync(state + s).size : 0), 0) / count;
    const label = count >= 1e6 ? `${count / 1e6}M` : String(count);
    const inventoryMb = statSync(inventory).size / 1e6;
    return [
      { name: `${label} archives: inventory read + plan`, value: seconds, unit: 's', target: `≤ ${targets.seconds}`, met: seconds <= targets.seconds, note: `JSON inventory of ${inventoryMb.toFixed(0)} MB` },
      { name: `${label} archives: peak RSS`, value: run.peakRssBytes / 2 ** 20, unit: 'MiB', target: `≤ ${targets.rssBytes / 2 ** 20}`, met: run.peakRssBytes <= targets.rssBytes },
      { name: `${label} archives: state per archive`, value: stateBytes, unit: 'bytes', target: `≤ ${targets.stateBytes}`, met: stateBytes <= targets.stateBytes },
    ];
  } finally {
    sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchScale(log: (line: string) => void): Promise<Figure[]> {
  const figures: Figure[] = [];
  const sections: [string, () => Promise<Figure[]>][] = [
    ['emptying a vault of small archives', emptyManySmall],
    ['latency-bound requests', latencyBound],
    ['requests per archive', requestsPerArchive],
    ['1M-archive inventory', () => readAndPlan(1_000_000, { seconds: 30, rssBytes: 300 * 2 ** 20, stateBytes: 700 })],
  ];
  // 10M: opt-in (a 4.6 GB inventory and a 7 GB state file); shows whether read + plan grow linearly.
  if (process.env.BENCH_10M) sections.push(['10M-archive inventory', () => readAndPlan(10_000_000, { seconds: 300, rssBytes: 300 * 2 ** 20, stateBytes: 700 })]);
  // BENCH_SCALE=latency (a part of a name) runs only the parts named.
  const only = process.env.BENCH_SCALE?.split(',');
  for (const [name, section] of sections) {
    if (only && !only.some((o) => name.includes(o))) continue;
    log(`scale: ${name}…`);
    figures.push(...(await section()).map((f) => ({ ...f, part: name })));
  }
  return figures;
}
