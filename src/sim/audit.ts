import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListMultipartUploadsCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { ListTopicsCommand } from '@aws-sdk/client-sns';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws/clients.js';
import type { Simulator } from './server.js';

export interface AuditResult {
  archives: number;
  verified: number;
  missing: string[];
  corrupt: string[];
  /** objects under the prefix that no archive accounts for */
  extra: string[];
  openUploads: number;
  leftoverTopics: string[];
  leftoverQueues: string[];
  bytes: number;
}

async function sha256Of(stream: Readable): Promise<{ hex: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    h.update(chunk);
    bytes += chunk.length;
  }
  return { hex: h.digest('hex'), bytes };
}

/**
 * Checks a copy independently of the tool: every archive of the simulated vault is read back from S3 with
 * GetObject and its SHA-256 compared with the simulator's own bytes; nothing extra is in the bucket; no
 * multipart upload, topic or queue is left behind. `keyOf` maps archive ids to the keys they should be at.
 */
export async function auditCopy(
  sim: Simulator,
  clients: AwsClients,
  params: { region?: string; vault: string; bucket: string; prefix?: string; keyOf: (archiveId: string) => string | undefined },
): Promise<AuditResult> {
  const vault = sim.world.glacier.store.getVault(params.region ?? 'us-east-1', params.vault);
  const result: AuditResult = { archives: vault.archives.size, verified: 0, missing: [], corrupt: [], extra: [], openUploads: 0, leftoverTopics: [], leftoverQueues: [], bytes: 0 };
  const expectedKeys = new Set<string>();
  for (const archive of vault.archives.values()) {
    const key = params.keyOf(archive.id);
    if (key === undefined) {
      result.missing.push(archive.id);
      continue;
    }
    expectedKeys.add(key);
    const source = await sha256Of(archive.content.read(0, archive.content.size - 1));
    try {
      const out = await clients.s3.send(new GetObjectCommand({ Bucket: params.bucket, Key: key }));
      const copy = await sha256Of(out.Body as Readable);
      if (copy.hex === source.hex && copy.bytes === archive.content.size) {
        result.verified++;
        result.bytes += copy.bytes;
      } else result.corrupt.push(key);
    } catch (e) {
      if ((e as { name?: string }).name === 'NoSuchKey') result.missing.push(key);
      else throw e;
    }
  }
  for await (const page of paginateListObjectsV2({ client: clients.s3 }, { Bucket: params.bucket, Prefix: params.prefix })) {
    for (const object of page.Contents ?? []) if (!expectedKeys.has(object.Key!)) result.extra.push(object.Key!);
  }
  const uploads = await clients.s3.send(new ListMultipartUploadsCommand({ Bucket: params.bucket }));
  result.openUploads = uploads.Uploads?.length ?? 0;
  const topics = await clients.sns.send(new ListTopicsCommand({}));
  result.leftoverTopics = (topics.Topics ?? []).map((t) => t.TopicArn!).filter((arn) => arn.includes('glacier-copy'));
  const queues = await clients.sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'glacier-copy' }));
  result.leftoverQueues = queues.QueueUrls ?? [];
  return result;
}
