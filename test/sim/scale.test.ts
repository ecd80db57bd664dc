import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteArchiveCommand,
  DescribeVaultCommand,
  GetJobOutputCommand,
  InitiateJobCommand,
  ListJobsCommand,
  ListVaultsCommand,
  UploadArchiveCommand,
  paginateListJobs,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { createAwsClients } from '../../src/aws/clients.js';
import { generateArchiveList, generatedArchiveId } from '../../src/sim/glacier/generate.js';
import { renderInventory, type InventoryFormat } from '../../src/sim/glacier/inventory.js';
import type { Vault } from '../../src/sim/glacier/store.js';
import { treeHash } from '../../src/verify/tree-hash.js';
import { CLI_BIN } from '../helpers/cli.js';
import { TEST_ENV, bodyOf, startSimHarness, waitForJob, type SimHarness } from '../helpers/sim.js';

const HOUR = 3600_000;

async function initiate(glacier: GlacierClient, vaultName: string, jobParameters: Record<string, string>): Promise<string> {
  return (await glacier.send(new InitiateJobCommand({ accountId: '-', vaultName, jobParameters }))).jobId!;
}

const retrieval = (archiveId: string, Tier = 'Bulk') => ({ Type: 'archive-retrieval', ArchiveId: archiveId, Tier });

async function timed<T>(work: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Longest pause between ticks of a 10 ms timer while `work` runs: how long the event loop was blocked. */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return longest;
}

/** The inventory as the simulator rendered it before streaming (one JSON.stringify of the whole document): the oracle. */
function referenceInventory(vault: Vault, format: InventoryFormat, inventoryDate: string): string {
  const archives = [...vault.archives.values()];
  if (format === 'CSV') {
    const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v);
    const lines = archives.map((a) => [a.id, field(a.description), a.creationDate, String(a.content.size), a.content.treeHash()].join(','));
    return ['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash', ...lines].join('\r\n') + '\r\n';
  }
  const list = archives.map((a) => ({ ArchiveId: a.id, ArchiveDescription: a.description, CreationDate: a.creationDate, Size: a.content.size, SHA256TreeHash: a.content.treeHash() }));
  return JSON.stringify({ VaultARN: vault.arn, InventoryDate: inventoryDate, ArchiveList: list });
}

describe('simulated latency', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness({ latencyMs: 200, seed: 'latency' });
  });
  afterAll(() => h.stop());

  it('delays every request of every service by about the latency', async () => {
    const calls = [
      () => h.clients.glacier.send(new ListVaultsCommand({ accountId: '-' })),
      () => h.clients.s3.send(new ListBucketsCommand({})),
      () => h.clients.sns.send(new ListTopicsCommand({})),
      () => h.clients.sqs.send(new ListQueuesCommand({})),
    ];
    for (const call of calls) {
      const ms = await timed(call);
      expect(ms).toBeGreaterThanOrEqual(99); // 0.5 × 200 ms, less a timer's rounding
      expect(ms).toBeLessThan(1000);
    }
  });

  it('waits on timers, so parallel requests take about one delay, not the sum', async () => {
    const ms = await timed(() => Promise.all(Array.from({ length: 20 }, () => h.clients.glacier.send(new ListVaultsCommand({ accountId: '-' })))));
    // One at a time these would take at least 20 × 100 ms.
    expect(ms).toBeGreaterThanOrEqual(99);
    expect(ms).toBeLessThan(1000);
  });
});

describe('job completion spread', () => {
  it('completes Bulk jobs at different times, all within AWS\'s 5–12 hours', async () => {
    // 10 simulated hours per second: a job 1 ms late is 36 simulated seconds late.
    const h = await startSimHarness({ timeScale: 36_000, glacier: { vaults: [{ name: 'spread', seed: 'spread', count: 100 }] } });
    try {
      const ids = await Promise.all(Array.from({ length: 100 }, (_, i) => initiate(h.clients.glacier, 'spread', retrieval(generatedArchiveId('spread', i)))));
      const jobs = await Promise.all(ids.map((id) => waitForJob(h.clients.glacier, 'spread', id)));
      const hours = jobs.map((j) => (Date.parse(j.CompletionDate!) - Date.parse(j.CreationDate!)) / HOUR);
      expect(Math.min(...hours)).toBeGreaterThanOrEqual(4.99);
      expect(Math.max(...hours)).toBeLessThan(12 + 1); // up to 100 ms of timer lateness
      // Timers due in the same millisecond fire together, so some jobs share a completion date; not all, though.
      expect(new Set(jobs.map((j) => j.CompletionDate)).size).toBeGreaterThan(20);
      expect(Math.max(...hours) - Math.min(...hours)).toBeGreaterThan(3);
    } finally {
      await h.stop();
    }
  });

  it('draws each job\'s delay from a configured range, and keeps a fixed delay fixed', async () => {
    const h = await startSimHarness({
      timeScale: 3600,
      glacier: { jobDelaySeconds: { Standard: { min: 300, max: 720 }, Expedited: 60 }, vaults: [{ name: 'ranged', seed: 'ranged', count: 10 }] },
    });
    try {
      const standard = await Promise.all(Array.from({ length: 10 }, (_, i) => initiate(h.clients.glacier, 'ranged', retrieval(generatedArchiveId('ranged', i), 'Standard'))));
      const expedited = await initiate(h.clients.glacier, 'ranged', retrieval(generatedArchiveId('ranged', 0), 'Expedited'));
      const seconds = async (id: string) => {
        const j = await waitForJob(h.clients.glacier, 'ranged', id);
        return (Date.parse(j.CompletionDate!) - Date.parse(j.CreationDate!)) / 1000;
      };
      const drawn = await Promise.all(standard.map(seconds));
      expect(Math.min(...drawn)).toBeGreaterThanOrEqual(299);
      expect(Math.max(...drawn)).toBeLessThan(720 + 360);
      expect(new Set(drawn).size).toBeGreaterThan(5);
      expect(await seconds(expedited)).toBeLessThan(60 + 360);
    } finally {
      await h.stop();
    }
  });
});

describe('InitiateJob rate limit', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness({
      glacier: { initiateJobRate: { perSecond: 2, burst: 5 }, jobDelaySeconds: { Bulk: 1e9 }, vaults: [{ name: 'limited', seed: 'limited', count: 10 }] },
    });
  });
  afterAll(() => h.stop());

  it('throttles a burst beyond the bucket with Glacier\'s 400 ThrottlingException, then lets requests through again', async () => {
    const archiveId = generatedArchiveId('limited', 1);
    const results = await Promise.allSettled(Array.from({ length: 15 }, () => initiate(h.clients.glacier, 'limited', retrieval(archiveId))));
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { name: string; $metadata: { httpStatusCode: number } }] : []));
    expect(accepted.length).toBeGreaterThanOrEqual(5);
    expect(accepted.length).toBeLessThanOrEqual(6); // the burst, and what refilled while the burst arrived
    expect(refused.map((e) => [e.name, e.$metadata.httpStatusCode])).toEqual(refused.map(() => ['ThrottlingException', 400]));
    expect(h.sim.world.glacier.initiateJobLimit!.refused).toBe(refused.length);

    // The wire format, read raw: Glacier's JSON error document.
    const raw = await fetch(`${h.sim.url}/-/vaults/limited/jobs`, {
      method: 'POST',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/glacier/aws4_request, SignedHeaders=host, Signature=0' },
      body: JSON.stringify(retrieval(archiveId)),
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ code: 'ThrottlingException', message: 'Rate exceeded', type: 'Client' });

    await new Promise((r) => setTimeout(r, 600)); // more than one token's worth at 2 a second
    await expect(initiate(h.clients.glacier, 'limited', retrieval(archiveId))).resolves.toEqual(expect.any(String));
  });
});

describe('streamed inventories', () => {
  const COUNT = 200_000;
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness({
      timeScale: 3600,
      glacier: {
        jobDelaySeconds: { Inventory: 60, Bulk: 60 },
        vaults: [
          { name: 'lazy-big', seed: 'big', count: COUNT },
          { name: 'lazy-small', seed: 'small', count: 40 },
          { name: 'listed-small', seed: 'small', archives: generateArchiveList({ count: 40, seed: 'small' }) },
        ],
      },
    });
  });
  afterAll(() => h.stop());

  const vault = (name: string) => h.sim.world.glacier.store.getVault('us-east-1', name);

  async function inventoryJob(vaultName: string, Format: InventoryFormat) {
    return waitForJob(h.clients.glacier, vaultName, await initiate(h.clients.glacier, vaultName, { Type: 'inventory-retrieval', Format }));
  }

  async function output(vaultName: string, jobId: string, range?: string) {
    return bodyOf(await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId, range })));
  }

  it('renders a lazy vault exactly as the listed vault of the same archives, and as before streaming', async () => {
    const archivesOf = (name: string) =>
      [...vault(name).archives.values()].map((a) => [a.id, a.description, a.creationDate, a.content.size, a.content.treeHash()]);
    expect(archivesOf('lazy-small')).toEqual(archivesOf('listed-small'));
    expect(archivesOf('lazy-small')[3]![0]).toBe(generatedArchiveId('small', 3));
    for (const format of ['JSON', 'CSV'] as const) {
      const job = await inventoryJob('lazy-small', format);
      const text = (await output('lazy-small', job.JobId!)).toString('utf8');
      const inventoryDate = format === 'JSON' ? (JSON.parse(text) as { InventoryDate: string }).InventoryDate : '';
      expect(text).toBe(referenceInventory(vault('lazy-small'), format, inventoryDate));
      expect(renderInventory(vault('lazy-small'), format, inventoryDate).toString('utf8')).toBe(text);
      expect(job.InventorySizeInBytes).toBe(Buffer.byteLength(text));
    }
  });

  for (const format of ['JSON', 'CSV'] as const) {
    it(`streams the ${format} inventory of ${COUNT} archives without blocking, and serves ranges of it`, async () => {
      const job = await inventoryJob('lazy-big', format);
      const size = job.InventorySizeInBytes!;
      const ranges = [
        [0, 99],
        [Math.floor(size * 0.6), Math.floor(size * 0.6) + 300_000],
        [size - 100, size - 1],
      ] as const;
      const expected = ranges.map(() => [] as Buffer[]);
      let bytes = 0;
      let entries = 0;
      let carry = '';
      const marker = format === 'JSON' ? '{"ArchiveId":' : '\r\n';
      const stall = await longestStall(async () => {
        const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'lazy-big', jobId: job.JobId! }));
        for await (const chunk of out.body as AsyncIterable<Buffer>) {
          ranges.forEach(([first, last], i) => {
            const from = Math.max(first - bytes, 0);
            const to = Math.min(last + 1 - bytes, chunk.length);
            if (to > from) expected[i]!.push(chunk.subarray(from, to));
          });
          const text = carry + chunk.toString('latin1');
          entries += text.split(marker).length - 1;
          carry = text.slice(-marker.length + 1);
          bytes += chunk.length;
        }
      });
      expect(bytes).toBe(size);
      expect(entries).toBe(format === 'JSON' ? COUNT : COUNT + 1); // CSV: the header line too
      expect(stall).toBeLessThan(500); // rendered whole, this document blocked the event loop for seconds
      for (const [i, [first, last]] of ranges.entries()) {
        expect((await output('lazy-big', job.JobId!, `bytes=${first}-${last}`)).equals(Buffer.concat(expected[i]!))).toBe(true);
      }
    });
  }

  it("lists the vault's last inventory as it was when the job completed, however the vault changes afterwards", async () => {
    const before = await inventoryJob('listed-small', 'JSON');
    const firstId = generatedArchiveId('small', 0);
    await h.clients.glacier.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'listed-small', archiveId: firstId }));
    const upload = await h.clients.glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'listed-small', body: Buffer.from('late') }));
    const text = (await output('listed-small', before.JobId!)).toString('utf8');
    expect(text).toContain(firstId);
    expect(text).not.toContain(upload.archiveId!);
    expect(Buffer.byteLength(text)).toBe(before.InventorySizeInBytes);

    // Glacier's next daily inventory lists the changes.
    h.sim.world.glacier.store.takeInventory(h.sim.world.glacier.store.getVault('us-east-1', 'listed-small'));
    const after = (await output('listed-small', (await inventoryJob('listed-small', 'JSON')).JobId!)).toString('utf8');
    expect(after).not.toContain(firstId);
    expect(after).toContain(upload.archiveId!);
  });
});

describe('lazy generated vaults', () => {
  const COUNT = 10_000_000;
  let h: SimHarness;
  let heapGrowth: number;
  beforeAll(async () => {
    const heapBefore = process.memoryUsage().heapUsed;
    h = await startSimHarness({ timeScale: 3600, glacier: { jobDelaySeconds: { Bulk: 60 }, vaults: [{ name: 'ten-million', seed: 'tm', count: COUNT }] } });
    heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  });
  afterAll(() => h.stop());

  const describeVault = () => h.clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'ten-million' }));

  it('holds ten million archives in constant memory and counts them in O(1)', async () => {
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    const vault = await describeVault();
    expect(vault.NumberOfArchives).toBe(COUNT);
    expect(vault.SizeInBytes).toBeGreaterThan(COUNT * 100_000);
  });

  it('finds any archive by id at once, and only genuine ids of archives still there', async () => {
    const lookups = [0, 4_321_987, COUNT - 1].map(async (index) => {
      const job = await waitForJob(h.clients.glacier, 'ten-million', await initiate(h.clients.glacier, 'ten-million', retrieval(generatedArchiveId('tm', index))));
      const bytes = await bodyOf(await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'ten-million', jobId: job.JobId! })));
      expect(bytes.length).toBe(job.ArchiveSizeInBytes);
      expect(treeHash(bytes).toString('hex')).toBe(job.ArchiveSHA256TreeHash);
    });
    await Promise.all(lookups);

    const real = generatedArchiveId('tm', 77);
    const forged = [generatedArchiveId('tm', COUNT), generatedArchiveId('other-seed', 77), real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A')];
    for (const archiveId of forged) {
      await expect(initiate(h.clients.glacier, 'ten-million', retrieval(archiveId)), archiveId).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }

    const victim = generatedArchiveId('tm', 5_000_000);
    const victimSize = h.sim.world.glacier.store.getVault('us-east-1', 'ten-million').archives.get(victim)!.content.size;
    const { SizeInBytes } = await describeVault();
    await h.clients.glacier.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'ten-million', archiveId: victim }));
    // DescribeVault counts the last inventory: the deletion shows once the next one is taken.
    expect(await describeVault()).toMatchObject({ NumberOfArchives: COUNT, SizeInBytes });
    const store = h.sim.world.glacier.store;
    store.takeInventory(store.getVault('us-east-1', 'ten-million'));
    expect(await describeVault()).toMatchObject({ NumberOfArchives: COUNT - 1, SizeInBytes: SizeInBytes! - victimSize });
    await expect(initiate(h.clients.glacier, 'ten-million', retrieval(victim))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      h.clients.glacier.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'ten-million', archiveId: victim })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('ListJobs at scale', () => {
  const JOBS = 5000;
  let h: SimHarness;
  let initiated: Set<string>;
  beforeAll(async () => {
    h = await startSimHarness({ glacier: { jobDelaySeconds: { Standard: 1e9 }, vaults: [{ name: 'busy', seed: 'busy', count: 100 }] } });
    const limit = pLimit(32);
    const ids = await Promise.all(
      Array.from({ length: JOBS }, (_, i) => limit(() => initiate(h.clients.glacier, 'busy', retrieval(generatedArchiveId('busy', i % 100), 'Standard')))),
    );
    initiated = new Set(ids);
  });
  afterAll(() => h.stop());

  it('lists every job exactly once, in initiation order, 50 to a page', async () => {
    const listed: { JobId?: string; CreationDate?: string }[] = [];
    let pages = 0;
    for await (const page of paginateListJobs({ client: h.clients.glacier }, { accountId: '-', vaultName: 'busy' })) {
      pages++;
      expect(page.JobList!.length).toBeLessThanOrEqual(50);
      listed.push(...page.JobList!);
    }
    expect(pages).toBe(JOBS / 50);
    expect(listed).toHaveLength(JOBS);
    expect(new Set(listed.map((j) => j.JobId))).toEqual(initiated);
    const dates = listed.map((j) => j.CreationDate!);
    expect(dates).toEqual([...dates].sort());
  });

  it('takes a limit of at most 50, as Glacier does', async () => {
    const list = (limit: number) => h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'busy', limit }));
    expect((await list(50)).JobList).toHaveLength(50);
    expect((await list(7)).JobList).toHaveLength(7);
    await expect(list(51)).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(list(0)).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it('continues a listing whose marker job has gone meanwhile', async () => {
    const first = await h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'busy', limit: 10 }));
    const rest = await h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'busy', limit: 3, marker: first.Marker }));
    expect(rest.JobList![0]!.JobId).toBe(first.Marker);
    h.sim.world.glacier.store.getVault('us-east-1', 'busy').jobs.delete(first.Marker!);
    const resumed = await h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'busy', limit: 2, marker: first.Marker }));
    expect(resumed.JobList!.map((j) => j.JobId)).toEqual(rest.JobList!.slice(1).map((j) => j.JobId));
  });
});

it('forgets jobs whose output window has passed, rather than keeping them hidden', async () => {
  const h = await startSimHarness({ timeScale: 86_400 * 4, glacier: { jobDelaySeconds: { Bulk: 60 }, vaults: [{ name: 'brief', seed: 'brief', count: 10 }] } });
  try {
    const limit = pLimit(32);
    const ids = await Promise.all(Array.from({ length: 1000 }, (_, i) => limit(() => initiate(h.clients.glacier, 'brief', retrieval(generatedArchiveId('brief', i % 10))))));
    const jobs = h.sim.world.glacier.store.getVault('us-east-1', 'brief').jobs;
    expect(jobs.size).toBe(1000);
    await waitForJob(h.clients.glacier, 'brief', ids.at(-1)!);
    await new Promise((r) => setTimeout(r, 400)); // 24 simulated hours take 250 ms
    expect(jobs.size).toBe(0); // dropped together, a thousand being a batch
  } finally {
    await h.stop();
  }
});

describe('glacier-copy sim', () => {
  it('serves a ten-million-archive vault with latency, a rate limit and ranged job delays from its options', async () => {
    const child = spawn(
      process.execPath,
      [CLI_BIN, 'sim', '--port', '0', '--generated-vault', 'huge:10000000:huge', '--latency', '20', '--initiate-rate', '1', '--initiate-burst', '2', '--job-delay', '300-720', '--time-scale', '600', '--seed', '7'],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...TEST_ENV } },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const m = /listening on (\S+)/.exec(line);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
      });
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024;
      expect(rss).toBeLessThan(300 * 1024 * 1024);
      const clients = createAwsClients({ region: 'us-east-1', endpoint: url, maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
      try {
        const ms = await timed(() => clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'huge' })));
        expect(ms).toBeGreaterThanOrEqual(9);
        expect((await clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'huge' }))).NumberOfArchives).toBe(10_000_000);
        const results = await Promise.allSettled([0, 1, 2, 3].map((i) => initiate(clients.glacier, 'huge', retrieval(generatedArchiveId('huge', i)))));
        const accepted = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
        expect(accepted).toHaveLength(2);
        for (const jobId of accepted) {
          const job = await waitForJob(clients.glacier, 'huge', jobId);
          const seconds = (Date.parse(job.CompletionDate!) - Date.parse(job.CreationDate!)) / 1000;
          expect(seconds).toBeGreaterThanOrEqual(299);
          expect(seconds).toBeLessThan(720 + 120);
        }
      } finally {
        clients.destroy();
      }
    } finally {
      child.kill();
    }
  });
});
