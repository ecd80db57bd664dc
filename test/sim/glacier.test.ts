import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateVaultCommand,
  DescribeJobCommand,
  DescribeVaultCommand,
  GetJobOutputCommand,
  InitiateJobCommand,
  InitiateMultipartUploadCommand,
  ListJobsCommand,
  SetDataRetrievalPolicyCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
} from '@aws-sdk/client-glacier';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { bodyOf, startSimHarness, waitForJob, type SimHarness } from '../helpers/sim.js';
import { waitUntil } from '../helpers/copy-world.js';
import { loadVectors, vectorContent } from '../helpers/vectors.js';
import { MIB, treeHash } from '../../src/verify/tree-hash.js';
import { generateArchiveList } from '../../src/sim/glacier/generate.js';
import { createAwsClients } from '../../src/aws/clients.js';

const vectors = loadVectors();
const DELAY = { Expedited: 1, Standard: 2, Bulk: 3, Inventory: 2 }; // simulated seconds
const SCALE = 100; // so jobs complete in 10-30 ms of wall time; the 24 h window lasts 864 s

async function retrieve(h: SimHarness, vaultName: string, archiveId: string, extra: Record<string, string> = {}) {
  const { jobId } = await h.clients.glacier.send(
    new InitiateJobCommand({ accountId: '-', vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk', ...extra } }),
  );
  return waitForJob(h.clients.glacier, vaultName, jobId!);
}

describe('simulated Glacier', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness({
      timeScale: SCALE,
      glacier: {
        jobDelaySeconds: DELAY,
        vaults: [{ name: 'generated', seed: 7, archives: generateArchiveList({ count: 24, seed: 7 }) }],
      },
    });
    await h.clients.glacier.send(new CreateVaultCommand({ accountId: '-', vaultName: 'vectors' }));
  });
  afterAll(() => h.stop());

  // The SDK cannot upload an empty body (its tree-hash middleware fails on it); the 0-byte vector is checked
  // on a generated archive below.
  it('stores uploads and returns the vectors\' tree hashes for whole archives', async () => {
    for (const v of vectors.tree_hash.filter((t) => t.size > 0)) {
      const up = await h.clients.glacier.send(
        new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: vectorContent(v.size), archiveDescription: `size ${v.size}` }),
      );
      expect(up.checksum).toBe(v.sha256_tree_hash);
      const job = await retrieve(h, 'vectors', up.archiveId!);
      expect(job.SHA256TreeHash).toBe(v.sha256_tree_hash);
      expect(job.ArchiveSHA256TreeHash).toBe(v.sha256_tree_hash);
      const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'vectors', jobId: job.JobId! }));
      expect(out.checksum).toBe(v.sha256_tree_hash);
      expect((await bodyOf(out)).equals(vectorContent(v.size))).toBe(true);
    }
  });

  it('serves a zero-byte archive with the tree hash of empty input', async () => {
    const empty = vectors.tree_hash.find((t) => t.size === 0)!;
    h.sim.world.glacier.store.addGeneratedVault({ name: 'empty', seed: 0, archives: [{ size: 0, description: '' }] });
    const archiveId = [...h.sim.world.glacier.store.getVault('us-east-1', 'empty').archives.keys()][0]!;
    const job = await retrieve(h, 'empty', archiveId);
    expect(job.ArchiveSHA256TreeHash).toBe(empty.sha256_tree_hash);
    const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'empty', jobId: job.JobId! }));
    expect(out.checksum).toBe(empty.sha256_tree_hash);
    expect((await bodyOf(out)).length).toBe(0);
  });

  it('rejects an upload whose tree hash does not match its bytes', async () => {
    await expect(
      h.clients.glacier.send(
        new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: Buffer.from('abc'), checksum: 'ab'.repeat(32) }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  it('returns a range tree hash exactly when the range is tree-hash aligned', async () => {
    const size = 8400953;
    const up = await h.clients.glacier.send(
      new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: vectorContent(size) }),
    );
    const job = await retrieve(h, 'vectors', up.archiveId!);
    for (const v of vectors.range_tree_hash) {
      const out = await h.clients.glacier.send(
        new GetJobOutputCommand({ accountId: '-', vaultName: 'vectors', jobId: job.JobId!, range: `bytes=${v.range_start}-${v.range_end_exclusive - 1}` }),
      );
      const body = await bodyOf(out);
      expect(body.equals(vectorContent(size).subarray(v.range_start, v.range_end_exclusive))).toBe(true);
      expect(treeHash(body).toString('hex')).toBe(v.sha256_tree_hash);
      const aligned = !(v.range_start === MIB && v.range_end_exclusive === 3 * MIB);
      expect(out.checksum, `range ${v.range_start}-${v.range_end_exclusive}`).toBe(aligned ? v.sha256_tree_hash : undefined);
      expect(out.status).toBe(206);
      expect(out.contentRange).toBe(`bytes ${v.range_start}-${v.range_end_exclusive - 1}/${size}`);
    }
  });

  it('retrieves a RetrievalByteRange and checks its alignment rules', async () => {
    const size = 5 * MIB + 3;
    const data = vectorContent(size);
    const up = await h.clients.glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: data }));
    const job = await retrieve(h, 'vectors', up.archiveId!, { RetrievalByteRange: `${4 * MIB}-${size - 1}` });
    expect(job.RetrievalByteRange).toBe(`${4 * MIB}-${size - 1}`);
    expect(job.SHA256TreeHash).toBe(treeHash(data.subarray(4 * MIB)).toString('hex'));
    const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'vectors', jobId: job.JobId! }));
    expect((await bodyOf(out)).equals(data.subarray(4 * MIB))).toBe(true);
    for (const bad of [`1-${MIB - 1}`, `0-${MIB}`, `0-${size}`]) {
      await expect(
        h.clients.glacier.send(
          new InitiateJobCommand({ accountId: '-', vaultName: 'vectors', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId, RetrievalByteRange: bad } }),
        ),
        bad,
      ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    }
  });

  it('assembles multipart archive uploads and checks each part\'s tree hash', async () => {
    const data = vectorContent(3 * MIB + 100);
    const { uploadId } = await h.clients.glacier.send(
      new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'vectors', partSize: String(MIB), archiveDescription: 'multi' }),
    );
    for (let start = 0; start < data.length; start += MIB) {
      const part = data.subarray(start, start + MIB);
      await h.clients.glacier.send(
        new UploadMultipartPartCommand({ accountId: '-', vaultName: 'vectors', uploadId, range: `bytes ${start}-${start + part.length - 1}/*`, body: part }),
      );
    }
    const done = await h.clients.glacier.send(
      new CompleteMultipartUploadCommand({ accountId: '-', vaultName: 'vectors', uploadId, archiveSize: String(data.length), checksum: treeHash(data).toString('hex') }),
    );
    expect(done.checksum).toBe(treeHash(data).toString('hex'));
  });

  it('keeps jobs in progress for their tier\'s delay and refuses their output meanwhile', async () => {
    // A delay no test run outlasts, so that the job is surely still in progress when asked.
    const delays = h.sim.world.glacier.store.options.jobDelaySeconds!;
    const usual = delays.Inventory;
    delays.Inventory = 1e9;
    const { jobId } = await h.clients.glacier.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'generated', jobParameters: { Type: 'inventory-retrieval' } }),
    );
    const early = await h.clients.glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'generated', jobId }));
    expect(early.StatusCode).toBe('InProgress');
    await expect(
      h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'generated', jobId })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringMatching(/not currently available/) });
    const listed = await h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'generated', completed: 'false' }));
    expect(listed.JobList!.map((j) => j.JobId)).toContain(jobId);
    delays.Inventory = usual;
  });

  it('serves JSON and CSV inventories of a generated vault that match its archives', async () => {
    const vault = await h.clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'generated' }));
    expect(vault.NumberOfArchives).toBe(24);
    for (const Format of ['JSON', 'CSV'] as const) {
      const { jobId } = await h.clients.glacier.send(
        new InitiateJobCommand({ accountId: '-', vaultName: 'generated', jobParameters: { Type: 'inventory-retrieval', Format } }),
      );
      const job = await waitForJob(h.clients.glacier, 'generated', jobId!);
      expect(job.InventoryRetrievalParameters?.Format).toBe(Format);
      const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'generated', jobId }));
      const text = (await bodyOf(out)).toString('utf8');
      if (Format === 'JSON') {
        const inv = JSON.parse(text) as { VaultARN: string; ArchiveList: { ArchiveId: string; Size: number; SHA256TreeHash: string }[] };
        expect(inv.VaultARN).toBe(vault.VaultARN);
        expect(inv.ArchiveList).toHaveLength(24);
        // Every archive's bytes hash to what the inventory says.
        for (const a of inv.ArchiveList.slice(0, 6)) {
          const j = await retrieve(h, 'generated', a.ArchiveId);
          const o = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'generated', jobId: j.JobId! }));
          const bytes = await bodyOf(o);
          expect(bytes.length).toBe(a.Size);
          expect(treeHash(bytes).toString('hex')).toBe(a.SHA256TreeHash);
        }
      } else {
        const lines = text.split('\r\n');
        expect(lines[0]).toBe('ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
        expect(lines.filter(Boolean)).toHaveLength(25);
      }
    }
  });

  it('generates distinct bytes for every leaf so misplaced chunks cannot pass verification', async () => {
    const spec = { name: 'big', seed: 'leaves', archives: [{ size: 4 * MIB, description: 'a' }, { size: 4 * MIB, description: 'b' }] };
    h.sim.world.glacier.store.addGeneratedVault(spec);
    const hashes = new Set<string>();
    const inv = await (async () => {
      const { jobId } = await h.clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'big', jobParameters: { Type: 'inventory-retrieval' } }));
      await waitForJob(h.clients.glacier, 'big', jobId!);
      const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'big', jobId }));
      return JSON.parse((await bodyOf(out)).toString()) as { ArchiveList: { ArchiveId: string }[] };
    })();
    for (const a of inv.ArchiveList) {
      const job = await retrieve(h, 'big', a.ArchiveId);
      const bytes = await bodyOf(await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'big', jobId: job.JobId! })));
      for (let i = 0; i < bytes.length; i += MIB) hashes.add(createHash('sha256').update(bytes.subarray(i, i + MIB)).digest('hex'));
      expect(treeHash(bytes).toString('hex')).toBe(job.ArchiveSHA256TreeHash);
    }
    expect(hashes.size).toBe(8);
  });

  it('notifies the job\'s SNS topic with the DescribeJob document', async () => {
    const { TopicArn } = await h.clients.sns.send(new CreateTopicCommand({ Name: 'jobs' }));
    const { QueueUrl } = await h.clients.sqs.send(new CreateQueueCommand({ QueueName: 'jobs' }));
    const attrs = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const QueueArn = attrs.Attributes!.QueueArn!;
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: QueueArn, Condition: { ArnEquals: { 'aws:SourceArn': TopicArn } } }],
    });
    await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy } }));
    await h.clients.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
    const up = await h.clients.glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: vectorContent(10) }));
    const { jobId } = await h.clients.glacier.send(
      new InitiateJobCommand({ accountId: '-', vaultName: 'vectors', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId, SNSTopic: TopicArn } }),
    );
    const received = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    const doc = JSON.parse(received.Messages![0]!.Body!) as Record<string, unknown>;
    expect(doc).toMatchObject({ JobId: jobId, Action: 'ArchiveRetrieval', StatusCode: 'Succeeded', ArchiveId: up.archiveId, SNSTopic: TopicArn, Completed: true });
  });

  it('enforces a BytesPerHour data retrieval policy', async () => {
    await h.clients.glacier.send(new SetDataRetrievalPolicyCommand({ accountId: '-', Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1 }] } }));
    const up = await h.clients.glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'vectors', body: vectorContent(10) }));
    await expect(
      h.clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'vectors', jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId } })),
    ).rejects.toMatchObject({ name: 'PolicyEnforcedException' });
    await h.clients.glacier.send(new SetDataRetrievalPolicyCommand({ accountId: '-', Policy: { Rules: [{ Strategy: 'FreeTier' }] } }));
  });

  it('answers an unknown vault, or a vault asked for in another region, with ResourceNotFoundException', async () => {
    await expect(
      h.clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const elsewhere = createAwsClients({ region: 'eu-west-1', endpoint: h.sim.url, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      await expect(
        elsewhere.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'generated' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: expect.stringContaining('eu-west-1') });
    } finally {
      elsewhere.destroy();
    }
  });
});

describe('simulated Glacier output window', () => {
  it('forgets a job 24 simulated hours after it completes', async () => {
    const h = await startSimHarness({
      timeScale: 86400 * 4, // a simulated day per 250 ms
      glacier: { jobDelaySeconds: { Bulk: 60 }, vaults: [{ name: 'v', seed: 1, archives: [{ size: 100, description: 'x' }] }] },
    });
    try {
      const inv = h.sim.world.glacier.store.getVault('us-east-1', 'v');
      const archiveId = [...inv.archives.keys()][0]!;
      const job = await retrieve(h, 'v', archiveId);
      await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! }));
      await new Promise((r) => setTimeout(r, 300));
      await expect(
        h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! })),
      ).rejects.toMatchObject({ name: 'ResourceNotFoundException', message: expect.stringMatching(/job ID was not found/) });
      const listed = await h.clients.glacier.send(new ListJobsCommand({ accountId: '-', vaultName: 'v' }));
      expect(listed.JobList).toHaveLength(0);
    } finally {
      await h.stop();
    }
  });
});

describe("simulated Glacier's daily vault inventory", () => {
  // A simulated day in about 2 s: an inventory is due a few times within a test, jobs take 10-20 ms.
  const DAY_SCALE = 43_200;
  let h: SimHarness;
  beforeAll(async () => {
    h = await startSimHarness({ timeScale: DAY_SCALE, glacier: { jobDelaySeconds: { Inventory: 600, Bulk: 600, Standard: 600, Expedited: 60 } } });
  });
  afterAll(() => h.stop());

  const describeVault = (vaultName: string) => h.clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName }));
  const upload = async (vaultName: string, text: string) => {
    const { archiveId } = await h.clients.glacier.send(new UploadArchiveCommand({ accountId: '-', vaultName, body: Buffer.from(text) }));
    return { id: archiveId!, createdAt: h.sim.world.glacier.store.getVault('us-east-1', vaultName).archives.get(archiveId!)!.creationDate };
  };
  const inventory = async (vaultName: string) => {
    const { jobId } = await h.clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName, jobParameters: { Type: 'inventory-retrieval' } }));
    await waitForJob(h.clients.glacier, vaultName, jobId!);
    const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId }));
    return JSON.parse((await bodyOf(out)).toString()) as { InventoryDate: string; ArchiveList: { ArchiveId: string }[] };
  };

  it('has no inventory before the first: DescribeVault counts are null and an inventory job is refused', async () => {
    await h.clients.glacier.send(new CreateVaultCommand({ accountId: '-', vaultName: 'fresh' }));
    const vault = await describeVault('fresh');
    expect({ date: vault.LastInventoryDate, archives: vault.NumberOfArchives, bytes: vault.SizeInBytes }).toEqual({ date: undefined, archives: undefined, bytes: undefined });
    await expect(
      h.clients.glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: 'fresh', jobParameters: { Type: 'inventory-retrieval' } })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('lists and counts the vault as of its last daily inventory, not as it is now', async () => {
    await h.clients.glacier.send(new CreateVaultCommand({ accountId: '-', vaultName: 'daily' }));
    const first = await upload('daily', 'first');
    await waitUntil(async () => (await describeVault('daily')).NumberOfArchives === 1, 'the first inventory lists the first archive');
    const second = await upload('daily', 'second');
    const { LastInventoryDate, NumberOfArchives, SizeInBytes } = await describeVault('daily');
    // Counts describe the inventory: the second archive only once an inventory was taken after its upload.
    const listsSecond = Date.parse(LastInventoryDate!) >= Date.parse(second.createdAt);
    expect({ NumberOfArchives, SizeInBytes }).toEqual(listsSecond ? { NumberOfArchives: 2, SizeInBytes: 11 } : { NumberOfArchives: 1, SizeInBytes: 5 });
    const document = await inventory('daily');
    const listed = document.ArchiveList.map((a) => a.ArchiveId);
    expect(listed).toContain(first.id);
    expect(listed.includes(second.id)).toBe(Date.parse(document.InventoryDate) >= Date.parse(second.createdAt));
    await waitUntil(async () => (await describeVault('daily')).NumberOfArchives === 2, 'a later inventory lists the second archive');
    expect((await inventory('daily')).ArchiveList.map((a) => a.ArchiveId)).toEqual([first.id, second.id]);
  });

  it('keeps the inventory date while the vault does not change, and starts a generated vault with an inventory', async () => {
    h.sim.world.glacier.store.addGeneratedVault({ name: 'generated-daily', seed: 3, archives: generateArchiveList({ count: 5, seed: 3 }) });
    const vault = h.sim.world.glacier.store.getVault('us-east-1', 'generated-daily');
    const generatedAt = vault.inventory!.date;
    // Taken as it was made, not a day later.
    expect(Date.parse(generatedAt) - Date.parse(vault.creationDate)).toBeLessThan(86_400_000);
    expect(await describeVault('generated-daily')).toMatchObject({ NumberOfArchives: 5, LastInventoryDate: generatedAt });
    expect((await inventory('generated-daily')).ArchiveList).toHaveLength(5);
    // Two simulated days later nothing changed, so no newer inventory was dated.
    const twoDaysLater = h.sim.world.clock.nowMs() + 2 * 86_400_000;
    await waitUntil(() => h.sim.world.clock.nowMs() > twoDaysLater, 'two simulated days have passed');
    expect((await describeVault('generated-daily')).LastInventoryDate).toEqual(generatedAt);
  });
});
