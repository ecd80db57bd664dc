import type { ArchiveContent } from './archives.js';

export interface Archive {
  id: string;
  description: string;
  creationDate: string;
  content: ArchiveContent;
}

/** Archives numbered 0…count−1 that exist without being stored: each is computed when asked for. */
export interface ArchiveRange {
  readonly count: number;
  /** Sum of the archives' sizes */
  readonly bytes: number;
  archive(index: number): Archive;
  /** The index of the archive with this id, or undefined */
  indexOf(id: string): number | undefined;
}

/** The archives of a vault as they were at one moment, however the vault changes afterwards. */
export interface CatalogSnapshot {
  /** The snapshot's archives from slot `from` on, in vault order, each with its slot. */
  entries(from?: number): Generator<[slot: number, archive: Archive]>;
}

/** An archive added one by one; kept after deletion (`deletedAt`) while older snapshots may still list it. */
interface AddedArchive {
  archive: Archive;
  addedAt: number;
  deletedAt: number;
}

/**
 * The archives of one vault: an optional range of generated archives (slots 0…count−1, computed on demand, so
 * ten million cost nothing), then the archives added one by one (uploads, listed generated archives). Every
 * change bumps a version and a snapshot is just a version: it sees what was added at or before it and not yet
 * deleted, which is what an inventory taken at a job's completion needs. Lookups by id, counts and total bytes
 * are O(1); memory is O(additions + deletions).
 */
export class ArchiveCatalog {
  private version = 0;
  private readonly generatedDeletedAt = new Map<number, number>();
  private readonly added: AddedArchive[] = [];
  /** id → index in `added`, for archives not deleted */
  private readonly addedIndex = new Map<string, number>();
  private count: number;
  private totalBytes: number;

  constructor(private readonly generated?: ArchiveRange) {
    this.count = generated?.count ?? 0;
    this.totalBytes = generated?.bytes ?? 0;
  }

  /** Number of archives in the vault now. */
  get size(): number {
    return this.count;
  }

  /** Total size of the archives in the vault now. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Additions and deletions so far: unchanged means the vault holds what it held. */
  get changes(): number {
    return this.version;
  }

  add(archive: Archive): void {
    if (this.get(archive.id)) throw new Error(`archive id already in the vault: ${archive.id}`);
    this.addedIndex.set(archive.id, this.added.length);
    this.added.push({ archive, addedAt: ++this.version, deletedAt: Infinity });
    this.count++;
    this.totalBytes += archive.content.size;
  }

  get(id: string): Archive | undefined {
    const added = this.addedIndex.get(id);
    if (added !== undefined) return this.added[added]!.archive;
    const index = this.liveGeneratedIndex(id);
    return index === undefined ? undefined : this.generated!.archive(index);
  }

  delete(id: string): boolean {
    const added = this.addedIndex.get(id);
    let archive: Archive;
    if (added !== undefined) {
      this.addedIndex.delete(id);
      this.added[added]!.deletedAt = ++this.version;
      archive = this.added[added]!.archive;
    } else {
      const index = this.liveGeneratedIndex(id);
      if (index === undefined) return false;
      this.generatedDeletedAt.set(index, ++this.version);
      archive = this.generated!.archive(index);
    }
    this.count--;
    this.totalBytes -= archive.content.size;
    return true;
  }

  private liveGeneratedIndex(id: string): number | undefined {
    const index = this.generated?.indexOf(id);
    return index === undefined || this.generatedDeletedAt.has(index) ? undefined : index;
  }

  snapshot(): CatalogSnapshot {
    const version = this.version;
    return { entries: (from = 0) => this.entriesAt(version, from) };
  }

  /** The archives in the vault now, in vault order (generated ones first). */
  *values(): Generator<Archive> {
    for (const [, archive] of this.entriesAt(this.version, 0)) yield archive;
  }

  *keys(): Generator<string> {
    for (const archive of this.values()) yield archive.id;
  }

  private *entriesAt(version: number, from: number): Generator<[number, Archive]> {
    const generatedCount = this.generated?.count ?? 0;
    for (let slot = from; slot < generatedCount; slot++) {
      if ((this.generatedDeletedAt.get(slot) ?? Infinity) > version) yield [slot, this.generated!.archive(slot)];
    }
    for (let i = Math.max(0, from - generatedCount); i < this.added.length; i++) {
      const { archive, addedAt, deletedAt } = this.added[i]!;
      if (addedAt > version) return; // added in version order: all later ones are newer still
      if (deletedAt > version) yield [generatedCount + i, archive];
    }
  }
}
