import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DescribeJobCommand,
  GetJobOutputCommand,
  InitiateJobCommand,
  ListVaultsCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { startSimHarness, type SimHarness } from '../helpers/sim.js';
import { parseFaultSpec } from '../../src/sim/faults.js';
import { treeHash } from '../../src/verify/tree-hash.js';

const ARCHIVE_SIZE = 3 * 1024 * 1024 + 17;

async function readAll(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function completedJob(glacier: GlacierClient, archiveId: string, extra: Record<string, string> = {}) {
  const { jobId } = await glacier.send(
    new InitiateJobCommand({ accountId: '-', vaultName: 'v', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, ...extra } }),
  );
  for (;;) {
    const job = await glacier.send(new DescribeJobCommand({ accountId: '-', vaultName: 'v', jobId }));
    if (job.Completed) return job;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('simulator fault injection', () => {
  let h: SimHarness;
  let archiveId: string;
  beforeAll(async () => {
    h = await startSimHarness({
      timeScale: 1000,
      glacier: { jobDelaySeconds: { Standard: 5, Bulk: 5 }, vaults: [{ name: 'v', seed: 'faults', archives: [{ size: ARCHIVE_SIZE, description: 'f' }] }] },
    });
    archiveId = [...h.sim.world.glacier.store.getVault('us-east-1', 'v').archives.keys()][0]!;
    await h.clients.s3.send(new CreateBucketCommand({ Bucket: 'fault-bucket' }));
  });
  afterAll(() => h.stop());

  it('rejects malformed fault rules with a message naming the rule', () => {
    expect(() => parseFaultSpec('glacier.GetJobOutput:melt=0.5')).toThrow(/unknown kind "melt"/);
    expect(() => parseFaultSpec('glacier.GetJobOutput:corrupt=2')).toThrow(/probability/);
    expect(() => parseFaultSpec('nonsense')).toThrow(/bad fault rule "nonsense"/);
  });

  it('answers with each service\'s own throttling and server errors on the scripted calls only', async () => {
    h.sim.world.faults.configure('glacier.ListVaults:throttle@1;glacier.ListVaults:503@2;s3.HeadBucket:500@1');
    await expect(h.clients.glacier.send(new ListVaultsCommand({ accountId: '-' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(h.clients.glacier.send(new ListVaultsCommand({ accountId: '-' }))).rejects.toMatchObject({ name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 503 } });
    await expect(h.clients.glacier.send(new ListVaultsCommand({ accountId: '-' }))).resolves.toBeDefined();
    await expect(h.clients.s3.send(new HeadBucketCommand({ Bucket: 'fault-bucket' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    await expect(h.clients.s3.send(new HeadBucketCommand({ Bucket: 'fault-bucket' }))).resolves.toBeDefined();
    expect(h.sim.world.faults.injected.get('glacier.ListVaults:throttle')).toBe(1);
    expect(h.sim.world.faults.injected.get('s3.HeadBucket:500')).toBe(1);
  });

  it('flips a byte of GetJobOutput while the tree-hash header keeps the true hash', async () => {
    h.sim.world.faults.configure('');
    const job = await completedJob(h.clients.glacier, archiveId);
    h.sim.world.faults.configure('glacier.GetJobOutput:corrupt@1');
    const bad = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! }));
    const badBytes = await readAll(bad.body);
    expect(badBytes.length).toBe(ARCHIVE_SIZE);
    expect(bad.checksum).toBe(job.ArchiveSHA256TreeHash);
    expect(treeHash(badBytes).toString('hex')).not.toBe(bad.checksum);
    const good = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! }));
    expect(treeHash(await readAll(good.body)).toString('hex')).toBe(good.checksum);
  });

  it('cuts the connection halfway through a GetJobOutput body', async () => {
    const job = await completedJob(h.clients.glacier, archiveId);
    h.sim.world.faults.configure('glacier.GetJobOutput:reset@1');
    const out = await h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! }));
    await expect(readAll(out.body)).rejects.toThrow();
  });

  it('drops, then duplicates, job notifications', async () => {
    h.sim.world.faults.configure('');
    const { TopicArn } = await h.clients.sns.send(new CreateTopicCommand({ Name: 'fault-notes' }));
    const { QueueUrl } = await h.clients.sqs.send(new CreateQueueCommand({ QueueName: 'fault-notes' }));
    const { Attributes } = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const Policy = JSON.stringify({
      Statement: [{ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: Attributes!.QueueArn, Condition: { ArnEquals: { 'aws:SourceArn': TopicArn } } }],
    });
    await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy } }));
    await h.clients.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));
    const receiveAll = async () => {
      const out = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 300 }));
      return (out.Messages ?? []).map((m) => JSON.parse(m.Body!) as { JobId: string });
    };
    h.sim.world.faults.configure('glacier.JobNotification:drop@1');
    const dropped = await completedJob(h.clients.glacier, archiveId, { SNSTopic: TopicArn! });
    expect(await receiveAll()).toEqual([]);
    h.sim.world.faults.configure('glacier.JobNotification:duplicate@1');
    const doubled = await completedJob(h.clients.glacier, archiveId, { SNSTopic: TopicArn! });
    const notes = await receiveAll();
    expect(notes.map((n) => n.JobId)).toEqual([doubled.JobId, doubled.JobId]);
    expect(dropped.StatusCode).toBe('Succeeded');
  });

  it('refuses InitiateJob under a data retrieval policy fault and expires a job\'s output early', async () => {
    h.sim.world.faults.configure('glacier.InitiateJob:policy@1;glacier.InitiateJob:expire@2');
    await expect(completedJob(h.clients.glacier, archiveId)).rejects.toMatchObject({ name: 'PolicyEnforcedException' });
    const job = await completedJob(h.clients.glacier, archiveId);
    // The early window is 1/100 of 24 h: 864 simulated seconds, under a second at this scale.
    await new Promise((r) => setTimeout(r, 1200));
    await expect(
      h.clients.glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'v', jobId: job.JobId! })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
