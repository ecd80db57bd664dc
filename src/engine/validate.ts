import { DescribeVaultCommand } from '@aws-sdk/client-glacier';
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import type { AwsClients } from '../aws/clients.js';
import { ConfigError, describeError, httpStatusOf, isCredentialsError, isNotFound } from '../aws/errors.js';
import type { TransferConfig } from '../state/db.js';
import { kmsCheckKey } from '../transfer/cleanup.js';

/** Stops the whole run (not one archive): bad credentials, access denied. `resume` continues after a fix. */
export class FatalTransferError extends Error {}

export function asFatal(e: unknown, what: string): Error {
  if ((e as Error)?.name === 'CredentialsProviderError') {
    return new FatalTransferError(`no AWS credentials found (environment, --profile, ~/.aws, instance role): ${describeError(e)}`);
  }
  if (isCredentialsError(e)) return new FatalTransferError(`AWS credentials were rejected (${describeError(e)}); refresh them, then run \`glacier-copy resume\``);
  return new FatalTransferError(`${what}: ${describeError(e)}`);
}

type CheckedConfig = Pick<TransferConfig, 'transferId' | 'vault' | 'bucket' | 'prefix' | 'expectedBucketOwner' | 'sse' | 'sseKmsKeyId'>;

/**
 * Checks, before anything is spent, that the vault exists, the bucket is there, reachable and ours, and that S3
 * can encrypt with the KMS key asked for.
 */
export async function validateTransfer(clients: AwsClients, config: CheckedConfig): Promise<void> {
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
  await checkKmsKey(clients, config, region);
}

/**
 * S3 asks KMS for a data key when a multipart upload is created under SSE-KMS: creating one (and aborting it at
 * once) shows a wrong key, or one the caller may not use, before any retrieval is paid for.
 */
async function checkKmsKey(clients: AwsClients, config: CheckedConfig, region: string): Promise<void> {
  if (config.sse !== 'aws:kms') return;
  const { bucket: Bucket, expectedBucketOwner: ExpectedBucketOwner } = config;
  const Key = kmsCheckKey(config);
  let created;
  try {
    created = await clients.s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ExpectedBucketOwner, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: config.sseKmsKeyId, ChecksumAlgorithm: 'SHA256' }),
    );
  } catch (e) {
    const status = httpStatusOf(e);
    if (isCredentialsError(e) || (status !== 400 && status !== 403)) throw asFatal(e, `cannot reach bucket "${Bucket}"`);
    const option = config.sseKmsKeyId === undefined ? '--sse aws:kms (the aws/s3 key)' : `--sse-kms-key-id ${config.sseKmsKeyId}`;
    const needs = status === 403 ? '; the tool needs kms:GenerateDataKey and kms:Decrypt on the key (docs/iam-policy.json)' : '';
    throw new ConfigError(`${option}: S3 cannot encrypt with this KMS key in region ${region} (${describeError(e)})${needs}`);
  }
  // Left open by a failure here (or a crash), it is aborted with the transfer's other unused uploads.
  await clients.s3.send(new AbortMultipartUploadCommand({ Bucket, Key, ExpectedBucketOwner, UploadId: created.UploadId })).catch(() => undefined);
}
