import type { IncomingHttpHeaders } from 'node:http';
import { S3Error } from './errors.js';
import { header } from './request.js';
import type { S3Service } from './service.js';

const KEY_ID = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
const ALIAS = 'alias/[A-Za-z0-9/_-]+';
/** The ways a write may name a KMS key: key id, alias name, key ARN, alias ARN. */
const KEY_REFERENCE = new RegExp(`^(?:${KEY_ID}|${ALIAS}|arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:(?:key/${KEY_ID}|${ALIAS}))$`);

/**
 * The simulator's whole model of KMS, for writes under SSE-KMS: a key named in
 * `x-amz-server-side-encryption-aws-kms-key-id` exists when it is well formed and, if the world lists its KMS
 * keys (`kmsKeys`), listed as given. S3 answers others as it answers a key KMS cannot find: 400
 * KMS.NotFoundException. Without a key id the account's aws/s3 key is used, which always exists.
 */
export function checkKmsKey(s3: S3Service, headers: IncomingHttpHeaders): void {
  const key = header(headers, 'x-amz-server-side-encryption-aws-kms-key-id');
  if (key === undefined || header(headers, 'x-amz-server-side-encryption') !== 'aws:kms') return;
  const known = s3.world.options.kmsKeys;
  if (KEY_REFERENCE.test(key) && (known === undefined || known.includes(key))) return;
  throw new S3Error(400, 'KMS.NotFoundException', key.startsWith('arn:') ? `Key '${key}' does not exist` : `Invalid keyId ${key}`);
}
