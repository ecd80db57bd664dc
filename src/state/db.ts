import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { acquireLock } from './lock.js';
import { stringHash } from './hash.js';
import type { InventoryScope } from '../inventory/scope.js';

/**
 * Where an archive is in the pipeline. `requesting` and `completing` mark an AWS call whose outcome may not
 * have been recorded (a crash between the call and the write): `resume` reconciles them with AWS.
 */
export type ArchiveStatus = 'planned' | 'requesting' | 'requested' | 'staged' | 'completing' | 'verified' | 'failed';

/** In the order of their codes in the state file (the code is the index). */
export const ARCHIVE_STATUSES: readonly ArchiveStatus[] = ['planned', 'requesting', 'requested', 'staged', 'completing', 'verified', 'failed'];
const CODE: Record<ArchiveStatus, number> = Object.fromEntries(ARCHIVE_STATUSES.map((s, i) => [s, i])) as Record<ArchiveStatus, number>;
/** Statuses below this code are open: not yet verified or failed. */
const FIRST_CLOSED = CODE.verified;

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
  /** Preferred S3 part size (power-of-two MiB); archives up to it are written with one PutObject */
  partSize: number;
  expectedBucketOwner?: string;
  sse?: 'AES256' | 'aws:kms';
  sseKmsKeyId?: string;
  namingOverrides?: string;
  inventoryFile?: string;
  /** Copy from an --inventory file that lists fewer archives than the vault's last inventory counts */
  allowPartialInventory?: boolean;
}

export interface ArchiveRow {
  /** Inventory order; the row's identity in the state */
  seq: number;
  archive_id: string;
  description: string;
  creation_date: string;
  size: number;
  /** hex */
  tree_hash: string;
  key: string | null;
  status: ArchiveStatus;
  job_id: string | null;
  job_ready_at: number | null;
  object_checksum: string | null;
  /** The object's version, in a bucket with versioning (null otherwise, or before it is verified) */
  version_id: string | null;
  error: string | null;
  /** 1 when a failure was transient: the next run tries the archive again */
  retryable: number;
  attempts: number;
  /** The multipart upload in progress and the plan its parts follow (null when none) */
  upload_id: string | null;
  range_size: number | null;
  part_size: number | null;
  part_count: number | null;
}

export type ArchiveUpdate = Partial<Pick<ArchiveRow, 'status' | 'job_id' | 'job_ready_at' | 'object_checksum' | 'version_id' | 'error' | 'retryable' | 'attempts'>>;

export interface PartRow {
  seq: number;
  part_number: number;
  etag: string;
  checksum_sha256: string;
  /** hex tree hashes of the part's download ranges, in order */
  tree_hashes: string[];
}

export interface UploadPlan {
  uploadId: string;
  rangeSize: number;
  partSize: number;
  partCount: number;
}

export interface InventoryEntry {
  archiveId: string;
  description: string;
  creationDate: string;
  size: number;
  treeHash: string;
}

/**
 * Indexes of archive ids and keys (by hash). Inserting millions of random hashes into them one by one costs a
 * cache miss each, so an inventory is loaded without them and they are built once, sorted, at its end.
 */
const LOOKUP_INDEXES = `CREATE INDEX IF NOT EXISTS archives_id ON archives(id_hash);
CREATE INDEX IF NOT EXISTS archives_key ON archives(key_hash);`;

/** An archive's key: the one it was given when two or more wanted the same, else the candidate from its row. */
const KEY_OF = 'COALESCE(r.key, a.key)';

/** How far planning got, in the transfer's `planned` column. */
export const PLAN_STAGE = {
  /** Every archive's key is decided */
  keys: 1,
  /** and archives whose copy was already in S3 are recorded verified */
  alreadyCopiedChecked: 2,
} as const;

/** Schema version in `PRAGMA user_version`: states of other versions are migrated (below) or refused, never misread. */
const SCHEMA_VERSION = 3;

/** What turns a state of an earlier schema version into the next one: only additions, safe under a running transfer. */
const MIGRATIONS: Record<number, string> = {
  2: 'ALTER TABLE archives ADD COLUMN version_id TEXT; ALTER TABLE transfer ADD COLUMN inventory_scope TEXT',
};

/** Brings a state of an earlier, migratable schema up to date (also before a read-only open: the additions change no meaning). */
function migrate(path: string, version: number): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.transaction(() => {
      for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } finally {
    db.close();
  }
}

/**
 * One row per archive, kept small for vaults of millions: the archive id and tree hash are stored once (the id
 * is found through a 53-bit hash of it, not a second copy in a unique index), statuses are small integers,
 * archive counts per status are kept in `totals` (no scan to count: by triggers on status changes and deletions,
 * and per batch of inserts, where a trigger per row would double the cost), and the plan of an archive is stored only
 * once its multipart upload exists (`uploads`); before that it follows from its size and the configuration.
 * An archive's row holds the key it was named as the inventory was read; the few (or many) that had to be given
 * another, because others wanted the same, have it in `renamed`: renaming never rewrites the big table, and
 * renames are appended in the order they are decided (rows of up to a kilobyte), indexed by archive and key.
 */
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
  finished_at INTEGER,
  copy_model TEXT,
  inventory_scope TEXT
);
CREATE TABLE IF NOT EXISTS archives (
  seq INTEGER PRIMARY KEY,
  id_hash INTEGER NOT NULL,
  archive_id NOT NULL,
  description TEXT NOT NULL,
  creation_date TEXT NOT NULL,
  size INTEGER NOT NULL,
  tree_hash BLOB NOT NULL,
  key TEXT,
  key_hash INTEGER,
  status INTEGER NOT NULL DEFAULT 0,
  job_id TEXT,
  job_ready_at INTEGER,
  object_checksum TEXT,
  version_id TEXT,
  error TEXT,
  retryable INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0
);
${LOOKUP_INDEXES}
CREATE INDEX IF NOT EXISTS archives_retry ON archives(seq) WHERE status = ${CODE.failed} AND retryable = 1;
CREATE INDEX IF NOT EXISTS archives_open ON archives(status, seq) WHERE status < ${FIRST_CLOSED};
CREATE INDEX IF NOT EXISTS archives_ready ON archives(job_ready_at) WHERE status = ${CODE.staged};
CREATE INDEX IF NOT EXISTS archives_job ON archives(job_id) WHERE job_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS renamed (
  id INTEGER PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  key TEXT NOT NULL,
  key_hash INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS renamed_key ON renamed(key_hash);
CREATE TABLE IF NOT EXISTS uploads (
  seq INTEGER PRIMARY KEY,
  upload_id TEXT NOT NULL,
  range_size INTEGER NOT NULL,
  part_size INTEGER NOT NULL,
  part_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
  seq INTEGER NOT NULL,
  part_number INTEGER NOT NULL,
  etag TEXT NOT NULL,
  checksum_sha256 TEXT NOT NULL,
  tree_hashes BLOB NOT NULL,
  PRIMARY KEY (seq, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bad_rows (
  line INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS totals (
  status INTEGER PRIMARY KEY,
  archives INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO totals (status) VALUES ${ARCHIVE_STATUSES.map((_, i) => `(${i})`).join(', ')};
CREATE TABLE IF NOT EXISTS counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS archives_removed AFTER DELETE ON archives BEGIN
  UPDATE totals SET archives = archives - 1, bytes = bytes - old.size WHERE status = old.status;
END;
CREATE TRIGGER IF NOT EXISTS archives_moved AFTER UPDATE OF status ON archives WHEN old.status <> new.status BEGIN
  UPDATE totals SET archives = archives - 1, bytes = bytes - old.size WHERE status = old.status;
  UPDATE totals SET archives = archives + 1, bytes = bytes + new.size WHERE status = new.status;
END;
PRAGMA user_version = ${SCHEMA_VERSION};
`;

const ARCHIVE_SELECT = `SELECT a.seq, a.archive_id, a.description, a.creation_date, a.size, a.tree_hash, ${KEY_OF} AS key, a.status,
  a.job_id, a.job_ready_at, a.object_checksum, a.version_id, a.error, a.retryable, a.attempts, u.upload_id, u.range_size, u.part_size, u.part_count
  FROM archives a LEFT JOIN renamed r ON r.seq = a.seq LEFT JOIN uploads u ON u.seq = a.seq`;

interface StoredArchive extends Omit<ArchiveRow, 'status' | 'tree_hash' | 'archive_id'> {
  status: number;
  tree_hash: Buffer;
  archive_id: StoredId;
}

function toArchiveRow(row: StoredArchive): ArchiveRow {
  return { ...row, archive_id: unpackId(row.archive_id), status: ARCHIVE_STATUSES[row.status]!, tree_hash: row.tree_hash.toString('hex') };
}

type StoredId = Buffer | string;
const GLACIER_ARCHIVE_ID = /^[A-Za-z0-9_-]{138}$/;
/** Two filler characters make 140 base64 characters: exactly 105 bytes, so the packing is reversible. */
const ID_FILLER = 'AA';

/**
 * Archive ids as Glacier makes them (138 base64url characters) are stored as the 105 bytes they encode, a
 * quarter smaller; any other id as its text.
 */
function packId(id: string): StoredId {
  return GLACIER_ARCHIVE_ID.test(id) ? Buffer.from(id + ID_FILLER, 'base64url') : id;
}

function unpackId(stored: StoredId): string {
  return typeof stored === 'string' ? stored : stored.toString('base64url').slice(0, -ID_FILLER.length);
}

export class StateError extends Error {}

export type Counts = Record<ArchiveStatus, { archives: number; bytes: number }>;

/** Archives and bytes over every status of `counts()`. */
export function totalOf(counts: Counts): { archives: number; bytes: number } {
  let archives = 0;
  let bytes = 0;
  for (const c of Object.values(counts)) {
    archives += c.archives;
    bytes += c.bytes;
  }
  return { archives, bytes };
}

/** A failed archive put back to be copied from the start: requested again, its attempts forgotten. */
const RETRY = `status = ${CODE.planned}, job_id = NULL, job_ready_at = NULL, attempts = 0, retryable = 0`;

/** Names of the counters a transfer keeps (billed requests are `requests:<service>:<Operation>`). */
export const COUNTER = {
  bytesCopied: 'bytes_copied',
  /** Archive-retrieval jobs started (each is billed) */
  retrievals: 'retrievals',
  /** Retrievals requested again after their output expired or their job failed: each is paid again */
  reRequests: 're_requests',
  /** Writes of the transfer's marker on its target (billed PutObjects that copy no archive) */
  markerWrites: 'marker_writes',
  /** Archives (and their bytes) whose verified copy was already in S3 when the transfer began: never retrieved */
  alreadyInS3: 'already_in_s3',
  alreadyInS3Bytes: 'already_in_s3_bytes',
  requests: (service: string, operation: string) => `requests:${service}:${operation}`,
} as const;

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
      let version = this.db.pragma('user_version', { simple: true }) as number;
      if (version in MIGRATIONS) {
        this.db.close();
        migrate(path, version);
        this.db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: true });
        version = this.db.pragma('user_version', { simple: true }) as number;
      }
      if (version !== SCHEMA_VERSION) {
        const firstSchema = version === 0 && this.db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'transfer'").get() !== undefined;
        throw new StateError(
          firstSchema
            ? `state file ${path} was written by glacier-copy 0.1 (finish that transfer with glacier-copy 0.1)`
            : version === 0
              ? `state file ${path} is not a glacier-copy state database`
              : `state file ${path} has schema version ${version}; this glacier-copy reads version ${SCHEMA_VERSION}`,
        );
      }
      if (!options.readonly) {
        chmodSync(path, 0o600);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = NORMAL');
        // Index pages of a vault of millions do not fit SQLite's default 2 MiB cache: each lookup would read.
        this.db.pragma('cache_size = -16384');
        // Test-only: lets the file grow by this many pages, so that tests can stage "disk full" (SQLITE_FULL)
        // without filling a disk.
        const growth = process.env.GLACIER_COPY_TEST_STATE_GROWTH_PAGES;
        if (growth !== undefined) this.db.pragma(`max_page_count = ${(this.db.pragma('page_count', { simple: true }) as number) + Number(growth)}`);
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
      // Rows run from ~0.4 to ~2.5 KiB (descriptions and keys of up to 1 KiB each): large pages waste less at their ends.
      db.pragma('page_size = 16384');
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
    this.flushDeferred();
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

  /**
   * Nothing was done on AWS's side yet and nothing can have been copied: no inventory job, no topic, and no
   * complete inventory (rows of one that failed halfway are no work: nothing is copied before it completes).
   */
  isUntouched(): boolean {
    const info = this.transferInfo();
    return !info.inventoryJobId && !info.topicArn && (!info.inventoryDone || totalOf(this.counts()).archives === 0);
  }

  close(): void {
    if (this.db.open) {
      this.flushDeferred();
      this.db.close();
    }
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
      planned: (row.planned as number) >= PLAN_STAGE.keys,
      alreadyCopiedChecked: (row.planned as number) >= PLAN_STAGE.alreadyCopiedChecked,
      topicArn: (row.topic_arn as string | null) ?? undefined,
      queueUrl: (row.queue_url as string | null) ?? undefined,
      queueArn: (row.queue_arn as string | null) ?? undefined,
      subscriptionArn: (row.subscription_arn as string | null) ?? undefined,
      finishedAt: (row.finished_at as number | null) ?? undefined,
      copyModel: (row.copy_model as string | null) ?? undefined,
      inventoryScope: typeof row.inventory_scope === 'string' ? (JSON.parse(row.inventory_scope) as InventoryScope) : undefined,
    };
  }

  setTransfer(
    fields: Partial<
      Record<'inventory_job_id' | 'topic_arn' | 'queue_url' | 'queue_arn' | 'subscription_arn' | 'copy_model' | 'inventory_scope', string | null> &
        Record<'inventory_done' | 'planned' | 'finished_at', number | null>
    >,
  ): void {
    const names = Object.keys(fields);
    if (names.length === 0) return;
    this.stmt(`UPDATE transfer SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = 1`).run(fields);
  }

  /** Empties the archive tables for an inventory to be loaded (again), without the lookup indexes. */
  startInventory(): void {
    this.transaction(() => {
      this.db.exec('DELETE FROM archives; DELETE FROM renamed; DELETE FROM uploads; DELETE FROM parts; DELETE FROM bad_rows;');
      this.db.exec('DROP INDEX IF EXISTS archives_id; DROP INDEX IF EXISTS archives_key;');
    });
  }

  /** Inserts inventory entries with their candidate keys, in inventory order, in one transaction. */
  addArchives(entries: (InventoryEntry & { key: string })[]): void {
    const insert = this.stmt(
      `INSERT INTO archives (id_hash, archive_id, description, creation_date, size, tree_hash, key, key_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    let bytes = 0;
    this.transaction(() => {
      for (const e of entries) {
        insert.run(stringHash(e.archiveId), packId(e.archiveId), e.description, e.creationDate, e.size, Buffer.from(e.treeHash, 'hex'), e.key, stringHash(e.key));
        bytes += e.size;
      }
      this.stmt(`UPDATE totals SET archives = archives + ?, bytes = bytes + ? WHERE status = ${CODE.planned}`).run(entries.length, bytes);
    });
  }

  /**
   * Builds the lookup indexes once the inventory is in, and drops any repeated archive id (the first entry
   * wins). Returns how many were dropped.
   */
  finishInventory(): number {
    return this.transaction(() => {
      this.db.exec(LOOKUP_INDEXES);
      let dropped = 0;
      const repeated = this.db.prepare('SELECT id_hash FROM archives GROUP BY id_hash HAVING COUNT(*) > 1').pluck().all() as number[];
      const drop = this.db.prepare(
        'DELETE FROM archives WHERE id_hash = ? AND seq NOT IN (SELECT MIN(seq) FROM archives WHERE id_hash = ? GROUP BY archive_id)',
      );
      for (const hash of repeated) dropped += drop.run(hash, hash).changes;
      return dropped;
    });
  }

  addBadRow(line: number, reason: string): void {
    this.stmt('INSERT INTO bad_rows (line, reason) VALUES (?, ?)').run(line, reason);
  }

  badRows(): { line: number; reason: string }[] {
    return this.stmt('SELECT line, reason FROM bad_rows ORDER BY line').all() as { line: number; reason: string }[];
  }

  archive(archiveId: string): ArchiveRow | undefined {
    const row = this.stmt(`${ARCHIVE_SELECT} WHERE a.id_hash = ? AND a.archive_id = ?`).get(stringHash(archiveId), packId(archiveId)) as StoredArchive | undefined;
    return row && toArchiveRow(row);
  }

  archiveBySeq(seq: number): ArchiveRow | undefined {
    const row = this.stmt(`${ARCHIVE_SELECT} WHERE a.seq = ?`).get(seq) as StoredArchive | undefined;
    return row && toArchiveRow(row);
  }

  archiveByJob(jobId: string): ArchiveRow | undefined {
    const row = this.stmt(`${ARCHIVE_SELECT} WHERE a.job_id = ?`).get(jobId) as StoredArchive | undefined;
    return row && toArchiveRow(row);
  }

  archiveByKey(key: string): ArchiveRow | undefined {
    const hash = stringHash(key);
    const row = (this.stmt(`${ARCHIVE_SELECT} WHERE r.key_hash = ? AND r.key = ?`).get(hash, key) ??
      this.stmt(`${ARCHIVE_SELECT} WHERE a.key_hash = ? AND a.key = ? AND r.seq IS NULL`).get(hash, key)) as StoredArchive | undefined;
    return row && toArchiveRow(row);
  }

  /** Whether some archive has `key` as its key. */
  isKeyTaken(key: string): boolean {
    return (
      this.stmt(
        `SELECT 1 FROM renamed WHERE key_hash = @hash AND key = @key
         UNION ALL SELECT 1 FROM archives a WHERE a.key_hash = @hash AND a.key = @key AND NOT EXISTS (SELECT 1 FROM renamed r WHERE r.seq = a.seq)
         LIMIT 1`,
      ).get({ hash: stringHash(key), key }) !== undefined
    );
  }

  /** Number of keys archives are named by (candidates, and renames), and the hash of each. */
  keyHashes(): { count: number; hashes: IterableIterator<number> } {
    const count = (this.stmt('SELECT COUNT(*) FROM archives').pluck().get() as number) + (this.stmt('SELECT COUNT(*) FROM renamed').pluck().get() as number);
    const hashes = this.stmt('SELECT key_hash FROM archives UNION ALL SELECT key_hash FROM renamed').pluck().iterate() as IterableIterator<number>;
    return { count, hashes };
  }

  /** Gives an archive another key than the one it was named with. */
  setKey(seq: number, key: string): void {
    this.stmt('INSERT OR REPLACE INTO renamed (seq, key, key_hash) VALUES (?, ?, ?)').run(seq, key, stringHash(key));
  }

  /**
   * Candidate keys held by more than one archive, in a fixed order. Candidates are found in the index of key
   * hashes alone, and only their keys are read, one at a time: a group of millions of archives with one name
   * costs no sort of their keys.
   */
  sharedKeys(): string[] {
    const keys: string[] = [];
    const keysWithHash = this.stmt('SELECT key FROM archives WHERE key_hash = ?').pluck();
    for (const hash of this.stmt('SELECT key_hash FROM archives GROUP BY key_hash HAVING COUNT(*) > 1').pluck().all() as number[]) {
      const counts = new Map<string, number>();
      for (const key of keysWithHash.iterate(hash) as IterableIterator<string>) counts.set(key, (counts.get(key) ?? 0) + 1);
      for (const [key, n] of counts) if (n > 1) keys.push(key);
    }
    return keys.sort();
  }

  /**
   * Archives named `key` as the inventory was read, compactly: their seqs and creation times (NaN where the date
   * cannot be read), a group of millions in a few megabytes.
   */
  archivesWithKey(key: string): { seqs: Float64Array; creationTimes: Float64Array } {
    const count = this.stmt('SELECT COUNT(*) FROM archives WHERE key_hash = ? AND key = ?').pluck().get(stringHash(key), key) as number;
    const seqs = new Float64Array(count);
    const creationTimes = new Float64Array(count);
    let i = 0;
    const rows = this.stmt('SELECT seq, creation_date FROM archives WHERE key_hash = ? AND key = ?').raw().iterate(stringHash(key), key) as IterableIterator<[number, string]>;
    for (const [seq, creationDate] of rows) {
      if (i === count) break;
      seqs[i] = seq;
      creationTimes[i++] = Date.parse(creationDate);
    }
    return { seqs: seqs.subarray(0, i), creationTimes: creationTimes.subarray(0, i) };
  }

  creationDateOf(seq: number): string {
    return this.stmt('SELECT creation_date FROM archives WHERE seq = ?').pluck().get(seq) as string;
  }

  /** The highest archive seq (0 when none): seqs run from 1 in inventory order. */
  lastSeq(): number {
    return (this.stmt('SELECT MAX(seq) FROM archives').pluck().get() as number | null) ?? 0;
  }

  archiveIdOf(seq: number): string {
    return unpackId(this.stmt('SELECT archive_id FROM archives WHERE seq = ?').pluck().get(seq) as StoredId);
  }




  /** Fails every archive too large to copy at all; returns how many. */
  failLargerThan(size: number, reason: string): number {
    return this.stmt(`UPDATE archives SET status = ${CODE.failed}, error = ? WHERE size > ? AND status < ${FIRST_CLOSED}`).run(reason, size).changes;
  }

  /**
   * Every archive in inventory order, read in pages so that the caller may write between rows (SQLite does not
   * allow writes on a connection while one of its statements is being iterated).
   */
  *iterateArchivesSnapshot(pageSize = 10_000): IterableIterator<ArchiveRow> {
    const page = this.stmt(`${ARCHIVE_SELECT} WHERE a.seq > ? ORDER BY a.seq LIMIT ?`);
    for (let after = 0; ; ) {
      const rows = page.all(after, pageSize) as StoredArchive[];
      for (const row of rows) yield toArchiveRow(row);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** Open archives of one status, in inventory order (through the index of open archives). */
  archivesWithStatus(status: Exclude<ArchiveStatus, 'verified' | 'failed'>, limit = -1): ArchiveRow[] {
    return (
      this.stmt(`${ARCHIVE_SELECT} WHERE a.status = ? AND a.status < ${FIRST_CLOSED} ORDER BY a.seq LIMIT ?`).all(CODE[status], limit) as StoredArchive[]
    ).map(toArchiveRow);
  }

  /** Staged archives, longest ready first (those without a job, which cannot expire, before all). */
  stagedByReadiness(limit: number): ArchiveRow[] {
    return (this.stmt(`${ARCHIVE_SELECT} WHERE a.status = ${CODE.staged} ORDER BY a.job_ready_at LIMIT ?`).all(limit) as StoredArchive[]).map(toArchiveRow);
  }

  /** Staged archives whose job became ready before `readyBefore`. */
  stagedReadyBefore(readyBefore: number): ArchiveRow[] {
    return (
      this.stmt(`${ARCHIVE_SELECT} WHERE a.status = ${CODE.staged} AND a.job_ready_at < ? ORDER BY a.job_ready_at`).all(readyBefore) as StoredArchive[]
    ).map(toArchiveRow);
  }

  /** Updates one archive's columns. */
  updateArchive(seq: number, fields: ArchiveUpdate): void {
    const names = Object.keys(fields) as (keyof ArchiveUpdate)[];
    const values: Record<string, unknown> = { seq };
    for (const n of names) values[n] = n === 'status' ? CODE[fields.status!] : fields[n];
    this.stmt(`UPDATE archives SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE seq = @seq`).run(values);
  }

  /** Runs `fn` in one transaction (batched writes, all-or-nothing). */
  transaction<T>(fn: () => T): T {
    this.flushDeferred();
    return this.inTransaction(fn) as T;
  }

  private deferred: (() => void)[] = [];
  private onDeferredWritten: (() => void)[] = [];
  private flushing = false;
  private deferredError?: unknown;

  /**
   * Records something that already happened with the next batch of writes: at the next turn of the event loop,
   * or before the next statement, whichever comes first, in one transaction with the others. A record lost in a
   * crash only makes `resume` redo verified work (a part uploaded again, an object found and adopted), so
   * hundreds of archives a second cost one commit, not hundreds. Never for a record that must precede an AWS
   * call.
   */
  defer(record: () => void): void {
    if (this.deferred.length === 0) {
      setImmediate(() => {
        try {
          this.flushDeferred();
        } catch {
          // Kept in deferredError: the next statement, from whoever drives the state, throws it.
        }
      });
    }
    this.deferred.push(record);
  }

  /** Runs `fn` once the records deferred so far are written (at once when there are none). */
  afterDeferred(fn: () => void): void {
    if (this.deferred.length === 0) fn();
    else this.onDeferredWritten.push(fn);
  }

  /** Applies deferred records; a failure to write them is thrown here and by every later call. */
  flushDeferred(): void {
    if (this.deferredError !== undefined) throw this.deferredError;
    if (this.deferred.length === 0 || this.flushing || !this.db.open) return;
    const batch = this.deferred;
    const then = this.onDeferredWritten;
    this.deferred = [];
    this.onDeferredWritten = [];
    this.flushing = true;
    try {
      this.inTransaction(() => {
        for (const record of batch) record();
      });
    } catch (e) {
      this.deferredError = e;
      throw e;
    } finally {
      this.flushing = false;
    }
    for (const fn of then) fn();
  }

  /** Puts archives that failed for transient reasons back in the queue, keeping their uploads and parts. */
  retryTransientFailures(): number {
    // Through the index of retryable failures: no scan of a vault of millions.
    return this.stmt(
      `UPDATE archives SET ${RETRY} WHERE status = ${CODE.failed} AND retryable = 1`,
    ).run().changes;
  }

  /** Every failed archive, whatever its reason, goes back to be copied again (`resume --retry-failed`). */
  retryAllFailures(): number {
    return this.transaction(() => {
      const retried = this.stmt(
        `UPDATE archives SET ${RETRY}, error = NULL WHERE status = ${CODE.failed}`,
      ).run().changes;
      // A transfer that ended with failures is open again.
      if (retried > 0) this.setTransfer({ finished_at: null });
      return retried;
    });
  }

  /** Failed archives the next run tries again (a passing reason) */
  retryableFailureCount(): number {
    return (this.stmt(`SELECT count(*) AS n FROM archives WHERE status = ${CODE.failed} AND retryable = 1`).get() as { n: number }).n;
  }

  anyRetryableFailure(): boolean {
    return this.stmt(`SELECT 1 FROM archives WHERE status = ${CODE.failed} AND retryable = 1 LIMIT 1`).get() !== undefined;
  }

  /** Records the multipart upload of an archive with the plan its parts follow; parts of any earlier one go. */
  setUpload(seq: number, upload: UploadPlan): void {
    this.transaction(() => {
      this.stmt('DELETE FROM parts WHERE seq = ?').run(seq);
      this.stmt('INSERT OR REPLACE INTO uploads (seq, upload_id, range_size, part_size, part_count) VALUES (?, ?, ?, ?, ?)').run(
        seq,
        upload.uploadId,
        upload.rangeSize,
        upload.partSize,
        upload.partCount,
      );
    });
  }

  /** Staged archives whose multipart upload has begun: being copied, or to be continued. */
  stagedWithUploads(): { archives: number; bytes: number } {
    const row = this.stmt(
      `SELECT COUNT(*) AS archives, COALESCE(SUM(a.size), 0) AS bytes FROM uploads u JOIN archives a ON a.seq = u.seq WHERE a.status = ${CODE.staged}`,
    ).get() as { archives: number; bytes: number };
    return row;
  }

  partCount(seq: number): number {
    return this.stmt('SELECT COUNT(*) FROM parts WHERE seq = ?').pluck().get(seq) as number;
  }

  parts(seq: number): PartRow[] {
    const rows = this.stmt('SELECT * FROM parts WHERE seq = ? ORDER BY part_number').all(seq) as (Omit<PartRow, 'tree_hashes'> & { tree_hashes: Buffer })[];
    return rows.map((r) => ({ ...r, tree_hashes: splitHashes(r.tree_hashes) }));
  }

  recordPart(part: PartRow): void {
    this.stmt('INSERT OR REPLACE INTO parts (seq, part_number, etag, checksum_sha256, tree_hashes) VALUES (?, ?, ?, ?, ?)').run(
      part.seq,
      part.part_number,
      part.etag,
      part.checksum_sha256,
      Buffer.concat(part.tree_hashes.map((h) => Buffer.from(h, 'hex'))),
    );
  }

  /** The archive's multipart upload is gone (aborted, vanished, completed): its record and parts go with it. */
  forgetUpload(seq: number): void {
    this.transaction(() => {
      this.stmt('DELETE FROM parts WHERE seq = ?').run(seq);
      this.stmt('DELETE FROM uploads WHERE seq = ?').run(seq);
    });
  }

  /**
   * Job ids seen in one pass over Glacier's job list, kept in a temporary table (not in memory: hundreds of
   * thousands of jobs may be in flight), to find the archives whose job Glacier no longer lists.
   */
  startJobListing(): void {
    this.db.exec('CREATE TEMP TABLE IF NOT EXISTS listed_jobs (job_id TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM temp.listed_jobs;');
  }

  noteListedJobs(jobIds: readonly string[]): void {
    const insert = this.stmt('INSERT OR IGNORE INTO temp.listed_jobs (job_id) VALUES (?)');
    this.transaction(() => {
      for (const id of jobIds) insert.run(id);
    });
  }

  /** Requested or staged archives whose job the last listing did not include. */
  archivesWithUnlistedJobs(): ArchiveRow[] {
    return (
      this.stmt(
        `${ARCHIVE_SELECT} WHERE a.status IN (${CODE.requested}, ${CODE.staged}) AND a.status < ${FIRST_CLOSED} AND a.job_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM temp.listed_jobs l WHERE l.job_id = a.job_id)`,
      ).all() as StoredArchive[]
    ).map(toArchiveRow);
  }

  endJobListing(): void {
    this.db.exec('DELETE FROM temp.listed_jobs');
  }

  /** Adds to named counters (bytes copied, billed requests, re-requests). */
  addCounters(deltas: Iterable<[string, number]>): void {
    const add = this.stmt('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value');
    this.transaction(() => {
      for (const [name, delta] of deltas) if (delta !== 0) add.run(name, delta);
    });
  }

  counters(): Map<string, number> {
    const rows = this.stmt('SELECT name, value FROM counters').all() as { name: string; value: number }[];
    return new Map(rows.map((r) => [r.name, r.value]));
  }

  /** Archives and bytes in the given statuses, from the per-status totals (no scan). */
  totalWithStatus(statuses: readonly ArchiveStatus[]): { archives: number; bytes: number } {
    const counts = this.counts();
    return totalOf(Object.fromEntries(statuses.map((s) => [s, counts[s]])) as Counts);
  }

  /** Archive count and bytes per status, kept up to date by triggers: costs the same for ten or ten million. */
  counts(): Counts {
    const out = Object.fromEntries(ARCHIVE_STATUSES.map((s) => [s, { archives: 0, bytes: 0 }])) as Counts;
    for (const r of this.stmt('SELECT status, archives, bytes FROM totals').all() as { status: number; archives: number; bytes: number }[]) {
      const name = ARCHIVE_STATUSES[r.status];
      if (name) out[name] = { archives: r.archives, bytes: r.bytes };
    }
    return out;
  }

  failures(limit = 50): { archive_id: string; key: string | null; error: string | null }[] {
    const rows = this.stmt(
      `SELECT a.archive_id, ${KEY_OF} AS key, a.error FROM archives a LEFT JOIN renamed r ON r.seq = a.seq WHERE a.status = ${CODE.failed} ORDER BY a.seq LIMIT ?`,
    ).all(limit) as { archive_id: StoredId; key: string | null; error: string | null }[];
    return rows.map((r) => ({ ...r, archive_id: unpackId(r.archive_id) }));
  }


  integrityCheck(): string {
    return (this.db.pragma('integrity_check', { simple: true }) as string) ?? 'unknown';
  }
}

function splitHashes(blob: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < blob.length; i += 32) out.push(blob.subarray(i, i + 32).toString('hex'));
  return out;
}
