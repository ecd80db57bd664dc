import { createReadStream } from 'node:fs';
import { ConfigError } from '../aws/errors.js';
import type { EventSink } from '../events.js';
import { nameArchive, readNamingOverrides, resolveCollisionGroup, unknownOverrides, type NamingOverrides } from '../naming/index.js';
import { totalOf, type InventoryEntry, type TransferConfig, type TransferState } from '../state/db.js';
import { MAX_ARCHIVE_BYTES, MAX_PARTS } from './chunks.js';
import { KeyFilter } from './key-filter.js';

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
    const shared = state.sharedKeys();
    if (shared.length > 0) resolveSharedKeys(state, shared, namer);
    return state.failLargerThan(MAX_ARCHIVE_BYTES, `cannot be copied: larger than ${MAX_PARTS} parts of 5 GiB`);
  });
  if (namer.overrides) {
    for (const problem of [...namer.overrides.problems, ...unknownOverrides(namer.overrides, (id) => state.archive(id) !== undefined)]) {
      emit({ type: 'warning', message: `naming overrides line ${problem.line}: ${problem.reason}${problem.archiveId ? ` (${problem.archiveId})` : ''}` });
    }
  }
  return { ...totalOf(state.counts()), uncopyable };
}

/** Gives every archive but the first of each group that shares a candidate key a key of its own. */
function resolveSharedKeys(state: TransferState, shared: string[], namer: ArchiveNamer): void {
  // Every key any archive holds, so that most tries at a free name need no lookup.
  const { count, hashes } = state.keyHashes();
  const held = new KeyFilter(count);
  for (const hash of hashes) held.addHash(hash);
  const isTaken = (key: string) => held.mayHold(key) && state.isKeyTaken(key);
  for (const candidateKey of shared) {
    const group = state.archivesWithKey(candidateKey).map((m) => Object.assign(m, { candidateKey, isOverride: namer.overrides?.byArchiveId.has(m.archiveId) }));
    // Suffixed keys must not take a key any other archive holds: candidates, and keys given so far (each is
    // recorded before the next is chosen).
    for (const { candidate, key } of resolveCollisionGroup(group, isTaken)) {
      if (key === candidateKey) continue;
      state.setKey(candidate.seq, key);
      held.add(key);
    }
  }
}
