import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { acquireLock } from './lock.js';

/**
 * Where an archive is in the pipeline. `requesting` and `completing` mark an AWS call whose outcome may not
 * have been recorded (a crash between the call and the write): `resume` reconciles them with AWS.
 */
export type ArchiveStatus =
  | 'planned'
  | 'requesting'
  | 'requested'
  | 'staged'
  | 'completing'
  | 'verified'
  | 'failed';

export const ARCHIVE_STATUSES: readonly ArchiveStatus[] = ['planned', 'requesting', 'requested', 'staged', 'completing', 'verified', 'failed'];

/** What the user asked for; fixed when the transfer starts, reused by `resume`. */
export interface TransferConfig {
  transferId: string;
  vault: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  tier: string;
  region?: string;
  endpoint?: string;
  profile?: string;
  /** Preferred download range (power-of-two MiB) */
  chunkSize: number;
  expectedBucketOwner?: string;
  sse?: 'AES256' | 'aws:kms';
  sseKmsKeyId?: string;
  namingOverrides?: string;
  inventoryFile?: string;
}

export interface ArchiveRow {
  archive_id: string;
  seq: number;
  description: string;
  creation_date: string;
  size: number;
  tree_hash: string;
  key: string | null;
  range_size: number | null;
  part_size: number | null;
  part_count: number | null;
  status: ArchiveStatus;
  job_id: string | null;
  job_ready_at: number | null;
  upload_id: string | null;
  object_checksum: string | null;
  error: string | null;
  /** 1 when a failure was transient: the next run tries the archive again */
  retryable: number;
  attempts: number;
}

export interface PartRow {
  archive_id: string;
  part_number: number;
  etag: string;
  checksum_sha256: string;
  /** hex tree hashes of the part's download ranges, comma-separated */
  tree_hashes: string;
}

export interface InventoryEntry {
  archiveId: string;
  description: string;
  creationDate: string;
  size: number;
  treeHash: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS transfer (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  config TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  inventory_job_id TEXT,
  inventory_done INTEGER NOT NULL DEFAULT 0,
  planned INTEGER NOT NULL DEFAULT 0,
  topic_arn TEXT,
  queue_url TEXT,
  queue_arn TEXT,
  subscription_arn TEXT,
  finished_at INTEGER
);
CREATE TABLE IF NOT EXISTS archives (
  archive_id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  description TEXT NOT NULL,
  creation_date TEXT NOT NULL,
  size INTEGER NOT NULL,
  tree_hash TEXT NOT NULL,
  key TEXT UNIQUE,
  range_size INTEGER,
  part_size INTEGER,
  part_count INTEGER,
  status TEXT NOT NULL DEFAULT 'planned',
  job_id TEXT,
  job_ready_at INTEGER,
  upload_id TEXT,
  object_checksum TEXT,
  error TEXT,
  retryable INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS archives_status ON archives(status, seq);
CREATE INDEX IF NOT EXISTS archives_job ON archives(job_id);
CREATE TABLE IF NOT EXISTS parts (
  archive_id TEXT NOT NULL,
  part_number INTEGER NOT NULL,
  etag TEXT NOT NULL,
  checksum_sha256 TEXT NOT NULL,
  tree_hashes TEXT NOT NULL,
  PRIMARY KEY (archive_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bad_rows (
  line INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  bytes_copied INTEGER NOT NULL DEFAULT 0,
  copy_ms INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO progress (id) VALUES (1);
`;

export class StateError extends Error {}

/** Archives and bytes over every status of `counts()`. */
export function totalOf(counts: Record<ArchiveStatus, { archives: number; bytes: number }>): { archives: number; bytes: number } {
  let archives = 0;
  let bytes = 0;
  for (const c of Object.values(counts)) {
    archives += c.archives;
    bytes += c.bytes;
  }
  return { archives, bytes };
}

/**
 * The transfer's state: one SQLite file (WAL) per transfer, the source of truth for `resume` and `status`.
 * Created with mode 0600: it names the account's resources.
 */
export class TransferState {
  readonly db: Database.Database;
  private releaseLock?: () => void;

  private constructor(
    readonly path: string,
    options: { readonly?: boolean; lock: boolean },
  ) {
    if (options.lock) this.releaseLock = acquireLock(path);
    try {
      if (!options.readonly && !existsSync(path)) closeSync(openSync(path, 'a', 0o600));
      this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: true });
      if (!options.readonly) {
        chmodSync(path, 0o600);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        this.db.exec(SCHEMA);
        // Test-only: caps the file's size so that tests can stage "disk full" (SQLITE_FULL) without filling a disk.
        const maxPages = Number(process.env.GLACIER_COPY_TEST_STATE_MAX_PAGES ?? 0);
        if (maxPages > 0) this.db.pragma(`max_page_count = ${maxPages}`);
      }
      this.db.pragma('busy_timeout = 5000');
    } catch (e) {
      this.releaseLock?.();
      if ((e as { code?: string }).code === 'SQLITE_NOTADB' || (e as { code?: string }).code === 'SQLITE_CORRUPT') {
        throw new StateError(`state file ${path} is not a glacier-copy state database (corrupt?)`);
      }
      throw e;
    }
  }

  /**
   * Creates the state of a new transfer; refuses to overwrite an existing one. The file appears complete or not
   * at all: it is written under a temporary name and renamed, so a `start` killed at any instant leaves either
   * nothing (run `start` again) or a transfer that `resume` continues.
   */
  static create(path: string, config: TransferConfig): TransferState {
    if (existsSync(path)) {
      throw new StateError(`state file ${path} already exists: use \`glacier-copy resume --state ${path}\`, or another --state`);
    }
    const creating = `${path}.creating`;
    rmSync(creating, { force: true });
    closeSync(openSync(creating, 'wx', 0o600));
    const db = new Database(creating);
    try {
      db.exec(SCHEMA);
      db.prepare('INSERT INTO transfer (id, config, created_at) VALUES (1, ?, ?)').run(JSON.stringify(config), Date.now());
    } finally {
      db.close();
    }
    renameSync(creating, path);
    return new TransferState(path, { lock: true });
  }

  private readonly statements = new Map<string, Database.Statement>();

  /** A prepared statement, prepared once per connection: the engine runs the same few queries constantly. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs a callback in a transaction (one wrapper, prepared once; nested calls become savepoints). */
  private get inTransaction(): (fn: () => unknown) => unknown {
    return (this.transactionRunner ??= this.db.transaction((fn: () => unknown) => fn()));
  }
  private transactionRunner?: (fn: () => unknown) => unknown;

  /** Opens an existing transfer to drive it (locked) or to read it (`status`). */
  static open(path: string, options: { readonly?: boolean } = {}): TransferState {
    if (!existsSync(path)) throw new StateError(`no transfer state at ${path}`);
    const state = new TransferState(path, { readonly: options.readonly, lock: !options.readonly });
    try {
      state.config();
    } catch (e) {
      state.close();
      throw e;
    }
    return state;
  }

  /** Nothing was done on AWS's side yet: no inventory job, no topic, no archive. */
  isUntouched(): boolean {
    const info = this.transferInfo();
    const archives = (this.stmt('SELECT COUNT(*) AS n FROM archives').get() as { n: number }).n;
    return !info.inventoryJobId && !info.topicArn && archives === 0;
  }

  close(): void {
    if (this.db.open) this.db.close();
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  private transferRow() {
    let row: Record<string, unknown> | undefined;
    try {
      row = this.stmt('SELECT * FROM transfer WHERE id = 1').get() as Record<string, unknown> | undefined;
    } catch {
      row = undefined;
    }
    if (!row) throw new StateError(`state file ${this.path} holds no glacier-copy transfer`);
    return row;
  }

  config(): TransferConfig {
    return JSON.parse(this.transferRow().config as string) as TransferConfig;
  }

  transferInfo() {
    const row = this.transferRow();
    return {
      createdAt: row.created_at as number,
      inventoryJobId: (row.inventory_job_id as string | null) ?? undefined,
      inventoryDone: row.inventory_done === 1,
      planned: row.planned === 1,
      topicArn: (row.topic_arn as string | null) ?? undefined,
      queueUrl: (row.queue_url as string | null) ?? undefined,
      queueArn: (row.queue_arn as string | null) ?? undefined,
      subscriptionArn: (row.subscription_arn as string | null) ?? undefined,
      finishedAt: (row.finished_at as number | null) ?? undefined,
    };
  }

  setTransfer(fields: Partial<Record<'inventory_job_id' | 'topic_arn' | 'queue_url' | 'queue_arn' | 'subscription_arn', string | null> & Record<'inventory_done' | 'planned' | 'finished_at', number | null>>): void {
    const names = Object.keys(fields);
    if (names.length === 0) return;
    this.stmt(`UPDATE transfer SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = 1`).run(fields);
  }

  /** Inserts inventory entries in one transaction; an archive already known is left as it is. */
  addArchives(entries: InventoryEntry[]): void {
    const insert = this.stmt(
      `INSERT OR IGNORE INTO archives (archive_id, seq, description, creation_date, size, tree_hash, updated_at)
       VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM archives), ?, ?, ?, ?, ?)`,
    );
    const now = Date.now();
    this.transaction(() => {
      for (const e of entries) insert.run(e.archiveId, e.description, e.creationDate, e.size, e.treeHash, now);
    });
  }

  addBadRow(line: number, reason: string): void {
    this.stmt('INSERT INTO bad_rows (line, reason) VALUES (?, ?)').run(line, reason);
  }

  badRows(): { line: number; reason: string }[] {
    return this.stmt('SELECT line, reason FROM bad_rows ORDER BY line').all() as { line: number; reason: string }[];
  }

  clearInventory(): void {
    this.db.exec('DELETE FROM archives; DELETE FROM parts; DELETE FROM bad_rows;');
  }

  archive(archiveId: string): ArchiveRow | undefined {
    return this.stmt('SELECT * FROM archives WHERE archive_id = ?').get(archiveId) as ArchiveRow | undefined;
  }

  archiveByJob(jobId: string): ArchiveRow | undefined {
    return this.stmt('SELECT * FROM archives WHERE job_id = ?').get(jobId) as ArchiveRow | undefined;
  }

  archiveByKey(key: string): ArchiveRow | undefined {
    return this.stmt('SELECT * FROM archives WHERE key = ?').get(key) as ArchiveRow | undefined;
  }

  /**
   * Every archive in inventory order, read in pages so that the caller may write between rows (SQLite does not
   * allow writes on a connection while one of its statements is being iterated).
   */
  *iterateArchivesSnapshot(pageSize = 10_000): IterableIterator<ArchiveRow> {
    const page = this.stmt('SELECT * FROM archives WHERE seq > ? ORDER BY seq LIMIT ?');
    for (let after = 0; ; ) {
      const rows = page.all(after, pageSize) as ArchiveRow[];
      yield* rows;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  archivesWithStatus(status: ArchiveStatus, limit = -1): ArchiveRow[] {
    return this.stmt('SELECT * FROM archives WHERE status = ? ORDER BY seq LIMIT ?').all(status, limit) as ArchiveRow[];
  }

  /** Updates one archive's columns and bumps its timestamp. */
  updateArchive(archiveId: string, fields: Partial<Omit<ArchiveRow, 'archive_id' | 'seq'>>): void {
    const names = Object.keys(fields);
    this.db
      .prepare(`UPDATE archives SET ${names.map((n) => `${n} = @${n}`).join(', ')}, updated_at = @updated_at WHERE archive_id = @archive_id`)
      .run({ ...fields, archive_id: archiveId, updated_at: Date.now() });
  }

  /** Runs `fn` in one transaction (batched writes, all-or-nothing). */
  transaction<T>(fn: () => T): T {
    return this.inTransaction(fn) as T;
  }

  /** Puts archives that failed for transient reasons back in the queue, keeping their uploads and parts. */
  retryTransientFailures(): number {
    return this.db
      .prepare("UPDATE archives SET status = 'planned', job_id = NULL, job_ready_at = NULL, attempts = 0, retryable = 0 WHERE status = 'failed' AND retryable = 1")
      .run().changes;
  }

  anyRetryableFailure(): boolean {
    return this.stmt("SELECT 1 FROM archives WHERE status = 'failed' AND retryable = 1 LIMIT 1").get() !== undefined;
  }

  partCount(archiveId: string): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM parts WHERE archive_id = ?').get(archiveId) as { n: number }).n;
  }

  parts(archiveId: string): PartRow[] {
    return this.stmt('SELECT * FROM parts WHERE archive_id = ? ORDER BY part_number').all(archiveId) as PartRow[];
  }

  recordPart(part: PartRow, bytes: number, ms: number): void {
    this.transaction(() => {
      this.db
        .prepare(
          `INSERT OR REPLACE INTO parts (archive_id, part_number, etag, checksum_sha256, tree_hashes)
           VALUES (@archive_id, @part_number, @etag, @checksum_sha256, @tree_hashes)`,
        )
        .run(part);
      this.addProgress(bytes, ms);
    });
  }

  addProgress(bytes: number, ms: number): void {
    this.stmt('UPDATE progress SET bytes_copied = bytes_copied + ?, copy_ms = copy_ms + ? WHERE id = 1').run(bytes, Math.round(ms));
  }

  progress(): { bytesCopied: number; copyMs: number } {
    const row = this.stmt('SELECT bytes_copied, copy_ms FROM progress WHERE id = 1').get() as { bytes_copied: number; copy_ms: number };
    return { bytesCopied: row.bytes_copied, copyMs: row.copy_ms };
  }

  /** The archive's multipart upload is gone (aborted, vanished): its recorded parts go with it. */
  forgetUpload(archiveId: string): void {
    this.transaction(() => {
      this.deleteParts(archiveId);
      this.updateArchive(archiveId, { upload_id: null });
    });
  }

  deleteParts(archiveId: string): void {
    this.stmt('DELETE FROM parts WHERE archive_id = ?').run(archiveId);
  }

  /**
   * Archives and bytes in the given statuses. Uses the status index, so it costs what is in those statuses (a
   * few thousand in flight), not the whole vault: the engine asks on every turn of its loop.
   */
  totalWithStatus(statuses: readonly ArchiveStatus[]): { archives: number; bytes: number } {
    const row = this.db
      .prepare(`SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM archives WHERE status IN (${statuses.map(() => '?').join(', ')})`)
      .get(...statuses) as { n: number; bytes: number };
    return { archives: row.n, bytes: row.bytes };
  }

  anyWithStatus(statuses: readonly ArchiveStatus[]): boolean {
    return this.stmt(`SELECT 1 FROM archives WHERE status IN (${statuses.map(() => '?').join(', ')}) LIMIT 1`).get(...statuses) !== undefined;
  }

  /** Archive count and bytes per status: a scan of every archive, for reports. */
  counts(): Record<ArchiveStatus, { archives: number; bytes: number }> {
    const out = Object.fromEntries(ARCHIVE_STATUSES.map((s) => [s, { archives: 0, bytes: 0 }])) as Record<ArchiveStatus, { archives: number; bytes: number }>;
    const rows = this.stmt('SELECT status, COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM archives GROUP BY status').all() as {
      status: ArchiveStatus;
      n: number;
      bytes: number;
    }[];
    for (const r of rows) out[r.status] = { archives: r.n, bytes: r.bytes };
    return out;
  }

  failures(limit = 50): { archive_id: string; key: string | null; error: string | null }[] {
    return this.db
      .prepare("SELECT archive_id, key, error FROM archives WHERE status = 'failed' ORDER BY seq LIMIT ?")
      .all(limit) as { archive_id: string; key: string | null; error: string | null }[];
  }

  integrityCheck(): string {
    return (this.db.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
  }
}
