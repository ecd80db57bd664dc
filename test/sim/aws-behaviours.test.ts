import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetJobOutputCommand, InitiateJobCommand, ListJobsCommand, SetDataRetrievalPolicyCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { bodyOf, startSimHarness, waitForJob, type SimHarness } from '../helpers/sim.js';
import { boto3, hasBoto3, reportMissing } from '../helpers/external.js';

const VAULT = 'behaviours';
const ARCHIVES = 7;

describe('AWS behaviours the simulator models', () => {
  let h: SimHarness;
  let glacier: GlacierClient;
  let archiveIds: string[];
  beforeAll(async () => {
    reportMissing();
    h = await startSimHarness({
      timeScale: 1000,
      glacier: {
        jobDelaySeconds: { Standard: 5, Bulk: 5, Expedited: 1, Inventory: 5 },
        vaults: [{ name: VAULT, seed: 'behaviours', archives: Array.from({ length: ARCHIVES }, (_, i) => ({ size: 1000 + i, description: `a/${i}` })) }],
      },
    });
    glacier = h.clients.glacier;
    archiveIds = [...h.sim.world.glacier.store.getVault('us-east-1', VAULT).archives.keys()];
    await h.clients.s3.send(new CreateBucketCommand({ Bucket: 'behaviours' }));
  });
  afterAll(() => h.stop());

  const retrieve = (tier: string, extra: Record<string, string> = {}) =>
    glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveIds[0], Tier: tier, ...extra } }));
  const inventory = (parameters?: Record<string, string>) =>
    glacier.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'inventory-retrieval', InventoryRetrievalParameters: parameters } }));
  const injected = (key: string) => h.sim.world.faults.injected.get(key) ?? 0;

  describe('retrieval jobs that fail', () => {
    it('completes a job hit by the fail fault as Failed with a message, in DescribeJob, ListJobs and its notification, with no output', async () => {
      const { TopicArn } = await h.clients.sns.send(new CreateTopicCommand({ Name: 'failures' }));
      const { QueueUrl } = await h.clients.sqs.send(new CreateQueueCommand({ QueueName: 'failures' }));
      const { Attributes } = await h.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      const policy = { Statement: [{ Effect: 'Allow', Principal: { Service: 'sns.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: Attributes!.QueueArn, Condition: { ArnEquals: { 'aws:SourceArn': TopicArn } } }] };
      await h.clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: JSON.stringify(policy) } }));
      await h.clients.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn, Attributes: { RawMessageDelivery: 'true' } }));

      h.sim.world.faults.configure('glacier.InitiateJob:fail@1');
      const { jobId } = await retrieve('Bulk', { SNSTopic: TopicArn! });
      const job = await waitForJob(glacier, VAULT, jobId!);
      expect(job).toMatchObject({ Completed: true, StatusCode: 'Failed', StatusMessage: expect.stringMatching(/failed/) });
      const listed = await glacier.send(new ListJobsCommand({ accountId: '-', vaultName: VAULT, statuscode: 'Failed' }));
      expect(listed.JobList!.map((j) => j.JobId)).toEqual([jobId]);
      await expect(glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: VAULT, jobId }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
      const { Messages } = await h.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
      expect(JSON.parse(Messages![0]!.Body!)).toMatchObject({ JobId: jobId, StatusCode: 'Failed', StatusMessage: job.StatusMessage });
      expect(injected('glacier.InitiateJob:fail')).toBe(1);
      // The next job is not affected.
      expect((await waitForJob(glacier, VAULT, (await retrieve('Bulk')).jobId!)).StatusCode).toBe('Succeeded');
    });
  });

  describe('limits that apply to one tier only', () => {
    it('answers InsufficientCapacityException (400) for Expedited retrievals only', async () => {
      h.sim.world.faults.configure('glacier.InitiateJob:capacity=1');
      await expect(retrieve('Expedited')).rejects.toMatchObject({ name: 'InsufficientCapacityException', $metadata: { httpStatusCode: 400 } });
      await expect(retrieve('Standard')).resolves.toMatchObject({ jobId: expect.any(String) });
      await expect(retrieve('Bulk')).resolves.toMatchObject({ jobId: expect.any(String) });
      expect(injected('glacier.InitiateJob:capacity')).toBe(1);
    });

    it('applies a data retrieval policy (the policy fault and a BytesPerHour policy) to Standard retrievals only', async () => {
      h.sim.world.faults.configure('glacier.InitiateJob:policy=1');
      await expect(retrieve('Standard')).rejects.toMatchObject({ name: 'PolicyEnforcedException', $metadata: { httpStatusCode: 400 } });
      await expect(retrieve('Bulk')).resolves.toMatchObject({ jobId: expect.any(String) });
      await expect(retrieve('Expedited')).resolves.toMatchObject({ jobId: expect.any(String) });
      h.sim.world.faults.configure('');
      await glacier.send(new SetDataRetrievalPolicyCommand({ accountId: '-', Policy: { Rules: [{ Strategy: 'BytesPerHour', BytesPerHour: 1 }] } }));
      try {
        await expect(retrieve('Standard')).rejects.toMatchObject({ name: 'PolicyEnforcedException' });
        await expect(retrieve('Bulk')).resolves.toMatchObject({ jobId: expect.any(String) });
      } finally {
        await glacier.send(new SetDataRetrievalPolicyCommand({ accountId: '-', Policy: { Rules: [{ Strategy: 'FreeTier' }] } }));
      }
    });
  });

  describe('ListJobs parameters', () => {
    it('rejects an invalid statuscode, completed or limit with InvalidParameterValueException', async () => {
      for (const input of [{ statuscode: 'Done' }, { statuscode: 'succeeded' }, { completed: 'yes' }, { limit: 0 }, { limit: 51 }, { limit: NaN }]) {
        await expect(glacier.send(new ListJobsCommand({ accountId: '-', vaultName: VAULT, ...input })), JSON.stringify(input)).rejects.toMatchObject({
          name: 'InvalidParameterValueException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      for (const statuscode of ['InProgress', 'Succeeded', 'Failed']) {
        const { JobList } = await glacier.send(new ListJobsCommand({ accountId: '-', vaultName: VAULT, statuscode }));
        expect(JobList!.every((j) => j.StatusCode === statuscode)).toBe(true);
      }
    });
  });

  describe('range inventory retrievals (InventoryRetrievalParameters)', () => {
    const ids = async (jobId: string) => {
      const out = await glacier.send(new GetJobOutputCommand({ accountId: '-', vaultName: VAULT, jobId }));
      return (JSON.parse((await bodyOf(out)).toString()) as { ArchiveList: { ArchiveId: string }[] }).ArchiveList.map((a) => a.ArchiveId);
    };

    it('lists Limit archives at a time, with the Marker to continue from in DescribeJob, null after the last page', async () => {
      const pages: string[][] = [];
      let marker: string | undefined;
      do {
        const { jobId } = await inventory({ Limit: '3', ...(marker && { Marker: marker }) });
        const job = await waitForJob(glacier, VAULT, jobId!);
        expect(job.InventoryRetrievalParameters).toMatchObject({ Format: 'JSON', Limit: '3' });
        pages.push(await ids(jobId!));
        marker = job.InventoryRetrievalParameters!.Marker ?? undefined;
      } while (marker);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(archiveIds);
    });

    it('lists the archives created in [StartDate, EndDate), and the whole vault without parameters', async () => {
      const created = Date.parse(h.sim.world.glacier.store.getVault('us-east-1', VAULT).archives.get(archiveIds[0]!)!.creationDate);
      const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
      const before = await waitForJob(glacier, VAULT, (await inventory({ EndDate: iso(created - 1000) })).jobId!);
      expect(await ids(before.JobId!)).toEqual([]);
      const unset = (p: object | undefined, ...names: string[]) => names.every((n) => (p as Record<string, unknown>)[n] == null);
      expect(before.InventoryRetrievalParameters).toMatchObject({ EndDate: iso(created - 1000) });
      expect(unset(before.InventoryRetrievalParameters, 'StartDate', 'Limit', 'Marker')).toBe(true);
      const around = await waitForJob(glacier, VAULT, (await inventory({ StartDate: iso(created - 1000), EndDate: iso(created + 1000) })).jobId!);
      expect(await ids(around.JobId!)).toEqual(archiveIds);
      const whole = await waitForJob(glacier, VAULT, (await inventory()).jobId!);
      expect(whole.InventoryRetrievalParameters?.Format).toBe('JSON');
      expect(unset(whole.InventoryRetrievalParameters, 'StartDate', 'EndDate', 'Limit', 'Marker')).toBe(true);
      expect(await ids(whole.JobId!)).toEqual(archiveIds);
    });

    it('rejects a bad Limit, date or Marker with InvalidParameterValueException', async () => {
      for (const parameters of <Record<string, string>[]>[{ Limit: '0' }, { Limit: 'x' }, { StartDate: 'yesterday' }, { Marker: 'not-a-marker' }, { StartDate: '2020-01-02T00:00:00Z', EndDate: '2020-01-01T00:00:00Z' }]) {
        await expect(inventory(parameters), JSON.stringify(parameters)).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
      }
    });
  });

  describe('S3 conditional writes and encryption', () => {
    it('answers a conditional write hit by the conflict fault with 409 ConditionalRequestConflict, and an unconditional one normally', async () => {
      h.sim.world.faults.configure('s3.PutObject:conflict=1;s3.CompleteMultipartUpload:conflict=1');
      const put = (extra: { IfNoneMatch?: string }) => h.clients.s3.send(new PutObjectCommand({ Bucket: 'behaviours', Key: 'raced', Body: 'x', ...extra }));
      await expect(put({ IfNoneMatch: '*' })).rejects.toMatchObject({ name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } });
      await expect(put({})).resolves.toBeDefined();
      const { UploadId } = await h.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: 'behaviours', Key: 'raced-mpu' }));
      const { ETag } = await h.clients.s3.send(new UploadPartCommand({ Bucket: 'behaviours', Key: 'raced-mpu', UploadId, PartNumber: 1, Body: 'y' }));
      const complete = () =>
        h.clients.s3.send(
          new CompleteMultipartUploadCommand({ Bucket: 'behaviours', Key: 'raced-mpu', UploadId, IfNoneMatch: '*', MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }),
        );
      await expect(complete()).rejects.toMatchObject({ name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } });
      h.sim.world.faults.configure('');
      // The upload is still there: completing it again works.
      await expect(complete()).resolves.toMatchObject({ Key: 'raced-mpu' });
    });

    it('reports SSE-KMS as aws:kms with the key ARN on every write and read, and refuses invalid encryption settings', async () => {
      const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';
      const keyArn = `arn:aws:kms:us-east-1:${h.sim.world.accountId}:key/${keyId}`;
      const put = await h.clients.s3.send(new PutObjectCommand({ Bucket: 'behaviours', Key: 'kms', Body: 'k', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyId }));
      expect(put).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      expect(await h.clients.s3.send(new HeadObjectCommand({ Bucket: 'behaviours', Key: 'kms' }))).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      // Without a key: the account's AWS managed key.
      const managed = await h.clients.s3.send(new PutObjectCommand({ Bucket: 'behaviours', Key: 'kms-default', Body: 'k', ServerSideEncryption: 'aws:kms' }));
      expect(managed.SSEKMSKeyId).toMatch(new RegExp(`^arn:aws:kms:us-east-1:${h.sim.world.accountId}:key/[0-9a-f-]{36}$`));

      const created = await h.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: 'behaviours', Key: 'kms-mpu', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn }));
      expect(created).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      const part = await h.clients.s3.send(new UploadPartCommand({ Bucket: 'behaviours', Key: 'kms-mpu', UploadId: created.UploadId, PartNumber: 1, Body: 'p' }));
      expect(part).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      const done = await h.clients.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: 'behaviours', Key: 'kms-mpu', UploadId: created.UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }),
      );
      expect(done).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      expect(await h.clients.s3.send(new HeadObjectCommand({ Bucket: 'behaviours', Key: 'kms-mpu' }))).toMatchObject({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: keyArn });
      expect(await h.clients.s3.send(new PutObjectCommand({ Bucket: 'behaviours', Key: 'plain', Body: 'p' }))).toMatchObject({ ServerSideEncryption: 'AES256' });

      const refused = { name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } };
      const bad = (extra: Record<string, string>) => new PutObjectCommand({ Bucket: 'behaviours', Key: 'bad-sse', Body: 'b', ...extra });
      await expect(h.clients.s3.send(bad({ ServerSideEncryption: 'AES512' }))).rejects.toMatchObject(refused);
      await expect(h.clients.s3.send(bad({ SSEKMSKeyId: keyId }))).rejects.toMatchObject(refused);
      await expect(h.clients.s3.send(bad({ ServerSideEncryption: 'AES256', SSEKMSKeyId: keyId }))).rejects.toMatchObject(refused);
      await expect(h.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: 'behaviours', Key: 'bad-sse', ServerSideEncryption: 'rot13' as 'AES256' }))).rejects.toMatchObject(refused);
    });
  });

  it.skipIf(!hasBoto3)('serves boto3: a range inventory with its marker, ListJobs validation, a failed job', async () => {
    h.sim.world.faults.configure('glacier.InitiateJob:fail@2');
    const out = await boto3(
      h.sim.url,
      `
import boto3, json, os, time
from botocore.exceptions import ClientError
g = boto3.client('glacier', endpoint_url=os.environ['ENDPOINT'])
def wait(job_id):
    while True:
        job = g.describe_job(vaultName='${VAULT}', jobId=job_id)
        if job['Completed']:
            return job
        time.sleep(0.01)
page = wait(g.initiate_job(vaultName='${VAULT}', jobParameters={'Type': 'inventory-retrieval', 'InventoryRetrievalParameters': {'Limit': '5'}})['jobId'])
failed = wait(g.initiate_job(vaultName='${VAULT}', jobParameters={'Type': 'archive-retrieval', 'ArchiveId': '${archiveIds[0]}', 'Tier': 'Bulk'})['jobId'])
try:
    g.list_jobs(vaultName='${VAULT}', statuscode='Finished')
    error = None
except ClientError as e:
    error = e.response['Error']['Code']
print(json.dumps({'marker': page['InventoryRetrievalParameters']['Marker'], 'limit': page['InventoryRetrievalParameters']['Limit'], 'failed': failed['StatusCode'], 'error': error}))
`,
    );
    h.sim.world.faults.configure('');
    const result = JSON.parse(out) as { marker: string | null; limit: string; failed: string; error: string };
    expect(result).toMatchObject({ marker: expect.any(String), limit: '5', failed: 'Failed', error: 'InvalidParameterValueException' });
  });
});
