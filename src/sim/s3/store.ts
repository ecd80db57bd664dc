import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { mkdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { ChecksumAlgorithm } from './checksums.js';
import { SegmentStorage, type Segment } from './storage.js';

export type ChecksumType = 'COMPOSITE' | 'FULL_OBJECT';

export interface Checksum {
  algorithm: ChecksumAlgorithm;
  /** base64; a COMPOSITE checksum ends in `-N` */
  value: string;
}

export interface S3Object {
  /** persistence id; increases with creation time */
  id: string;
  key: string;
  size: number;
  /** quoted, as in the ETag header */
  etag: string;
  lastModified: Date;
  storageClass: string;
  /** x-amz-meta-* without the prefix, names lower-case */
  metadata: Record<string, string>;
  /** Content-Type, Cache-Control … as sent, returned on GET/HEAD */
  headers: Record<string, string>;
  checksum?: Checksum & { type: ChecksumType };
  /** multipart objects: each part's size and checksum (GetObject/HeadObject ?partNumber=) */
  parts?: { size: number; checksum?: string }[];
  /** the multipart upload the object was completed from */
  uploadId?: string;
  /** in a bucket with versioning: the version this write made ('null' while versioning is suspended) */
  versionId?: string;
  segments: Segment[];
}

export interface Part {
  partNumber: number;
  size: number;
  etag: string;
  lastModified: Date;
  checksum?: Checksum;
  segment: Segment;
}

export interface Upload {
  id: string;
  bucket: string;
  key: string;
  initiated: Date;
  storageClass: string;
  metadata: Record<string, string>;
  headers: Record<string, string>;
  checksumAlgorithm?: ChecksumAlgorithm;
  checksumType?: ChecksumType;
  parts: Map<number, Part>;
}

export interface Bucket {
  name: string;
  region: string;
  created: Date;
  objects: Map<string, S3Object>;
  /** object keys in S3's listing order (UTF-8 binary) */
  keys: string[];
  uploads: Map<string, Upload>;
  /** PutBucketVersioning's status; absent until versioning is first configured */
  versioning?: 'Enabled' | 'Suspended';
}

/** S3 lists keys in UTF-8 byte order, which is code point order; UTF-16 order differs for astral characters. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && x <= 0xdfff) x += 0x10000;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x10000;
    return x - y;
  }
  return a.length - b.length;
}

/** Index of the first key >= `key` (or > `key` when `after`). */
export function keyIndex(keys: readonly string[], key: string, after = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(keys[mid]!, key);
    if (c < 0 || (after && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let idCounter = 0;
/** Ids that sort by creation: S3 lists a key's uploads in upload-id order, which is initiation order. */
/** A version id as S3 makes them: 32 URL-safe characters. */
function newVersionId(): string {
  return randomBytes(24).toString('base64url');
}

export function newId(): string {
  idCounter = (idCounter + 1) % 36 ** 4;
  const time = Date.now().toString(36).padStart(9, '0');
  return `${time}${idCounter.toString(36).padStart(4, '0')}${randomBytes(12).toString('hex')}`;
}

/** The JSON form of a record: dates as ISO strings, blob segments by file name. */
type Stored<T> = {
  [K in keyof T]: T[K] extends Date
    ? string
    : T[K] extends Segment
      ? StoredSegment
      : T[K] extends Segment[]
        ? StoredSegment[]
        : T[K];
};
type StoredSegment = { kind: 'blob'; size: number; file: string } | { kind: 'hashed'; size: number };

/**
 * Buckets, objects and multipart uploads. With a data directory everything is also kept on disk and reloaded
 * by a new simulator on the same directory:
 *   blobs/<id>.bin                       object and part bytes (not in hashOnly mode)
 *   buckets/<bucket>.json
 *   objects/<bucket>/<objectId>.json     one per object; the newest wins if a crash left two for a key
 *   uploads/<uploadId>/upload.json, part-<n>.json
 */
export class S3Store {
  readonly buckets = new Map<string, Bucket>();
  readonly storage: SegmentStorage;
  private readonly root?: string;

  constructor(dataDir: string | undefined, hashOnly: boolean, private readonly log: Logger) {
    this.root = dataDir === undefined ? undefined : join(dataDir, 's3');
    this.storage = new SegmentStorage(this.root && join(this.root, 'blobs'), hashOnly);
    if (this.root) this.load(this.root);
  }

  async createBucket(name: string, region: string, created: Date): Promise<Bucket> {
    const bucket: Bucket = { name, region, created, objects: new Map(), keys: [], uploads: new Map() };
    this.buckets.set(name, bucket);
    if (this.root) {
      await mkdir(join(this.root, 'objects', name), { recursive: true });
      await this.writeJson(join(this.root, 'buckets', `${name}.json`), { name, region, created });
    }
    return bucket;
  }

  /** Deletes an empty bucket and any uploads still in progress in it. */
  async deleteBucket(bucket: Bucket): Promise<void> {
    this.buckets.delete(bucket.name);
    for (const upload of bucket.uploads.values()) await this.removeUpload(bucket, upload, []);
    if (this.root) {
      await unlink(join(this.root, 'buckets', `${bucket.name}.json`)).catch(() => undefined);
      await rm(join(this.root, 'objects', bucket.name), { recursive: true, force: true });
    }
  }

  /** Records a bucket's versioning status (PutBucketVersioning). */
  async setVersioning(bucket: Bucket, status: 'Enabled' | 'Suspended'): Promise<void> {
    bucket.versioning = status;
    if (this.root) await this.writeJson(join(this.root, 'buckets', `${bucket.name}.json`), { name: bucket.name, region: bucket.region, created: bucket.created, versioning: status });
  }

  async putObject(bucket: Bucket, object: S3Object): Promise<void> {
    // Each write to a bucket with versioning becomes a new version (earlier versions are not kept here).
    if (bucket.versioning) object.versionId = bucket.versioning === 'Enabled' ? newVersionId() : 'null';
    const previous = bucket.objects.get(object.key);
    bucket.objects.set(object.key, object);
    if (!previous) bucket.keys.splice(keyIndex(bucket.keys, object.key), 0, object.key);
    if (this.root) await this.writeJson(this.objectFile(bucket.name, object.id), object);
    if (previous) await this.dropObjectData(bucket.name, previous);
  }

  async deleteObject(bucket: Bucket, key: string): Promise<void> {
    const object = bucket.objects.get(key);
    if (!object) return;
    bucket.objects.delete(key);
    bucket.keys.splice(keyIndex(bucket.keys, key), 1);
    await this.dropObjectData(bucket.name, object);
  }

  async createUpload(bucket: Bucket, upload: Upload): Promise<void> {
    bucket.uploads.set(upload.id, upload);
    if (this.root) {
      const { parts: _parts, ...rest } = upload;
      await this.writeJson(join(this.uploadDir(upload.id), 'upload.json'), rest);
    }
  }

  async putPart(upload: Upload, part: Part): Promise<void> {
    const previous = upload.parts.get(part.partNumber);
    upload.parts.set(part.partNumber, part);
    if (this.root) await this.writeJson(join(this.uploadDir(upload.id), `part-${part.partNumber}.json`), part);
    if (previous) await this.storage.remove([previous.segment]);
  }

  /**
   * Turns an upload into an object. The upload leaves the bucket at once, so that a concurrent or retried
   * Complete, Abort or UploadPart finds no upload rather than sharing or deleting the object's part bytes.
   */
  async completeUpload(bucket: Bucket, upload: Upload, object: S3Object): Promise<void> {
    bucket.uploads.delete(upload.id);
    await this.putObject(bucket, object);
    await this.removeUpload(bucket, upload, object.segments);
  }

  /** Forgets an upload (aborted or completed) and deletes the bytes of its parts not in `keep`. */
  async removeUpload(bucket: Bucket, upload: Upload, keep: readonly Segment[]): Promise<void> {
    bucket.uploads.delete(upload.id);
    if (this.root) await rm(this.uploadDir(upload.id), { recursive: true, force: true });
    await this.storage.remove([...upload.parts.values()].map((p) => p.segment).filter((s) => !keep.includes(s)));
  }

  private async dropObjectData(bucketName: string, object: S3Object): Promise<void> {
    if (this.root) await unlink(this.objectFile(bucketName, object.id)).catch(() => undefined);
    await this.storage.remove(object.segments);
  }

  private objectFile(bucket: string, id: string): string {
    return join(this.root!, 'objects', bucket, `${id}.json`);
  }

  private uploadDir(id: string): string {
    return join(this.root!, 'uploads', id);
  }

  /** Writes JSON atomically (rename), with blob segments stored by file name. */
  private async writeJson(file: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value, (k, v: unknown) => (k === 'file' && typeof v === 'string' ? basename(v) : v));
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, file);
  }

  private load(root: string): void {
    const blobDir = join(root, 'blobs');
    const segment = (s: StoredSegment): Segment => (s.kind === 'hashed' ? s : { ...s, file: join(blobDir, s.file) });
    const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;
    const jsonFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []);

    for (const file of jsonFiles(join(root, 'buckets'))) {
      const b = readJson<Stored<Bucket>>(join(root, 'buckets', file));
      const bucket: Bucket = { ...b, created: new Date(b.created), objects: new Map(), keys: [], uploads: new Map() };
      this.buckets.set(bucket.name, bucket);
      const dir = join(root, 'objects', bucket.name);
      // In id (creation) order, so that the newest object of a key wins; a crash may have left an older one.
      for (const objectFile of jsonFiles(dir).sort()) {
        const o = readJson<Stored<S3Object>>(join(dir, objectFile));
        const superseded = bucket.objects.get(o.key);
        if (superseded) unlinkSync(join(dir, `${superseded.id}.json`));
        bucket.objects.set(o.key, { ...o, lastModified: new Date(o.lastModified), segments: o.segments.map(segment) });
      }
      bucket.keys = [...bucket.objects.keys()].sort(compareKeys);
    }

    const uploadsDir = join(root, 'uploads');
    for (const id of existsSync(uploadsDir) ? readdirSync(uploadsDir) : []) {
      const dir = join(uploadsDir, id);
      const u = existsSync(join(dir, 'upload.json')) ? readJson<Stored<Upload>>(join(dir, 'upload.json')) : undefined;
      const bucket = u && this.buckets.get(u.bucket);
      if (!u || !bucket) {
        rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const upload: Upload = { ...u, initiated: new Date(u.initiated), parts: new Map() };
      for (const partFile of jsonFiles(dir).filter((f) => f.startsWith('part-'))) {
        const p = readJson<Stored<Part>>(join(dir, partFile));
        upload.parts.set(p.partNumber, { ...p, lastModified: new Date(p.lastModified), segment: segment(p.segment) });
      }
      bucket.uploads.set(upload.id, upload);
    }

    // Blobs nothing references were left by a crash mid-write or belong to a superseded object.
    const referenced = new Set<string>();
    for (const bucket of this.buckets.values()) {
      const segments = [
        ...[...bucket.objects.values()].flatMap((o) => o.segments),
        ...[...bucket.uploads.values()].flatMap((u) => [...u.parts.values()].map((p) => p.segment)),
      ];
      for (const s of segments) if (s.kind === 'blob') referenced.add(basename(s.file));
    }
    const orphans = existsSync(blobDir) ? readdirSync(blobDir).filter((f) => !referenced.has(f)) : [];
    for (const f of orphans) rmSync(join(blobDir, f), { force: true });
    mkdirSync(root, { recursive: true });
    if (this.buckets.size > 0) {
      this.log.info({ dir: root, buckets: this.buckets.size, orphans: orphans.length }, 's3: loaded data directory');
    }
  }
}
