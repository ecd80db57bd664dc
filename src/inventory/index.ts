/**
 * Streaming readers for Glacier vault inventories (the output of an inventory-retrieval job, or a file the user
 * already has), JSON or CSV, with memory independent of the number of archives.
 */
import { readCsvInventory } from './csv.js';
import { readJsonInventory } from './json.js';
import { byteChunks } from './lines.js';
import { InventoryFormatError, type ByteSource, type InventoryEvent } from './types.js';

export { CSV_HEADER } from './csv.js';
export { INVENTORY_FIELDS } from './validate.js';
export * from './types.js';

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Whitespace allowed before the document starts; more than this is not an inventory. */
const MAX_LEADING_BYTES = 64 * 1024;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** Where the document starts after an optional BOM and whitespace: 'more' until that can be told. */
function documentStart(head: Buffer): { bomLength: number; first: number } | 'more' {
  if (head.length < UTF8_BOM.length && UTF8_BOM.subarray(0, head.length).equals(head)) return 'more';
  const bomLength = head.subarray(0, UTF8_BOM.length).equals(UTF8_BOM) ? UTF8_BOM.length : 0;
  for (let i = bomLength; i < head.length; i++) {
    if (!isWhitespace(head[i])) return { bomLength, first: head[i] };
  }
  return 'more';
}

/**
 * Streams a Glacier vault inventory, JSON or CSV (told apart by the first byte that is not whitespace), as
 * events: one `header`, an `archive` per valid record and a `bad-row` per record that is not one, in document
 * order. Memory is bounded by one record, whatever the number of entries. Throws InventoryFormatError when the
 * document is empty, truncated, or not an inventory; events already yielded stay valid.
 */
export async function* readInventory(source: ByteSource): AsyncGenerator<InventoryEvent> {
  const chunks = byteChunks(source);
  let head = Buffer.alloc(0);
  let start: ReturnType<typeof documentStart> = 'more';
  while (start === 'more') {
    const next = await chunks.next();
    if (next.done) throw new InventoryFormatError('inventory is empty');
    head = Buffer.concat([head, next.value]);
    start = documentStart(head);
    if (start === 'more' && head.length > MAX_LEADING_BYTES) {
      throw new InventoryFormatError(`not a Glacier vault inventory: its first ${head.length} bytes are blank`);
    }
  }
  const { bomLength, first } = start;
  const body = (async function* () {
    yield head.subarray(bomLength);
    yield* chunks;
  })();
  yield* first === 0x7b /* { */ ? readJsonInventory(body) : readCsvInventory(body);
}
