import { DeleteObjectCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { copyFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, resumeArgs, runCli } from '../helpers/cli.js';
import { MIB, expectCompleteCopy, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';
import { targetLockKey } from '../../src/transfer/target-lock.js';
import { REPORT_COLUMNS } from '../../src/ui/report.js';

/** Splits RFC 4180 CSV into rows of fields (quoted fields may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      for (i++; i < text.length && !(text[i] === '"' && text[i + 1] !== '"'); i++) field += text[i] === '"' ? text[++i] : text[i];
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
    } else field += c;
  }
  return rows;
}

describe('report, check and resume --retry-failed: the audit trail of a transfer, checked from outside', () => {
  let w: CopyWorld;
  const bucket = 'audited';
  const sizes = [0, 5, 300 * 1024, 9 * MIB, 2 * MIB];
  // The descriptions become the keys; one carries a comma and a quote, to be quoted in CSV.
  const descriptions = sizes.map((size, i) => (i === 2 ? `audit/"odd, name" ${i}.bin` : `audit/${i}-${size}.bin`));

  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [{ name: 'ledger', seed: 'audit', archives: sizes.map((size, i) => ({ size, description: descriptions[i]! })) }],
      buckets: [bucket],
    });
  });
  afterAll(() => w?.stop());

  /** Every object under the bucket, listed by the test's own client. */
  async function listing(): Promise<Map<string, number>> {
    const objects = new Map<string, number>();
    for await (const page of paginateListObjectsV2({ client: w.harness.clients.s3 }, { Bucket: bucket })) {
      for (const o of page.Contents ?? []) objects.set(o.Key!, o.Size!);
    }
    return objects;
  }

  it('reports a failed archive, retries it once its cause is gone, and checks the bucket object by object', async () => {
    const state = w.path('audit.db');
    const s3 = w.harness.clients.s3;
    // A bucket with versioning: each object's version is part of the audit trail.
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    // Something else already sits at the key of archive 3: the copy refuses to overwrite it.
    const blockedKey = 'audit/3-9437184.bin';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: blockedKey, Body: 'not the archive' }));
    const first = await runCli(w.start({ vault: 'ledger', bucket, state }));
    expect(first.code, describeRun(first)).toBe(1);
    expect(first.summary).toContain('--retry-failed');

    const csv = await runCli(['report', '--state', state, '--format', 'csv']);
    expect(csv.code, describeRun(csv)).toBe(0);
    const [header, ...rows] = parseCsv(csv.stdout);
    expect(header).toEqual([...REPORT_COLUMNS]);
    expect(rows).toHaveLength(sizes.length);
    const byKey = new Map(rows.map((r) => [r[5]!, Object.fromEntries(REPORT_COLUMNS.map((c, i) => [c, r[i]!]))]));
    expect([...byKey.keys()].sort()).toEqual([...descriptions].sort());
    expect(byKey.get(blockedKey)!.status).toBe('failed');
    expect(byKey.get(blockedKey)!.reason).toContain('already exists');
    expect(byKey.get(descriptions[2]!)!.description).toBe(descriptions[2]);

    const blocked = await runCli(['check', '--state', state, '--json']);
    expect(blocked.code, describeRun(blocked)).toBe(1);
    const problems = blocked.events.filter((e) => e.type === 'problem');
    // The foreign object is at an archive's key: that archive is what is wrong, not an extra object.
    expect(problems.map((p) => [p.kind, p.key])).toEqual([['not-copied', blockedKey]]);

    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: blockedKey }));
    const retried = await runCli(resumeArgs(state, ['--retry-failed']));
    expect(retried.code, describeRun(retried)).toBe(0);
    expect(retried.stderr).toContain('trying 1 failed archives again');
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'ledger', bucket }), sizes.length);

    // The JSON report against the vault and the bucket, as read by the test's own clients.
    const json = await runCli(['report', '--state', state, '--format', 'json']);
    expect(json.code, describeRun(json)).toBe(0);
    const report = json.events as unknown as Record<(typeof REPORT_COLUMNS)[number], string | number | null>[];
    const source = new Map(w.archives('ledger').map((a) => [a.id, a]));
    const objects = await listing();
    expect(report).toHaveLength(source.size);
    for (const row of report) {
      const archive = source.get(row.archive_id as string)!;
      expect(row).toMatchObject({ status: 'verified', reason: null, size: archive.size, tree_hash: archive.treeHash, description: archive.description });
      expect(objects.get(row.s3_key as string)).toBe(archive.size);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: row.s3_key as string, ChecksumMode: 'ENABLED' }));
      expect(row.s3_checksum).toBe(head.ChecksumSHA256);
      expect(row.version_id).toBe(head.VersionId);
      expect(row.version_id).toMatch(/^[A-Za-z0-9_-]{32}$/);
    }

    const clean = await runCli(['check', '--state', state]);
    expect(clean.code, describeRun(clean)).toBe(0);
    expect(clean.stdout.trim()).toBe(`${sizes.length} archives match; 0 missing, 0 different, 0 not copied, 0 other objects under the prefix`);
  });

  it('finds an object deleted, one replaced by other bytes and one that belongs to no archive', async () => {
    const state = w.path('audit.db'); // the transfer of the first test, complete
    const s3 = w.harness.clients.s3;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: descriptions[1] }));
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: descriptions[2] }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: descriptions[2], Body: Buffer.alloc(sizes[2]!), Metadata: replaced.Metadata, StorageClass: replaced.StorageClass }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'audit/stray.txt', Body: 'stray' }));
    // A transfer's marker on the target (one running now, say) is the tool's own, not an extra object.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: targetLockKey('', 'ledger'), Body: '{}' }));

    const run = await runCli(['check', '--state', state, '--json']);
    expect(run.code, describeRun(run)).toBe(1);
    const problems = run.events.filter((e) => e.type === 'problem');
    expect(problems.map((p) => [p.kind, p.key]).sort()).toEqual([
      ['different', descriptions[2]],
      ['extra', 'audit/stray.txt'],
      ['missing', descriptions[1]],
    ]);
    expect(problems.find((p) => p.kind === 'different')!.why).toContain('S3 checksum');
    const totals = run.events.find((e) => e.type === 'totals')!;
    expect(totals).toMatchObject({ ok: false, listed: (await listing()).size - 1, matched: sizes.length - 2, missing: 1, different: 1, extra: 1, notCopied: 0 });

    // --one-way forgives the stray object, not the damage.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'audit/stray.txt' }));
    const oneWay = await runCli(['check', '--state', state, '--one-way']);
    expect(oneWay.code, describeRun(oneWay)).toBe(1);
    expect(oneWay.stdout).toContain('missing    audit/1-5.bin');
  });

  it('reads a state of the previous schema (before version ids and inventory dates were recorded), adding what it lacks', async () => {
    const previous = w.path('schema2.db');
    copyFileSync(w.path('audit.db'), previous);
    const db = new Database(previous);
    db.exec('ALTER TABLE archives DROP COLUMN version_id; ALTER TABLE transfer DROP COLUMN inventory_scope; PRAGMA user_version = 2');
    db.close();
    const run = await runCli(['report', '--state', previous, '--format', 'json']);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.events).toHaveLength(sizes.length);
    expect(run.events.every((row) => row.version_id === null && row.s3_checksum !== null)).toBe(true);
    const status = await runCli(['status', '--state', previous, '--json']);
    expect(status.code, describeRun(status)).toBe(0);
  });
});
