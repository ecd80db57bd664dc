import { fitKey } from './key.js';

export interface KeyCandidate {
  archiveId: string;
  /** The archive's CreationDate from the inventory */
  creationDate: string;
  /** The key nameArchive gave it */
  candidateKey: string;
  /** Named by the user's override file: such an archive keeps the plain key before one named by its description */
  isOverride?: boolean;
}

/**
 * The archives that share one candidate key, as a view rather than objects: a group of millions can be held as
 * a few arrays, and what only ties need (archive ids) fetched when asked for.
 */
export interface CandidateGroup {
  readonly size: number;
  readonly candidateKey: string;
  /** Creation time of member `index` in epoch ms; NaN when its date cannot be read */
  creationTime(index: number): number;
  /** The inventory's CreationDate text of member `index` (asked for only when it is not a time) */
  creationDate(index: number): string;
  archiveId(index: number): string;
  isOverride(index: number): boolean;
}

/** The final key of the group member at `index`. */
export interface FinalKey {
  index: number;
  key: string;
}

/** A group of candidate objects, all of one candidate key, as a view. */
export function candidateGroup(candidates: readonly KeyCandidate[]): CandidateGroup {
  return {
    size: candidates.length,
    candidateKey: candidates[0]?.candidateKey ?? '',
    creationTime: (i) => Date.parse(candidates[i]!.creationDate),
    creationDate: (i) => candidates[i]!.creationDate,
    archiveId: (i) => candidates[i]!.archiveId,
    isOverride: (i) => Boolean(candidates[i]!.isOverride),
  };
}

/** Who keeps the plain key: overrides first, then the oldest archive, then the smaller archive id. */
function claimOrder(group: CandidateGroup, overrides: Uint8Array, times: Float64Array): (a: number, b: number) => number {
  return (a, b) => {
    if (overrides[a] !== overrides[b]) return overrides[a] ? -1 : 1;
    if (times[a] !== times[b]) return times[a]! < times[b]! ? -1 : 1;
    const [idA, idB] = [group.archiveId(a), group.archiveId(b)];
    return idA < idB ? -1 : idA > idB ? 1 : 0;
  };
}

/** ` (2013-01-01T000000Z)`: the creation time to the second, without colons (awkward in file names). */
function creationDateSuffix(group: CandidateGroup, index: number, time: number): string {
  const stamp = Number.isFinite(time)
    ? new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '')
    : group.creationDate(index).replace(/[^0-9A-Za-z.-]/g, '');
  return ` (${stamp})`;
}

/**
 * Final keys for archives that share one candidate key, one at a time. The first in claim order keeps it; each
 * other gets its creation date before the extension (`photo (2014-05-01T120000Z).jpg`), and if that is taken
 * too a counter (`photo (2014-05-01T120000Z) (2).jpg`). The result does not depend on the order of `group`.
 *
 * `isTaken` must answer true for every candidate key of the whole transfer (a suffixed key never takes a name
 * that another archive has on its own) and for every final key yielded so far: the caller records each key
 * before it asks for the next, so that a group of millions needs no set of its own keys in memory. Groups must
 * be resolved in a fixed order (resolveKeyCollisions sorts by candidate key) for the whole assignment to be
 * deterministic.
 */
export function* resolveCollisionGroup(group: CandidateGroup, isTaken: (key: string) => boolean): Generator<FinalKey> {
  // Overrides and times read once, and the group sorted by index rather than copied: groups can hold millions.
  const overrides = new Uint8Array(group.size);
  const times = new Float64Array(group.size);
  for (let i = 0; i < group.size; i++) {
    overrides[i] = group.isOverride(i) ? 1 : 0;
    // An unreadable date sorts after every readable one.
    times[i] = group.creationTime(i);
    if (Number.isNaN(times[i])) times[i] = Number.POSITIVE_INFINITY;
  }
  const order = Array.from({ length: group.size }, (_, i) => i).sort(claimOrder(group, overrides, times));
  for (const [rank, index] of order.entries()) {
    if (rank === 0) {
      yield { index, key: group.candidateKey };
      continue;
    }
    const dated = creationDateSuffix(group, index, times[index]!);
    let key = fitKey(group.candidateKey, dated).key;
    for (let counter = 2; isTaken(key); counter++) key = fitKey(group.candidateKey, `${dated} (${counter})`).key;
    yield { index, key };
  }
}

/**
 * Final, unique keys for every archive, by archive id, whatever the order of `candidates`.
 *
 * Holds every candidate in memory (a few hundred bytes each): fine for hundreds of thousands of archives. For
 * millions, the engine keeps candidates in SQLite and runs resolveCollisionGroup over the groups with more than
 * one member, ordered by candidate key, with `isTaken` answered by an index over candidate and final keys.
 */
export function resolveKeyCollisions(candidates: Iterable<KeyCandidate>): Map<string, string> {
  const groups = new Map<string, KeyCandidate[]>();
  for (const candidate of candidates) {
    const group = groups.get(candidate.candidateKey);
    if (group) group.push(candidate);
    else groups.set(candidate.candidateKey, [candidate]);
  }
  const taken = new Set(groups.keys());
  const finalKeys = new Map<string, string>();
  const colliding: string[] = [];
  for (const [candidateKey, group] of groups) {
    if (group.length === 1) finalKeys.set(group[0]!.archiveId, candidateKey);
    else colliding.push(candidateKey);
  }
  for (const candidateKey of colliding.sort()) {
    const group = groups.get(candidateKey)!;
    for (const { index, key } of resolveCollisionGroup(candidateGroup(group), (k) => taken.has(k))) {
      finalKeys.set(group[index]!.archiveId, key);
      taken.add(key);
    }
  }
  return finalKeys;
}
