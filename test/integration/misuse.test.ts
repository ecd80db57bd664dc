import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/aws/clients.js';
import { describeRun, resumeArgs, runCli, spawnCli } from '../helpers/cli.js';
import { expectCompleteCopy, mixedArchives, startCopyWorld, type CopyWorld } from '../helpers/copy-world.js';

/** The README's bad-input table, a test per row: one line naming the problem, a non-zero exit, no data lost. */
describe('bad input and misuse', () => {
  let w: CopyWorld;
  beforeAll(async () => {
    w = await startCopyWorld({
      vaults: [
        { name: 'vault', seed: 'misuse', archives: mixedArchives(12, 'misuse') },
        { name: 'other-vault', seed: 'other', archives: mixedArchives(2, 'other') },
        // Enough small archives that their state needs more pages than the file starts with.
        { name: 'many', seed: 'many', archives: Array.from({ length: 400 }, (_, i) => ({ size: 100 + i, description: `many/${i}.txt` })) },
      ],
      buckets: ['bucket'],
    });
    const eu = createAwsClients({ region: 'eu-west-1', endpoint: w.endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, userAgent: 'test' });
    await eu.s3.send(new CreateBucketCommand({ Bucket: 'bucket-in-ireland', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    eu.destroy();
  });
  afterAll(() => w?.stop());

  /** `start` that must be refused before doing anything: exit code, one stderr line, no state left. */
  async function expectRefused(extra: string[], message: RegExp, code = 2, env?: Record<string, string>, bucket = 'bucket') {
    const state = w.path(`refused-${Math.random().toString(36).slice(2)}.db`);
    const run = await runCli(w.start({ vault: 'vault', bucket, state, extra }), { env });
    expect(run.code, describeRun(run)).toBe(code);
    expect(run.stderr.trimEnd().split('\n'), run.stderr).toEqual([expect.stringMatching(message)]);
    expect(existsSync(state)).toBe(false);
  }

  it('refuses a bucket in another region, saying so', () => expectRefused([], /bucket "bucket-in-ireland" is in another region than us-east-1/, 2, undefined, 'bucket-in-ireland'));

  it('refuses a bucket owned by another account (--expected-bucket-owner)', () =>
    expectRefused(['--expected-bucket-owner', '111122223333'], /bucket "bucket" is not owned by account 111122223333/));

  it('refuses to run without credentials', () =>
    expectRefused([], /no AWS credentials found/, 1, {
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
      AWS_EC2_METADATA_DISABLED: 'true',
    }));

  it.each([
    [['--storage-class', 'FROZEN'], /invalid storage class "FROZEN"/],
    [['--tier', 'Instant'], /invalid tier "Instant"/],
    [['--part-size', '12MiB'], /invalid --part-size/],
    [['--part-size', 'lots'], /not a size: "lots"/],
    [['--concurrency', '0'], /--concurrency must be a positive integer/],
    [['--workers', '0'], /--workers must be a positive integer/],
    [['--inventory', '/nonexistent/inventory.json'], /--inventory file not found/],
  ])('refuses %j before spending anything', (extra, message) => expectRefused(extra, message));

  it.each([
    ['malformed', () => 'this is not an inventory\r\n', /--inventory .*: /],
    ['truncated', (t: string) => t.slice(0, Math.floor(t.length / 2)), /--inventory .*: /],
  ])('refuses a %s inventory file with one line', async (_what, edit, message) => {
    await expectRefused(['--inventory', w.writeInventory('vault', 'JSON', edit)], message);
  });

  it('leaves no state behind after a truncated inventory file of many rows, so the corrected start runs', async () => {
    // Thousands of rows read (and written in batches) before the cut: the state is no longer empty when it fails.
    const filler = Array.from({ length: 6000 }, (_, i) =>
      JSON.stringify({ ArchiveId: `filler-${i}`, ArchiveDescription: `f/${i}`, CreationDate: '2020-01-01T00:00:00Z', Size: 1, SHA256TreeHash: 'a'.repeat(64) }),
    ).join(',');
    const truncated = w.writeInventory('vault', 'JSON', (t) => t.replace('"ArchiveList":[', `"ArchiveList":[${filler},`).slice(0, -200));
    const state = w.path('after-truncated.db');
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--inventory', truncated, '--prefix', 'after-truncated/'] }));
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/--inventory .*: /)]);
    expect(existsSync(state)).toBe(false);
    const corrected = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--inventory', w.writeInventory('vault', 'JSON'), '--prefix', 'after-truncated/'] }));
    expect(corrected.code, describeRun(corrected)).toBe(0);
  });

  it('refuses the inventory of another vault', async () => {
    await expectRefused(['--inventory', w.writeInventory('other-vault', 'JSON')], /the inventory is of .*other-vault, not of vault vault/);
  });

  it('reports and skips a bad inventory row, copies the rest, and exits 1', async () => {
    const state = w.path('bad-row.db');
    const inventory = w.writeInventory('vault', 'CSV', (t) => {
      const lines = t.split('\r\n');
      lines[3] = lines[3]!.replace(/,(\d+),([0-9a-f]{64})$/, ',-5,$2'); // a negative size
      return lines.join('\r\n');
    });
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--inventory', inventory, '--prefix', 'bad-row/'] }));
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.events.filter((e) => e.type === 'inventory-bad-row')).toEqual([expect.objectContaining({ line: 4 })]);
    expect(run.summary).toMatch(/1 inventory rows could not be read/);
    const audit = await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'bad-row/' });
    expect(audit.verified).toBe(11);
    expect(audit.missing).toHaveLength(1);
    expect(audit.corrupt.length + audit.extra.length + audit.openUploads).toBe(0);
  });

  it('refuses a second process on a state file in use, then the first finishes', async () => {
    const state = w.path('locked.db');
    const first = spawnCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'locked/'] }));
    await first.waitForEvent((e) => e.type === 'phase' && e.phase === 'copy');
    const second = await runCli(resumeArgs(state));
    expect(second.code, describeRun(second)).toBe(2);
    expect(second.stderr.trim()).toMatch(/^glacier-copy: state file .* is in use by a running transfer; wait for it or stop it first$/);
    expect((await first.done).code).toBe(0);
  });

  it('refuses a corrupt state file, and a start over an existing one', async () => {
    const corrupt = w.path('corrupt.db');
    writeFileSync(corrupt, 'not a database, just some bytes that are long enough to look like a header'.repeat(100));
    const run = await runCli(resumeArgs(corrupt));
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^glacier-copy: state file .* is not a glacier-copy state database/);
    const again = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state: corrupt }));
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(/already exists: use `glacier-copy resume/);
  });

  it('refuses, without touching it, the state file of a transfer started by glacier-copy 0.1', async () => {
    const old = w.path('v01.db');
    // The first schema, in short: no version number, text statuses, archive ids as the primary key.
    const db = new Database(old);
    db.exec(`CREATE TABLE transfer (id INTEGER PRIMARY KEY, config TEXT NOT NULL, created_at INTEGER NOT NULL);
      CREATE TABLE archives (archive_id TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, status TEXT NOT NULL DEFAULT 'planned');
      INSERT INTO transfer VALUES (1, '{"transferId":"t","vault":"vault","bucket":"bucket","prefix":"","chunkSize":8388608}', 0);
      INSERT INTO archives VALUES ('a', 1, 'verified');`);
    db.close();
    const before = readFileSync(old);
    const run = await runCli(resumeArgs(old));
    expect(run.code, describeRun(run)).toBe(2);
    expect(run.stderr.trim()).toMatch(/^glacier-copy: state file .* was written by glacier-copy 0\.1 \(finish that transfer with glacier-copy 0\.1\)$/);
    expect(readFileSync(old).equals(before)).toBe(true);
  });

  it('stops on Ctrl-C with exit 130 after recording work in flight, and resume finishes the copy', async () => {
    const state = w.path('interrupted.db');
    const run = spawnCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'ctrl-c/'] }));
    await run.waitForEvent((e) => e.type === 'archive-verified', 2);
    process.kill(run.pid, 'SIGINT');
    const stopped = await run.done;
    expect(stopped.code, describeRun(stopped)).toBe(130);
    expect(stopped.stderr).toMatch(/run `glacier-copy resume --state/);
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'ctrl-c/' }), 12);
  });

  it('stops with one line when the state file cannot grow (disk full), and resume finishes once there is room', async () => {
    const state = w.path('full.db');
    const run = await runCli(w.start({ vault: 'many', bucket: 'bucket', state, extra: ['--prefix', 'full/'] }), {
      env: { GLACIER_COPY_TEST_STATE_GROWTH_PAGES: '2' },
    });
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^glacier-copy: cannot write the state file: database or disk is full/)]);
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'many', bucket: 'bucket', prefix: 'full/' }), 400);
  });

  it('stops with a clear message when credentials expire mid-run, and resume finishes once they are refreshed', async () => {
    const state = w.path('expired.db');
    const run = spawnCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'expired/'] }));
    await run.waitForEvent((e) => e.type === 'archive-verified', 2);
    w.harness.sim.world.faults.configure('*.*:auth=1');
    const stopped = await run.done;
    w.harness.sim.world.faults.configure('');
    expect(stopped.code, describeRun(stopped)).toBe(1);
    expect(stopped.stderr.trim().split('\n').pop()).toMatch(/credentials were rejected .*ExpiredToken.*; refresh them, then run `glacier-copy resume`/);
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
    expectCompleteCopy(await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'expired/' }), 12);
  });

  it('never overwrites an object that is not the archive, and copies the rest', async () => {
    const state = w.path('taken.db');
    const victim = w.archives('vault')[3]!;
    const overrides = w.path('taken-overrides.csv');
    writeFileSync(overrides, `archive_id,key\n${victim.id},occupied.bin\n`);
    await w.harness.clients.s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'taken/occupied.bin', Body: 'precious' }));
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'taken/', '--naming-overrides', overrides] }));
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.summary).toMatch(/taken\/occupied\.bin: an object already exists at taken\/occupied\.bin and it is not this archive/);
    const kept = await w.harness.clients.s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'taken/occupied.bin' }));
    expect(await kept.Body!.transformToString()).toBe('precious');
    const audit = await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'taken/' });
    expect(audit.verified).toBe(11);
    expect(audit.openUploads).toBe(0);
  });

  it('records its topic and queue as soon as they exist, so cleanup removes them after a failure halfway', async () => {
    const state = w.path('halfway.db');
    w.harness.sim.world.faults.configure('sqs.SetQueueAttributes:auth=1');
    const run = await runCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'halfway/'] }));
    w.harness.sim.world.faults.configure('');
    expect(run.code, describeRun(run)).toBe(1);
    expect(existsSync(state)).toBe(true);
    const cleanup = await runCli(['cleanup', '--state', state]);
    expect(cleanup.code, describeRun(cleanup)).toBe(0);
    const audit = await w.audit({ statePath: state, vault: 'vault', bucket: 'bucket', prefix: 'halfway/' });
    expect(audit.leftoverTopics).toEqual([]);
    expect(audit.leftoverQueues).toEqual([]);
  });

  it('is not blocked by the lock file of a transfer that was killed: the lock died with it', async () => {
    const state = w.path('dead-owner.db');
    const run = spawnCli(w.start({ vault: 'vault', bucket: 'bucket', state, extra: ['--prefix', 'dead-owner/'] }));
    await run.waitForEvent((e) => e.type === 'archive-verified');
    await run.kill();
    expect(readdirSync(w.dir)).toContain('dead-owner.db.lock');
    const resumed = await runCli(resumeArgs(state));
    expect(resumed.code, describeRun(resumed)).toBe(0);
  });
});
