import { readFileSync, readdirSync, statSync } from 'node:fs';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListTagsForResourceCommand, PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransferState } from '../../src/state/db.js';
import { describeRun, resumeArgs, runCli, spawnCli } from '../helpers/cli.js';
import { expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

const SECRET = 'SECRET-CANARY-wJalrXUtnFEMI-K7MDENG-bPxRfiCY';
const TOKEN = 'TOKEN-CANARY-FwoGZXIvYXdzEJr-session';

describe('security', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'vault', seed: 'sec', archives: mixedArchives(10, 'sec') }], buckets: ['bucket'] });
  });
  afterAll(() => w?.stop());

  it('never writes a secret to its output, its errors or its state file, which only its owner can read', async () => {
    const env = { AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN };
    const state = w.path('secret.db');
    const failing = await runCli(w.start({ vault: 'no-such-vault', bucket: 'bucket', state: w.path('secret-fail.db') }), { env });
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'secret/'] }), { env });
    expect(run.code, describeRun(run)).toBe(0);
    const status = await runCli(['status', '--state', state, '--json'], { env });
    for (const output of [failing.stdout, failing.stderr, run.stdout, run.stderr, status.stdout, status.stderr]) {
      expect(output).not.toContain(SECRET);
      expect(output).not.toContain(TOKEN);
    }
    for (const file of readdirSync(w.dir).filter((f) => f.startsWith('secret'))) {
      const bytes = readFileSync(w.path(file));
      expect(bytes.includes(SECRET), file).toBe(false);
      expect(bytes.includes(TOKEN), file).toBe(false);
    }
    expect(statSync(state).mode & 0o777).toBe(0o600);
  });

  it('listens on a tagged topic of its own, whose queue takes messages from that topic only, and removes both', async () => {
    const state = w.path('channel.db');
    const run = spawnCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'channel/'] }));
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'copy');
    await run.kill();
    const info = TransferState.open(state, { readonly: true });
    const { topicArn, queueUrl, queueArn } = info.transferInfo();
    const transferId = info.config().transferId;
    info.close();
    expect(topicArn).toMatch(new RegExp(`:glacier-copy-${transferId}$`));
    const tags = await w.harness.clients.sns.send(new ListTagsForResourceCommand({ ResourceArn: topicArn }));
    expect(tags.Tags).toContainEqual({ Key: 'created-by', Value: 'glacier-copy' });
    const attrs = await w.harness.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] }));
    const policy = JSON.parse(attrs.Attributes!.Policy!) as { Statement: { Effect: string; Resource: string; Condition: Record<string, Record<string, string>> }[] };
    expect(policy.Statement).toEqual([
      expect.objectContaining({ Effect: 'Allow', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': topicArn } } }),
    ]);
    // Another topic subscribed to the queue cannot put anything in it.
    const { TopicArn: intruder } = await w.harness.clients.sns.send(new CreateTopicCommand({ Name: 'intruder' }));
    await w.harness.clients.sns.send(new SubscribeCommand({ TopicArn: intruder, Protocol: 'sqs', Endpoint: queueArn }));
    await w.harness.clients.sns.send(new PublishCommand({ TopicArn: intruder, Message: '{"JobId":"forged"}' }));
    const received = await w.harness.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }));
    expect((received.Messages ?? []).map((m) => m.Body)).not.toContain('{"JobId":"forged"}');
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    const audit = await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'channel/' });
    expect(audit.leftoverTopics).toEqual([]);
    expect(audit.leftoverQueues).toEqual([]);
  });

  it('encrypts objects as asked and names the expected bucket owner on every S3 call', async () => {
    const state = w.path('sse.db');
    const from = w.recorder.requests.length;
    // The upload that tries the KMS key cannot be aborted at once (every attempt fails): the run goes on, and its
    // cleanup aborts it with the transfer's other unused uploads (the audit counts open uploads).
    w.harness.sim.world.faults.configure('s3.AbortMultipartUpload:500@1+2+3');
    const run = await runCli(
      w.start({
        vault: 'vault',
        bucket: 'bucket',
        state,
        extra: ['--prefix', 'sse/', '--sse', 'aws:kms', '--sse-kms-key-id', 'alias/archive-key', '--expected-bucket-owner', '123456789012'],
      }),
    );
    w.harness.sim.world.faults.configure('');
    expect(run.code, describeRun(run)).toBe(0);
    expect(w.harness.sim.world.faults.injected.get('s3.AbortMultipartUpload:500')).toBe(3);
    const audit = await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'sse/' });
    expectCompleteCopy(audit, 10);
    const toolS3 = w.recorder.requests.slice(from).filter((r) => r.service === 's3' && r.phase !== 'audit');
    const keys = w.keysOf(state);
    for (const key of keys.values()) {
      const head = await w.harness.clients.s3.send(new HeadObjectCommand({ Bucket: 'bucket', Key: key }));
      expect(head.ServerSideEncryption, key).toBe('aws:kms');
      expect(head.SSEKMSKeyId, key).toBe('alias/archive-key');
    }
    expect(toolS3.length).toBeGreaterThan(10);
    expect(toolS3.filter((r) => r.expectedBucketOwner !== '123456789012').map((r) => r.operation)).toEqual([]);
  });
});
