import { DescribeVaultCommand } from '@aws-sdk/client-glacier';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { AwsClients } from '../aws/clients.js';
import { ConfigError, describeError, httpStatusOf, isCredentialsError, isNotFound } from '../aws/errors.js';
import type { TransferConfig } from '../state/db.js';

/** Stops the whole run (not one archive): bad credentials, access denied. `resume` continues after a fix. */
export class FatalTransferError extends Error {}

export function asFatal(e: unknown, what: string): Error {
  if ((e as Error)?.name === 'CredentialsProviderError') {
    return new FatalTransferError(`no AWS credentials found (environment, --profile, ~/.aws, instance role): ${describeError(e)}`);
  }
  if (isCredentialsError(e)) return new FatalTransferError(`AWS credentials were rejected (${describeError(e)}); refresh them, then run \`glacier-copy resume\``);
  return new FatalTransferError(`${what}: ${describeError(e)}`);
}

/** Checks, before anything is spent, that the vault exists and the bucket is there, reachable and ours. */
export async function validateTransfer(clients: AwsClients, config: Pick<TransferConfig, 'vault' | 'bucket' | 'expectedBucketOwner'>): Promise<void> {
  const { vault, bucket, expectedBucketOwner } = config;
  const region = (await clients.glacier.config.region()) ?? 'unknown';
  try {
    await clients.glacier.send(new DescribeVaultCommand({ accountId: '-', vaultName: vault }));
  } catch (e) {
    if (isNotFound(e)) throw new ConfigError(`vault "${vault}" not found in region ${region}`);
    throw asFatal(e, `cannot read vault "${vault}"`);
  }
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: expectedBucketOwner }));
  } catch (e) {
    const status = httpStatusOf(e);
    if (status === 301) throw new ConfigError(`bucket "${bucket}" is in another region than ${region}; pass --region`);
    if (isNotFound(e)) throw new ConfigError(`bucket "${bucket}" does not exist`);
    if (status === 403) {
      throw new ConfigError(
        expectedBucketOwner ? `bucket "${bucket}" is not owned by account ${expectedBucketOwner}, or access is denied` : `access to bucket "${bucket}" is denied`,
      );
    }
    throw asFatal(e, `cannot reach bucket "${bucket}"`);
  }
}
