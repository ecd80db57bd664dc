import { readdirSync, writeFileSync } from 'node:fs';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, runCli } from '../helpers/cli.js';
import { mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('a transfer that cannot start', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [{ name: 'real-vault', seed: 'bad', archives: mixedArchives(3, 'bad') }],
      buckets: ['real-bucket'],
      kmsKeys: [KMS_KEY],
    });
    // The machine's own AWS config never matters: these files are the only ones the runs below read.
    writeFileSync(w.path('config'), '[profile other]\nregion = us-east-1\n');
    writeFileSync(w.path('credentials'), '[other]\naws_access_key_id = a\naws_secret_access_key = b\n');
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

  /** One line on stderr matching `message`, exit 2, nothing left behind. */
  async function expectRefused(args: string[], message: RegExp, env?: Record<string, string>) {
    const run = await runCli(args, { env: { AWS_CONFIG_FILE: w.path('config'), AWS_SHARED_CREDENTIALS_FILE: w.path('credentials'), ...env } });
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
    await expectNothingLeftBehind();
  }
  const start = (extra: string[], bucket = 'real-bucket') => w.start({ vault: 'real-vault', bucket, state: w.path('bad-connection.db'), extra });

  it('refuses an endpoint without a scheme, saying how to write it', () =>
    expectRefused(start(['--endpoint-url', '127.0.0.1:4566']), /^glacier-copy: --endpoint-url 127\.0\.0\.1:4566: an endpoint needs a scheme, e\.g\. http:\/\/127\.0\.0\.1:4566$/));

  it('refuses an s3:// URL as the bucket, naming the bucket and --prefix', async () => {
    await expectRefused(start([], 's3://mig'), /^glacier-copy: --bucket s3:\/\/mig: give the bare bucket name \(mig\), and a key prefix with --prefix$/);
    await expectRefused(start([], 's3://mig/photos/2019'), /^glacier-copy: --bucket s3:\/\/mig\/photos\/2019: give the bare bucket name \(mig\), and a key prefix with --prefix \(photos\/2019\/\)$/);
  });

  it('refuses to start without a region, saying where to give one', () => {
    const args = start([]);
    args.splice(args.indexOf('--region'), 2);
    return expectRefused(args, /^glacier-copy: no region: pass --region or set AWS_REGION/, { AWS_EC2_METADATA_DISABLED: 'true' });
  });

  it('refuses a profile that is in neither the config nor the credentials file', () =>
    expectRefused(start(['--profile', 'nosuch']), /^glacier-copy: --profile nosuch: no such profile in .*config or .*credentials$/));

  it.each([
    ['--max-staged', '10', '10GiB'],
    ['--expected-throughput', '10', '10MiB'],
    ['--part-size', '512', '512MiB'],
  ])('refuses %s %s without a unit, suggesting %s', (flag, value, suggestion) =>
    expectRefused(start([flag, value]), new RegExp(`^glacier-copy: ${flag} ${value}: a size needs a unit \\(did you mean ${suggestion}\\?\\)$`)));

  it.each(['--max-staged', '--expected-throughput'])('refuses %s 0GiB: a limit of nothing would never finish', (flag) =>
    expectRefused(start([flag, '0GiB']), new RegExp(`^glacier-copy: ${flag} 0GiB: must be more than zero$`)));

  it.each([
    ['an unknown key', 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000'],
    ['a malformed key', 'not-a-key'],
  ])('refuses %s for --sse-kms-key-id before any retrieval is requested', (_what, key) =>
    expectRefused(start(['--sse', 'aws:kms', '--sse-kms-key-id', key]), /^glacier-copy: --sse-kms-key-id .*: S3 cannot encrypt with this KMS key in region us-east-1 \(KMS\.NotFoundException/));
});
