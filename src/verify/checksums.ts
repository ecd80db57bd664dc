import { createHash } from 'node:crypto';
import { combineTreeHashes } from './tree-hash.js';

/** S3's checksum of a multipart object: base64(SHA-256(concatenated part digests)) + "-" + part count. */
export function compositeSha256(partChecksumsBase64: readonly string[]): string {
  const h = createHash('sha256');
  for (const c of partChecksumsBase64) h.update(Buffer.from(c, 'base64'));
  return `${h.digest('base64')}-${partChecksumsBase64.length}`;
}

export function sha256Base64(data: Buffer): string {
  return createHash('sha256').update(data).digest('base64');
}

/** The archive's tree hash from the tree hashes of its aligned download ranges, in order. */
export function archiveTreeHash(rangeTreeHashesHex: readonly string[]): string {
  return combineTreeHashes(rangeTreeHashesHex.map((h) => Buffer.from(h, 'hex'))).toString('hex');
}
