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
 * Streams a JSON inventory `{"VaultARN","InventoryDate","ArchiveList":[…]}` with memory bounded by one entry.
 * The header event comes once: before the first archive when the document names VaultARN and InventoryDate
 * before ArchiveList (as Glacier writes it), otherwise after the last archive. Other top-level members are
 * read (they must be JSON) and ignored; VaultARN or InventoryDate that is not a string is left out of the header.
 */
export async function* readJsonInventory(chunks: AsyncIterable<Buffer>): AsyncGenerator<InventoryEvent> {
  const scanner = new JsonInventoryScanner();
  const header: InventoryHeader = { format: 'json' };
  const named = new Set<string>();
  let headerSent = false;

  const name = (key: string) => {
    if (!SINGLE_MEMBERS.has(key)) return;
    if (named.has(key)) throw new InventoryFormatError(`not a Glacier vault inventory: the JSON document names ${key} twice`);
    named.add(key);
  };

  for await (const chunk of chunks) {
    scanner.write(chunk);
    for (let item = scanner.next(); item !== undefined; item = scanner.next()) {
      if (item.kind === 'entry') {
        yield entryEvent(item.entry, item.value);
        continue;
      }
      name(item.kind === 'list' ? 'ArchiveList' : item.key);
      if (item.kind === 'list') {
        if (header.vaultArn !== undefined && header.inventoryDate !== undefined) {
          headerSent = true;
          yield { kind: 'header', header };
        }
      } else if (typeof item.value === 'string') {
        if (item.key === 'VaultARN') header.vaultArn = item.value;
        else if (item.key === 'InventoryDate') header.inventoryDate = item.value;
      }
    }
  }
  scanner.end();
  if (!named.has('ArchiveList')) {
    throw new InventoryFormatError('not a Glacier vault inventory: the JSON document has no ArchiveList');
  }
  if (!headerSent) yield { kind: 'header', header };
}
