import type { EventSink } from '../events.js';
import { resolveCollisionGroup, unknownOverrides, type ArchiveNamer, type CandidateGroup } from '../naming/index.js';
import { PLAN_STAGE, totalOf, type TransferState } from '../state/db.js';
import { MAX_ARCHIVE_BYTES, MAX_PARTS } from './chunks.js';
import { KeyFilter } from './key-filter.js';

export interface PlanResult {
  archives: number;
  bytes: number;
  uncopyable: number;
}

/**
 * Makes every archive's key unique, once (and records that it is done), after the inventory is in the state with
 * candidate keys. Collisions
 * are found in the index of key hashes, so only archives that share a key are ever loaded, a group at a time,
 * in key order (deterministic): millions of archives plan in the time of one index scan.
 */
export function planArchives(state: TransferState, namer: ArchiveNamer, emit: EventSink): PlanResult {
  const uncopyable = state.transaction(() => {
    const shared = state.sharedKeys();
    if (shared.length > 0) resolveSharedKeys(state, shared, namer);
    const failed = state.failLargerThan(MAX_ARCHIVE_BYTES, `cannot be copied: larger than ${MAX_PARTS} parts of 5 GiB`);
    // In the same transaction: a plan is done once, or not at all (a second would find its own renames taken).
    state.setTransfer({ planned: PLAN_STAGE.keys });
    return failed;
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
    const { seqs, creationTimes } = state.archivesWithKey(candidateKey);
    // Archive ids and dates are read only where they matter: ties of creation time, overrides (looked up by id),
    // a date that is no time.
    const archiveId = (i: number) => state.archiveIdOf(seqs[i]!);
    const overrides = namer.overrides?.byArchiveId;
    const group: CandidateGroup = {
      size: seqs.length,
      candidateKey,
      creationTime: (i) => creationTimes[i]!,
      creationDate: (i) => state.creationDateOf(seqs[i]!),
      archiveId,
      isOverride: (i) => overrides?.has(archiveId(i)) ?? false,
    };
    // Suffixed keys must not take a key any other archive holds: candidates, and keys given so far (each is
    // recorded before the next is chosen).
    for (const { index, key } of resolveCollisionGroup(group, isTaken)) {
      if (key === candidateKey) continue;
      state.setKey(seqs[index]!, key);
      held.add(key);
    }
  }

}
