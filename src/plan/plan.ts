import { createReadStream } from 'node:fs';
import { ConfigError } from '../aws/errors.js';
import type { EventSink } from '../engine/events.js';
import { nameArchive, readNamingOverrides, resolveCollisionGroup, unknownOverrides, type KeyCandidate, type NamingOverrides } from '../naming/index.js';
import type { TransferConfig, TransferState } from '../state/db.js';
import { UncopyableArchiveError, planChunks } from './chunks.js';

export interface PlanResult {
  archives: number;
  bytes: number;
  uncopyable: number;
}

export async function loadOverrides(path: string | undefined): Promise<NamingOverrides | undefined> {
  if (!path) return undefined;
  try {
    return await readNamingOverrides(createReadStream(path));
  } catch (e) {
    throw new ConfigError(`--naming-overrides ${path}: ${(e as Error).message}`);
  }
}

/**
 * Decides every archive's S3 key and chunk plan, once. Candidate keys go through a temporary table so that
 * collisions are found by an index rather than in memory, which keeps millions of archives cheap; only groups
 * of archives that share a key are loaded, one group at a time, in key order (deterministic).
 */
export async function planArchives(state: TransferState, config: TransferConfig, emit: EventSink): Promise<PlanResult> {
  const overrides = await loadOverrides(config.namingOverrides);
  const db = state.db;
  db.exec(`DROP TABLE IF EXISTS temp.candidates;
    CREATE TEMP TABLE candidates (archive_id TEXT PRIMARY KEY, candidate_key TEXT NOT NULL, creation_date TEXT NOT NULL, is_override INTEGER NOT NULL);
    CREATE INDEX temp.candidates_key ON candidates(candidate_key);`);
  const insert = db.prepare('INSERT INTO candidates VALUES (?, ?, ?, ?)');
  let result: PlanResult = { archives: 0, bytes: 0, uncopyable: 0 };
  state.transaction(() => {
    for (const archive of state.iterateArchivesSnapshot()) {
      const override = overrides?.byArchiveId.get(archive.archive_id);
      const name = nameArchive({ archiveId: archive.archive_id, description: archive.description }, { prefix: config.prefix, overrideKey: override?.key });
      insert.run(archive.archive_id, name.key, archive.creation_date, override ? 1 : 0);
    }
    // Archives alone on their candidate key keep it.
    db.exec(`UPDATE archives SET key = (SELECT candidate_key FROM candidates c WHERE c.archive_id = archives.archive_id)
      WHERE archive_id IN (SELECT archive_id FROM candidates WHERE candidate_key IN
        (SELECT candidate_key FROM candidates GROUP BY candidate_key HAVING COUNT(*) = 1))`);
    const taken = db.prepare('SELECT 1 FROM candidates WHERE candidate_key = ? UNION ALL SELECT 1 FROM archives WHERE key = ? LIMIT 1');
    const groupKeys = db.prepare('SELECT candidate_key FROM candidates GROUP BY candidate_key HAVING COUNT(*) > 1 ORDER BY candidate_key').pluck().all() as string[];
    const members = db.prepare('SELECT archive_id, candidate_key, creation_date, is_override FROM candidates WHERE candidate_key = ?');
    const setKey = db.prepare('UPDATE archives SET key = ? WHERE archive_id = ?');
    for (const candidateKey of groupKeys) {
      const group: KeyCandidate[] = (members.all(candidateKey) as { archive_id: string; candidate_key: string; creation_date: string; is_override: number }[]).map((m) => ({
        archiveId: m.archive_id,
        candidateKey: m.candidate_key,
        creationDate: m.creation_date,
        isOverride: m.is_override === 1,
      }));
      // Ask the index, excluding the group's own key, which its first member keeps.
      for (const { archiveId, key } of resolveCollisionGroup(group, (k) => k !== candidateKey && taken.get(k, k) !== undefined)) {
        setKey.run(key, archiveId);
      }
    }
    result = planChunkSizes(state, config.chunkSize);
  });
  db.exec('DROP TABLE temp.candidates');
  if (overrides) {
    const known = db.prepare('SELECT 1 FROM archives WHERE archive_id = ?');
    for (const problem of [...overrides.problems, ...unknownOverrides(overrides, (id) => known.get(id) !== undefined)]) {
      emit({ type: 'warning', message: `naming overrides line ${problem.line}: ${problem.reason}${problem.archiveId ? ` (${problem.archiveId})` : ''}` });
    }
  }
  return result;
}

function planChunkSizes(state: TransferState, chunkSize: number): PlanResult {
  const result: PlanResult = { archives: 0, bytes: 0, uncopyable: 0 };
  const setPlan = state.db.prepare("UPDATE archives SET range_size = ?, part_size = ?, part_count = ?, status = 'planned' WHERE archive_id = ?");
  const setFailed = state.db.prepare("UPDATE archives SET status = 'failed', error = ? WHERE archive_id = ?");
  for (const archive of state.iterateArchivesSnapshot()) {
    result.archives++;
    result.bytes += archive.size;
    try {
      const plan = planChunks(archive.size, chunkSize);
      setPlan.run(plan.rangeSize, plan.partSize, plan.partCount, archive.archive_id);
    } catch (e) {
      if (!(e instanceof UncopyableArchiveError)) throw e;
      result.uncopyable++;
      setFailed.run(`cannot be copied: ${e.message}`, archive.archive_id);
    }
  }
  return result;
}
