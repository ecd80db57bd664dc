import { HeadObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTargetLockKey } from '../../src/transfer/target-lock.js';
import { describeRun, runCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** Descriptions whose spaces at either end an HTTP header value would lose. */
const SPACED = ['  leading.txt', 'trailing.txt  ', ' both ', 'inner  spaces.txt', '   '];

describe('copying a vault with the real CLI', () => {
  let w: CopyWorld;
  const sizes = [0, 1, 8 * MIB - 1, 8 * MIB, 8 * MIB + 1, 4 * 8 * MIB, 3 * 8 * MIB + 5, 0];

  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'photos', seed: 'copy', archives: mixedArchives(24, 'copy') },
        { name: 'edges', seed: 'edges', archives: sizes.map((size, i) => ({ size, description: `sizes/${i}-${size}.bin` })) },
        { name: 'spaced', seed: 'spaced', archives: SPACED.map((description, i) => ({ size: 100 + i, description })) },
      ],
      buckets: ['copy-target', 'edge-target', 'spaced-target'],
    });
  });
  afterAll(() => w?.stop());

  it('copies every archive byte for byte at the storage class asked for, records where each came from, and status then reports all verified', async () => {
    const state = w.path('copy.db');
    const run = await runCli(w.start({ vault: 'photos', bucket: 'copy-target', state, extra: ['--storage-class', 'GLACIER_IR', '--prefix', 'from-glacier'] }));
    expect(run.code, describeRun(run)).toBe(0);

    const source = w.archives('photos');
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'photos', bucket: 'copy-target', prefix: 'from-glacier/' }), source.length);
    // Nothing was written outside the prefix either.
    let objects = 0;
    for await (const page of paginateListObjectsV2({ client: w.harness.clients.s3 }, { Bucket: 'copy-target' })) objects += page.KeyCount ?? 0;
    expect(objects).toBe(source.length);

    const keys = w.keysOf(state);
    for (const archive of source) {
      const key = keys.get(archive.id)!;
      expect(key.startsWith('from-glacier/'), key).toBe(true);
      const head = await w.harness.clients.s3.send(new HeadObjectCommand({ Bucket: 'copy-target', Key: key }));
      expect(head.StorageClass, key).toBe('GLACIER_IR');
      expect(head.ContentLength, key).toBe(archive.size);
      expect(head.Metadata?.['glacier-archive-id'], key).toBe(archive.id);
      expect(head.Metadata?.['glacier-tree-hash'], key).toBe(archive.treeHash);
    }

    const status = await runCli(['status', '--state', state, '--json']);
    expect(status.code, describeRun(status)).toBe(0);
    const report = status.events[0] as unknown as {
      finished: boolean;
      inventoried: { archives: number; bytes: number };
      stages: Record<string, { archives: number; bytes: number }>;
      failures: unknown[];
    };
    const bytes = source.reduce((n, a) => n + a.size, 0);
    expect(report.finished).toBe(true);
    expect(report.inventoried).toEqual({ archives: source.length, bytes });
    expect(report.stages).toEqual({
      waiting: { archives: 0, bytes: 0 },
      requested: { archives: 0, bytes: 0 },
      staged: { archives: 0, bytes: 0 },
      downloading: { archives: 0, bytes: 0 },
      verified: { archives: source.length, bytes },
      failed: { archives: 0, bytes: 0 },
    });
    expect(report.failures).toEqual([]);
  });

  it('keeps the spaces at either end of a description in the object metadata', async () => {
    const state = w.path('spaced.db');
    const run = await runCli(w.start({ vault: 'spaced', bucket: 'spaced-target', state }));
    expect(run.code, describeRun(run)).toBe(0);
    const keys = w.keysOf(state);
    for (const archive of w.archives('spaced')) {
      const { Metadata: meta = {} } = await w.harness.clients.s3.send(new HeadObjectCommand({ Bucket: 'spaced-target', Key: keys.get(archive.id)! }));
      const uri = meta['glacier-description-uri'];
      expect(uri === undefined ? meta['glacier-description'] : decodeURIComponent(uri), JSON.stringify(archive.description)).toBe(archive.description);
    }
  });

  it('copies empty archives and archives of several 8 MiB parts whose last part is short', async () => {
    const state = w.path('edges.db');
    const run = await runCli(w.start({ vault: 'edges', bucket: 'edge-target', state }));
    expect(run.code, describeRun(run)).toBe(0);
    const source = w.archives('edges');
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'edges', bucket: 'edge-target' }), source.length);

    const keys = w.keysOf(state);
    const s3 = w.harness.clients.s3;
    for (const archive of source) {
      const key = keys.get(archive.id)!;
      expect(key).toBe(archive.description);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'edge-target', Key: key }));
      expect(head.ContentLength, key).toBe(archive.size);
      const parts = Math.ceil(archive.size / (8 * MIB));
      if (parts <= 1) continue;
      // Stored as a multipart object of 8 MiB parts, the last one holding the rest.
      const first = await s3.send(new HeadObjectCommand({ Bucket: 'edge-target', Key: key, PartNumber: 1 }));
      expect(first.PartsCount, key).toBe(parts);
      expect(first.ContentLength, key).toBe(8 * MIB);
      const last = await s3.send(new HeadObjectCommand({ Bucket: 'edge-target', Key: key, PartNumber: parts }));
      expect(last.ContentLength, key).toBe(archive.size - (parts - 1) * 8 * MIB);
    }
    // Multi-chunk archives went through one UploadPart per 8 MiB part, small ones through one PutObject.
    const uploadParts = w.recorder.of('s3', 'UploadPart', (r) => r.bucket === 'edge-target' && r.status === 200);
    expect(uploadParts.length).toBe(source.reduce((n, a) => n + (a.size > 8 * MIB ? Math.ceil(a.size / (8 * MIB)) : 0), 0));
    expect(w.recorder.of('s3', 'PutObject', (r) => r.bucket === 'edge-target' && r.status === 200 && !isTargetLockKey(r.key!)).length).toBe(source.filter((a) => a.size <= 8 * MIB).length);
  });
});
