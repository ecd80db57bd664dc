import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Archive, CatalogSnapshot } from './catalog.js';
import type { Vault } from './store.js';

export type InventoryFormat = 'JSON' | 'CSV';

/** Entries rendered between two turns of the event loop (a few milliseconds of work). */
const ENTRIES_PER_BATCH = 500;
/** A SHA-256 tree hash is always 64 hex digits: an entry's length does not depend on which. */
const ANY_TREE_HASH = '0'.repeat(64);

/** Where rendering can resume: a byte offset, the slot of the next entry and how many entries came before. */
interface Checkpoint {
  offset: number;
  slot: number;
  entries: number;
}

const START: Checkpoint = { offset: 0, slot: 0, entries: 0 };

/** Quotes a CSV field the way Glacier's inventory does: in double quotes, inner quotes backslash-escaped. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value;
}

/**
 * The vault inventory document an inventory-retrieval job produced, byte for byte what JSON.stringify of the
 * whole document (or the CSV lines) would give, but never held whole: it is rendered from the vault snapshot
 * taken at completion, in batches that yield to the event loop, as often as it is read. A first pass (measure)
 * learns its length without hashing and where each batch starts, so a ranged read renders one batch too many
 * at most, not the whole document up to its range.
 */
export class InventoryDocument {
  private readonly checkpoints: Checkpoint[] = [START];
  private length?: number;

  constructor(
    private readonly snapshot: CatalogSnapshot,
    readonly format: InventoryFormat,
    private readonly vaultArn: string,
    private readonly inventoryDate: string,
  ) {}

  /** Length in bytes; known once measure() has resolved. */
  get size(): number {
    if (this.length === undefined) throw new Error('inventory not measured yet');
    return this.length;
  }

  /** Walks the document once, recording its length and batch offsets; stops early when `signal` aborts. */
  async measure(signal: AbortSignal): Promise<void> {
    let end = 0;
    for (const batch of this.batches(START, () => ANY_TREE_HASH)) {
      end = batch.end;
      if (batch.resume) this.checkpoints.push(batch.resume);
      await nextTurn();
      signal.throwIfAborted();
    }
    this.length = end;
  }

  /** Streams bytes [start, endInclusive] of the document. */
  read(start: number, endInclusive: number): Readable {
    const from = this.checkpointBefore(start);
    const batches = this.batches(from, (a) => a.content.treeHash());
    async function* slices(): AsyncGenerator<Buffer> {
      let offset = from.offset;
      for (const { text } of batches) {
        const bytes = Buffer.from(text, 'utf8');
        const first = Math.max(0, start - offset);
        const last = Math.min(bytes.length, endInclusive + 1 - offset);
        if (last > first) yield bytes.subarray(first, last);
        offset += bytes.length;
        if (offset > endInclusive) return;
        await nextTurn();
      }
    }
    return Readable.from(slices(), { objectMode: false });
  }

  /** The whole document at once (small vaults: tests, `--inventory` files). */
  render(): Buffer {
    const texts: string[] = [];
    for (const { text } of this.batches(START, (a) => a.content.treeHash())) texts.push(text);
    return Buffer.from(texts.join(''), 'utf8');
  }

  private checkpointBefore(offset: number): Checkpoint {
    let low = 0;
    let high = this.checkpoints.length - 1;
    while (low < high) {
      const mid = Math.ceil((low + high) / 2);
      if (this.checkpoints[mid]!.offset <= offset) low = mid;
      else high = mid - 1;
    }
    return this.checkpoints[low]!;
  }

  /** The document from `from` on, a batch at a time: its text, the offset after it, and where the next one starts. */
  private *batches(from: Checkpoint, treeHashOf: (a: Archive) => string): Generator<{ text: string; end: number; resume?: Checkpoint }> {
    const entries = this.snapshot.entries(from.slot);
    let { offset, slot, entries: written } = from;
    let parts = offset === 0 ? [this.header()] : [];
    for (;;) {
      let done = false;
      for (let n = 0; n < ENTRIES_PER_BATCH; n++) {
        const next = entries.next();
        if (next.done) {
          done = true;
          break;
        }
        const [entrySlot, archive] = next.value;
        parts.push(this.entry(archive, treeHashOf(archive), written++ === 0));
        slot = entrySlot + 1;
      }
      if (done) parts.push(this.footer());
      const text = parts.join('');
      offset += Buffer.byteLength(text, 'utf8');
      yield { text, end: offset, resume: done ? undefined : { offset, slot, entries: written } };
      if (done) return;
      parts = [];
    }
  }

  private header(): string {
    if (this.format === 'CSV') return 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n';
    return `{"VaultARN":${JSON.stringify(this.vaultArn)},"InventoryDate":${JSON.stringify(this.inventoryDate)},"ArchiveList":[`;
  }

  private entry(a: Archive, treeHash: string, first: boolean): string {
    if (this.format === 'CSV') {
      return `${[a.id, csvField(a.description), a.creationDate, String(a.content.size), treeHash].join(',')}\r\n`;
    }
    const fields = { ArchiveId: a.id, ArchiveDescription: a.description, CreationDate: a.creationDate, Size: a.content.size, SHA256TreeHash: treeHash };
    return (first ? '' : ',') + JSON.stringify(fields);
  }

  private footer(): string {
    return this.format === 'CSV' ? '' : ']}';
  }
}

/** The vault's inventory document as Glacier would render it now, whole. */
export function renderInventory(vault: Vault, format: InventoryFormat, inventoryDate: string): Buffer {
  return new InventoryDocument(vault.archives.snapshot(), format, vault.arn, inventoryDate).render();
}
