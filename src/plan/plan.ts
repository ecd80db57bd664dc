import { createReadStream } from 'node:fs';
import { ConfigError } from '../aws/errors.js';
import type { EventSink } from '../events.js';
import { nameArchive, readNamingOverrides, resolveCollisionGroup, unknownOverrides, type KeyCandidate, type NamingOverrides } from '../naming/index.js';
import { totalOf, type InventoryEntry, type TransferConfig, type TransferState } from '../state/db.js';
import { MAX_ARCHIVE_BYTES, MAX_PARTS } from './chunks.js';

export interface PlanResult {
  archives: number;
  bytes: number;
  uncopyable: number;
}

/** Names archives as the inventory is read: the candidate key of each, before collisions are resolved. */
export interface ArchiveNamer {
  keyOf(entry: Pick<InventoryEntry, 'archiveId' | 'description'>): string;
  overrides?: NamingOverrides;
}

export async function loadOverrides(path: string | undefined): Promise<NamingOverrides | undefined> {
  if (!path) return undefined;
  try {
    return await readNamingOverrides(createReadStream(path));
  } catch (e) {
    throw new ConfigError(`--naming-overrides ${path}: ${(e as Error).message}`);
  }
}

export async function createNamer(config: Pick<TransferConfig, 'prefix' | 'namingOverrides'>): Promise<ArchiveNamer> {
  const overrides = await loadOverrides(config.namingOverrides);
  return {
    overrides,
    keyOf: (entry) =>
      nameArchive({ archiveId: entry.archiveId, description: entry.description }, { prefix: config.prefix, overrideKey: overrides?.byArchiveId.get(entry.archiveId)?.key }).key,
  };
}

/**
 * Makes every archive's key unique, once, after the inventory is in the state with candidate keys. Collisions
 * are found in the index of key hashes, so only archives that share a key are ever loaded, a group at a time,
 * in key order (deterministic): millions of archives plan in the time of one index scan.
 */
export function planArchives(state: TransferState, namer: ArchiveNamer, emit: EventSink): PlanResult {
  const uncopyable = state.transaction(() => {
    const groups = new Map<string, KeyCandidate[]>();
    const seqOf = new Map<string, number>();
    for (const keyHash of state.sharedKeyHashes()) {
      for (const m of state.archivesWithKeyHash(keyHash)) {
        const group = groups.get(m.key) ?? [];
        group.push({ archiveId: m.archive_id, candidateKey: m.key, creationDate: m.creation_date, isOverride: namer.overrides?.byArchiveId.has(m.archive_id) });
        groups.set(m.key, group);
        seqOf.set(m.archive_id, m.seq);
      }
    }
    const colliding = [...groups.keys()].filter((k) => groups.get(k)!.length > 1).sort();
    for (const candidateKey of colliding) {
      // Suffixed keys must not take a key any other archive holds: candidates, and keys given by earlier groups.
      for (const { archiveId, key } of resolveCollisionGroup(groups.get(candidateKey)!, (k) => state.isKeyTaken(k))) {
        if (key !== candidateKey) state.setKey(seqOf.get(archiveId)!, key);
      }
    }
    return state.failLargerThan(MAX_ARCHIVE_BYTES, `cannot be copied: larger than ${MAX_PARTS} parts of 5 GiB`);
  });
  if (namer.overrides) {
    for (const problem of [...namer.overrides.problems, ...unknownOverrides(namer.overrides, (id) => state.archive(id) !== undefined)]) {
      emit({ type: 'warning', message: `naming overrides line ${problem.line}: ${problem.reason}${problem.archiveId ? ` (${problem.archiveId})` : ''}` });
    }
  }
  return { ...totalOf(state.counts()), uncopyable };
}
