import type { ChunkReader } from './chunks.js';
import { JsonInventoryScanner } from './json-scan.js';
import { checkArchive } from './validate.js';
import { InventoryFormatError, type InventoryEvent, type InventoryHeader } from './types.js';

/** The top-level members an inventory names once; JSON would let a later one win, after events told the first. */
const SINGLE_MEMBERS = new Set(['VaultARN', 'InventoryDate', 'ArchiveList']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entryEvent(entry: number, value: unknown): InventoryEvent {
  if (!isRecord(value)) return { kind: 'bad-row', entry, reason: 'entry is not an object' };
  const check = checkArchive(value);
  return 'archive' in check
    ? { kind: 'archive', entry, archive: check.archive }
    : { kind: 'bad-row', entry, reason: check.reason, archiveId: check.archiveId };
}

/**
 * Reads a JSON inventory `{"VaultARN","InventoryDate","ArchiveList":[…]}` with memory bounded by one entry.
 * The header event comes once: before the first archive when the document names VaultARN and InventoryDate
 * before ArchiveList (as Glacier writes it), otherwise after the last archive. Other top-level members are
 * read (they must be JSON) and ignored; VaultARN or InventoryDate that is not a string is left out of the header.
 */
export class JsonInventoryReader implements ChunkReader<InventoryEvent> {
  private readonly scanner = new JsonInventoryScanner();
  private readonly header: InventoryHeader = { format: 'json' };
  private readonly named = new Set<string>();
  private headerDue = false;
  private headerSent = false;

  write(chunk: Buffer): void {
    this.scanner.write(chunk);
  }

  end(): void {
    this.scanner.end();
    if (!this.named.has('ArchiveList')) {
      throw new InventoryFormatError('not a Glacier vault inventory: the JSON document has no ArchiveList');
    }
    this.headerDue = !this.headerSent;
  }

  next(): InventoryEvent | undefined {
    for (let item = this.scanner.next(); item !== undefined; item = this.scanner.next()) {
      if (item.kind === 'entry') return entryEvent(item.entry, item.value);
      this.name(item.kind === 'list' ? 'ArchiveList' : item.key);
      if (item.kind === 'list') {
        if (this.header.vaultArn !== undefined && this.header.inventoryDate !== undefined) return this.sendHeader();
      } else if (typeof item.value === 'string') {
        if (item.key === 'VaultARN') this.header.vaultArn = item.value;
        else if (item.key === 'InventoryDate') this.header.inventoryDate = item.value;
      }
    }
    return this.headerDue ? this.sendHeader() : undefined;
  }

  private sendHeader(): InventoryEvent {
    this.headerSent = true;
    this.headerDue = false;
    return { kind: 'header', header: this.header };
  }

  private name(key: string): void {
    if (!SINGLE_MEMBERS.has(key)) return;
    if (this.named.has(key)) {
      throw new InventoryFormatError(`not a Glacier vault inventory: the JSON document names ${key} twice`);
    }
    this.named.add(key);
  }
}
