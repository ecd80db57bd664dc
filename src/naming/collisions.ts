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

export interface FinalKey<C extends KeyCandidate = KeyCandidate> {
  candidate: C;
  key: string;
}

function creationTime(candidate: KeyCandidate): number {
  const time = Date.parse(candidate.creationDate);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/** Who keeps the plain key: overrides first, then the oldest archive, then the smaller archive id. */
function claimOrder(a: KeyCandidate, timeA: number, b: KeyCandidate, timeB: number): number {
  if (Boolean(a.isOverride) !== Boolean(b.isOverride)) return a.isOverride ? -1 : 1;
  if (timeA !== timeB) return timeA < timeB ? -1 : 1;
  return a.archiveId < b.archiveId ? -1 : a.archiveId > b.archiveId ? 1 : 0;
}

/** ` (2013-01-01T000000Z)`: the creation time to the second, without colons (awkward in file names). */
function creationDateSuffix(creationDate: string, time: number): string {
  const stamp = Number.isFinite(time)
    ? new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '')
    : creationDate.replace(/[^0-9A-Za-z.-]/g, '');
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
export function* resolveCollisionGroup<C extends KeyCandidate>(group: readonly C[], isTaken: (key: string) => boolean): Generator<FinalKey<C>> {
  // Creation times parsed once, and the group sorted by index rather than copied: groups can hold millions.
  const times = group.map(creationTime);
  const order = group.map((_, i) => i).sort((a, b) => claimOrder(group[a]!, times[a]!, group[b]!, times[b]!));
  for (const [rank, index] of order.entries()) {
    const candidate = group[index]!;
    if (rank === 0) {
      yield { candidate, key: candidate.candidateKey };
      continue;
    }
    const dated = creationDateSuffix(candidate.creationDate, times[index]!);
    let key = fitKey(candidate.candidateKey, dated).key;
    for (let counter = 2; isTaken(key); counter++) key = fitKey(candidate.candidateKey, `${dated} (${counter})`).key;
    yield { candidate, key };
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
    if (group.length === 1) finalKeys.set(group[0].archiveId, candidateKey);
    else colliding.push(candidateKey);
  }
  for (const candidateKey of colliding.sort()) {
    for (const { candidate, key } of resolveCollisionGroup(groups.get(candidateKey)!, (k) => taken.has(k))) {
      finalKeys.set(candidate.archiveId, key);
      taken.add(key);
    }
  }
  return finalKeys;
}
