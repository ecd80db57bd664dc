import type { GlacierClient } from '@aws-sdk/client-glacier';
import type { S3Client } from '@aws-sdk/client-s3';
import { copyPart, putStreamed, type ByteRange, type CopiedPart, type PartSpec, type PutSpec, type RangeSpec, type StoredObject, type StreamOptions } from './part-copy.js';

/**
 * Where bytes are streamed from Glacier into S3, hashed on the way: in this thread, or in a pool of worker
 * threads (worker-pool.ts). Its answers are what the main thread records, so it records nothing itself.
 */
export interface DataPlane {
  /** One part of a multipart upload, reported only once its ranges verified and S3 confirmed its SHA-256 */
  copyPart(source: RangeSpec, target: PartSpec, ranges: ByteRange[], options: StreamOptions): Promise<CopiedPart>;
  /** A whole archive as one PutObject, ended only if its tree hash is the inventory's */
  putStreamed(source: RangeSpec, put: PutSpec, inventoryTreeHash: string, options: StreamOptions): Promise<StoredObject>;
  close(): Promise<void>;
}

/** The data plane on the calling thread, through the given clients (`streamingS3`: without SDK retries). */
export function threadDataPlane(clients: { glacier: GlacierClient; streamingS3: S3Client }): DataPlane {
  return {
    copyPart: (source, target, ranges, options) => copyPart({ ...source, glacier: clients.glacier }, { ...target, s3: clients.streamingS3 }, ranges, options),
    putStreamed: (source, put, treeHash, options) => putStreamed({ ...source, glacier: clients.glacier }, clients.streamingS3, put, treeHash, options),
    close: async () => undefined,
  };
}
