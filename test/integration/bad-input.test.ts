import { readdirSync } from 'node:fs';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runCli } from '../helpers/cli.js';
import { mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

describe('a transfer that cannot start', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({ vaults: [{ name: 'real-vault', seed: 'bad', archives: mixedArchives(3, 'bad') }], buckets: ['real-bucket'] });
  });
  afterAll(() => w?.stop());

  async function expectNothingLeftBehind() {
    // No state file (nor its WAL, shared memory or lock) to trip over, and nothing created in the account.
    expect(readdirSync(w.dir).filter((f) => f.startsWith('bad'))).toEqual([]);
    const topics = await w.harness.clients.sns.send(new ListTopicsCommand({}));
    expect(topics.Topics ?? []).toEqual([]);
    const queues = await w.harness.clients.sqs.send(new ListQueuesCommand({}));
    expect(queues.QueueUrls ?? []).toEqual([]);
    expect(w.recorder.of('glacier', 'InitiateJob')).toEqual([]);
  }

  it('refuses an unknown vault with one line on stderr and exit code 2', async () => {
    const run = await runCli(w.start({ vault: 'no-such-vault', bucket: 'real-bucket', state: w.path('bad-vault.db') }));
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^glacier-copy: vault "no-such-vault" not found in region us-east-1$/)]);
    await expectNothingLeftBehind();
  });

  it('refuses a bucket that does not exist with one line on stderr and exit code 2', async () => {
    const run = await runCli(w.start({ vault: 'real-vault', bucket: 'no-such-bucket', state: w.path('bad-bucket.db') }));
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^glacier-copy: bucket "no-such-bucket" does not exist$/)]);
    await expectNothingLeftBehind();
  });
});
