import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resumeArgs, runCli, spawnCli } from '../helpers/cli.js';
import { mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** The IAM action each API operation needs (an operation may need more than one). */
const IAM_ACTIONS: Record<string, string[]> = {
  'glacier:DescribeVault': ['glacier:DescribeVault'],
  'glacier:InitiateJob': ['glacier:InitiateJob'],
  'glacier:DescribeJob': ['glacier:DescribeJob'],
  'glacier:ListJobs': ['glacier:ListJobs'],
  'glacier:GetJobOutput': ['glacier:GetJobOutput'],
  's3:HeadBucket': ['s3:ListBucket'],
  's3:ListObjectsV2': ['s3:ListBucket'],
  's3:PutObject': ['s3:PutObject'],
  's3:CreateMultipartUpload': ['s3:PutObject'],
  's3:UploadPart': ['s3:PutObject'],
  's3:CompleteMultipartUpload': ['s3:PutObject'],
  's3:AbortMultipartUpload': ['s3:AbortMultipartUpload'],
  's3:ListMultipartUploads': ['s3:ListBucketMultipartUploads'],
  's3:ListParts': ['s3:ListMultipartUploadParts'],
  's3:HeadObject': ['s3:GetObject'],
  's3:GetObject': ['s3:GetObject'],
  's3:DeleteObject': ['s3:DeleteObject'], // the transfer's marker on the target, when the run ends
  'sns:CreateTopic': ['sns:CreateTopic', 'sns:TagResource'], // created with tags
  'sns:Subscribe': ['sns:Subscribe'],
  'sns:Unsubscribe': ['sns:Unsubscribe'],
  'sns:DeleteTopic': ['sns:DeleteTopic'],
  'sqs:CreateQueue': ['sqs:CreateQueue', 'sqs:TagQueue'], // created with tags
  'sqs:GetQueueAttributes': ['sqs:GetQueueAttributes'],
  'sqs:SetQueueAttributes': ['sqs:SetQueueAttributes'],
  'sqs:ReceiveMessage': ['sqs:ReceiveMessage'],
  'sqs:DeleteMessage': ['sqs:DeleteMessage'],
  'sqs:DeleteMessageBatch': ['sqs:DeleteMessage'],
  'sqs:DeleteQueue': ['sqs:DeleteQueue'],
};

/**
 * What S3 itself asks of KMS, on the caller's behalf, for a write under SSE-KMS (S3 user guide, "Multipart upload
 * API and permissions": a multipart upload under a KMS key needs kms:GenerateDataKey and kms:Decrypt).
 */
const KMS_ACTIONS: Record<string, string[]> = {
  's3:PutObject': ['kms:GenerateDataKey'],
  's3:CreateMultipartUpload': ['kms:GenerateDataKey', 'kms:Decrypt'],
};

const policy = JSON.parse(readFileSync(new URL('../../docs/iam-policy.json', import.meta.url), 'utf8')) as {
  Statement: { Action: string[]; Resource: string; Condition?: Record<string, Record<string, string>> }[];
};
const allowed = new Set(policy.Statement.flatMap((s) => s.Action));

describe('docs/iam-policy.json', () => {
  let world: CopyWorld;
  beforeAll(async () => {
    const archives = mixedArchives(16, 'iam');
    archives[2]!.size = 9 * 1024 * 1024; // a second multipart archive besides archives[1]
    world = await startCopyWorld({
      vaults: [
        { name: 'iam', seed: 'iam', archives },
        { name: 'iam-small', seed: 'small', archives: mixedArchives(3, 'small') },
      ],
      buckets: ['iam-bucket', 'iam-small-bucket'],
      // Expired outputs, corrupted bytes and a failed Complete take the tool down its rarer paths too.
      faults: 'glacier.InitiateJob:expire@3;glacier.GetJobOutput:corrupt@2;s3.CompleteMultipartUpload:500@1',
    });
  });
  afterAll(() => world?.stop());

  it('lists exactly the actions the tool uses: start, kill -9, resume, status, cleanup, failures, adoption', async () => {
    const state = world.path('iam.db');
    const source = world.archives('iam');
    // One multipart archive's inventory hash is wrong: it fails, and its upload is aborted.
    const wrong = source[2]!;
    const inventory = world.writeInventory('iam', 'JSON', (text) => text.replace(wrong.treeHash, '0'.repeat(64)));
    const first = spawnCli(world.start({ vault: 'iam', bucket: 'iam-bucket', state, extra: ['--inventory', inventory] }));
    await first.waitForEvent((e) => e.type === 'archive-verified', 3);
    await first.kill();
    // Writes S3 carries out but whose answers are lost: the tool finds (HeadObject) and adopts the objects.
    world.harness.sim.world.faults.configure('s3.CompleteMultipartUpload:lose@1;s3.PutObject:lose@1+2');
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, resumed.stderr).toBe(1);
    expect([...world.harness.sim.world.faults.injected.keys()].filter((k) => k.endsWith(':lose')).sort()).toEqual([
      's3.CompleteMultipartUpload:lose',
      's3.PutObject:lose',
    ]);
    expect((await runCli(['status', '--state', state, '--json'])).code).toBe(0);
    expect((await runCli(['cleanup', '--state', state])).code).toBe(0);
    // And a transfer whose inventory comes from an inventory-retrieval job.
    const small = await runCli(world.start({ vault: 'iam-small', bucket: 'iam-small-bucket', state: world.path('small.db') }));
    expect(small.code, small.stderr).toBe(0);
    // And one encrypted with a KMS key: S3 then calls KMS for the tool.
    const kms = await runCli(
      world.start({ vault: 'iam-small', bucket: 'iam-small-bucket', state: world.path('kms.db'), extra: ['--prefix', 'kms/', '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/backups'] }),
    );
    expect(kms.code, kms.stderr).toBe(0);

    const operations = [...world.harness.sim.world.toolCalls.keys()].sort();
    const unmapped = operations.filter((op) => !(op in IAM_ACTIONS));
    expect(unmapped, 'operations this test does not know the IAM action of').toEqual([]);
    const kmsWrites = world.recorder.requests.filter((r) => r.sse === 'aws:kms').map((r) => `s3:${r.operation}`);
    expect(kmsWrites).toContain('s3:CreateMultipartUpload');
    const used = new Set([...operations.flatMap((op) => IAM_ACTIONS[op]!), ...kmsWrites.flatMap((op) => KMS_ACTIONS[op] ?? [])]);
    expect([...used].filter((a) => !allowed.has(a)).sort(), 'used but missing from the policy').toEqual([]);
    expect([...allowed].filter((a) => !used.has(a)).sort(), 'in the policy but never used').toEqual([]);
  });

  it('allows KMS only through S3, for keys', () => {
    const kms = policy.Statement.filter((s) => s.Action.some((a) => a.startsWith('kms:')));
    expect(kms).toHaveLength(1);
    expect(kms[0]!.Action.every((a) => a.startsWith('kms:'))).toBe(true);
    expect(kms[0]!.Resource).toBe('arn:aws:kms:*:*:key/*');
    expect(kms[0]!.Condition).toEqual({ StringLike: { 'kms:ViaService': 's3.*.amazonaws.com' } });
  });
});
