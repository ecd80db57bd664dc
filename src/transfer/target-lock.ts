import { hostname } from 'node:os';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ConfigError, describeError, httpStatusOf, isConditionalConflict, isNotFound } from '../aws/errors.js';
import type { TransferConfig } from '../state/db.js';

/** How often a running transfer refreshes its marker: each refresh is a billed PutObject. */
export const LOCK_HEARTBEAT_MS = 5 * 60_000;
/**
 * A marker not refreshed for this long belongs to a dead run. Well above the heartbeat: clocks of hosts that can
 * sign requests to AWS at all are within 15 minutes of AWS's, and a refresh may fail once or twice.
 */
export const LOCK_STALE_MS = 30 * 60_000;

/** What the marker holds: who is copying, and when it last said it was alive. */
export interface LockHolder {
  transferId: string;
  vault: string;
  host: string;
  pid: number;
  startedAt: string;
  heartbeatAt: string;
}

type LockConfig = Pick<TransferConfig, 'transferId' | 'vault' | 'bucket' | 'prefix' | 'expectedBucketOwner' | 'sse' | 'sseKmsKeyId'>;

/** Another live transfer copies the same vault to the same bucket and prefix. */
export class TargetLockedError extends ConfigError {
  constructor(
    readonly holder: LockHolder,
    readonly target: string,
    minutesLeft: number,
  ) {
    super(
      `vault ${holder.vault} is being copied to ${target} by transfer ${holder.transferId} on host ${holder.host} (pid ${holder.pid}) ` +
        `since ${holder.startedAt}, last seen ${holder.heartbeatAt}; if that run is dead, wait ${minutesLeft} minutes or pass --force-unlock`,
    );
  }
}

/**
 * The marker's key, one per vault under the transfer's prefix. It ends with `/`, which no archive key can (keys
 * are made of non-empty segments, src/naming/key.ts), so it never takes or overwrites an archive's key.
 */
export function targetLockKey(prefix: string, vault: string): string {
  return `${prefix}.glacier-copy-lock/${vault}/`;
}

/** Whether a key is a transfer's marker rather than an archive's object. */
export function isTargetLockKey(key: string): boolean {
  return key.endsWith('/') && key.includes('.glacier-copy-lock/');
}

const isConditionFailed = (e: unknown) => httpStatusOf(e) === 412 || isNotFound(e);

/**
 * A marker object in the bucket that says a transfer is copying a vault to this bucket and prefix, so that a
 * second transfer of the same vault refuses to start instead of retrieving everything again and overwriting the
 * first one's objects. Written with If-None-Match (or If-Match on the ETag of a marker being taken over, so that
 * of two takers only one wins), refreshed every LOCK_HEARTBEAT_MS, removed when the run ends.
 */
export class TargetLock {
  private etag: string;
  private timer?: NodeJS.Timeout;
  private readonly startedAt = new Date().toISOString();

  private constructor(
    private readonly s3: S3Client,
    private readonly config: LockConfig,
    private readonly key: string,
    etag: string,
    /** Told of each write of the marker (a billed PutObject that copies nothing) */
    private readonly onWrite?: () => void,
  ) {
    this.etag = etag;
  }

  /**
   * Takes the marker: a new one, our own transfer's (a run killed before it could remove it), a stale one, or
   * any with `force`. Throws TargetLockedError while another transfer holds it.
   */
  static async acquire(
    s3: S3Client,
    config: LockConfig,
    options: { force?: boolean; staleMs?: number; onWrite?: () => void } = {},
  ): Promise<TargetLock> {
    const key = targetLockKey(config.prefix, config.vault);
    const lock = new TargetLock(s3, config, key, '', options.onWrite);
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        lock.etag = await lock.write({ IfNoneMatch: '*' });
        return lock;
      } catch (e) {
        // 409: another write of the marker was under way at that instant; look again.
        if (!isConditionFailed(e) && !isConditionalConflict(e)) throw e;
      }
      const current = await readTargetLock(s3, config);
      if (!current) continue; // removed meanwhile
      const ageMs = Date.now() - Date.parse(current.holder.heartbeatAt);
      const staleMs = options.staleMs ?? LOCK_STALE_MS;
      if (current.holder.transferId !== config.transferId && !options.force && ageMs < staleMs) {
        throw new TargetLockedError(current.holder, `s3://${config.bucket}/${config.prefix}`, Math.ceil((staleMs - ageMs) / 60_000));
      }
      try {
        lock.etag = await lock.write({ IfMatch: current.etag });
        return lock;
      } catch (e) {
        if (!isConditionFailed(e) && !isConditionalConflict(e)) throw e; // another taker won, or was writing: look again
      }
    }
    throw new Error(`cannot take the marker s3://${config.bucket}/${key}: it keeps changing`);
  }

  /** Refreshes the marker every LOCK_HEARTBEAT_MS; `onLost` hears when another transfer has taken it over. */
  startHeartbeat(onLost: (reason: string) => void, onError: (message: string) => void, intervalMs = LOCK_HEARTBEAT_MS): void {
    this.timer = setInterval(() => {
      this.write({ IfMatch: this.etag }).then(
        (etag) => (this.etag = etag),
        (e) => {
          if (isConditionFailed(e)) {
            clearInterval(this.timer);
            onLost(`the marker s3://${this.config.bucket}/${this.key} was taken over by another transfer of vault ${this.config.vault}`);
          } else onError(`refreshing the marker s3://${this.config.bucket}/${this.key} failed: ${describeError(e)}`);
        },
      );
    }, intervalMs);
    this.timer.unref();
  }

  /** Removes the marker if it is still ours. */
  async release(): Promise<void> {
    clearInterval(this.timer);
    await removeTargetLock(this.s3, this.config);
  }

  private async write(condition: { IfNoneMatch: string } | { IfMatch: string }): Promise<string> {
    this.onWrite?.();
    const holder: LockHolder = {
      transferId: this.config.transferId,
      vault: this.config.vault,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      heartbeatAt: new Date().toISOString(),
    };
    const out = await this.s3.send(
      new PutObjectCommand({
        Bucket: this.config.bucket,
        Key: this.key,
        Body: JSON.stringify(holder),
        // Also as metadata: read back with HeadObject (a body of the STANDARD class is readable too, but a HEAD
        // is what every other check of the tool uses, and needs no body).
        Metadata: holderMetadata(holder),
        ContentType: 'application/json',
        ExpectedBucketOwner: this.config.expectedBucketOwner,
        ServerSideEncryption: this.config.sse,
        SSEKMSKeyId: this.config.sseKmsKeyId,
        ...condition,
      }),
    );
    return out.ETag!;
  }
}

const METADATA: Record<keyof LockHolder, string> = {
  transferId: 'transfer-id',
  vault: 'vault',
  host: 'host',
  pid: 'pid',
  startedAt: 'started-at',
  heartbeatAt: 'heartbeat-at',
};

function holderMetadata(holder: LockHolder): Record<string, string> {
  return Object.fromEntries(Object.entries(METADATA).map(([field, name]) => [name, String(holder[field as keyof LockHolder])]));
}

async function readTargetLock(s3: S3Client, config: LockConfig): Promise<{ holder: LockHolder; etag: string } | undefined> {
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: targetLockKey(config.prefix, config.vault), ExpectedBucketOwner: config.expectedBucketOwner }));
    const m = out.Metadata ?? {};
    // An object this tool did not write names no transfer: held by no one, and stale at once.
    const holder: LockHolder = {
      transferId: m[METADATA.transferId] ?? '',
      vault: m[METADATA.vault] ?? config.vault,
      host: m[METADATA.host] ?? 'unknown',
      pid: Number(m[METADATA.pid] ?? 0),
      startedAt: m[METADATA.startedAt] ?? '',
      heartbeatAt: m[METADATA.heartbeatAt] ?? '',
    };
    return { holder, etag: out.ETag! };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Removes the transfer's marker, if the transfer holds it (another's is left alone). Returns whether it did. */
export async function removeTargetLock(s3: S3Client, config: LockConfig): Promise<boolean> {
  const current = await readTargetLock(s3, config);
  if (current?.holder.transferId !== config.transferId) return false;
  await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: targetLockKey(config.prefix, config.vault), ExpectedBucketOwner: config.expectedBucketOwner }));
  return true;
}
