/**
 * Streaming readers for Glacier vault inventories (the output of an inventory-retrieval job, or a file the user
 * already has), JSON or CSV, with memory independent of the number of archives.
 */
import { byteChunks, readChunks, type ChunkReader } from './chunks.js';
import { CsvInventoryReader } from './csv.js';
import { JsonInventoryReader } from './json.js';
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
 * Tells JSON from CSV by the first byte that is not whitespace, and hands the document, past an optional byte
 * order mark, to that format's reader.
 */
class InventoryReader implements ChunkReader<InventoryEvent> {
  private head = Buffer.alloc(0);
  private format: ChunkReader<InventoryEvent> | undefined;

  write(chunk: Buffer): void {
    if (this.format) return this.format.write(chunk);
    this.head = Buffer.concat([this.head, chunk]);
    const start = documentStart(this.head);
    if (start === 'more') {
      if (this.head.length > MAX_LEADING_BYTES) {
        throw new InventoryFormatError(`not a Glacier vault inventory: its first ${this.head.length} bytes are blank`);
      }
      return;
    }
    this.format = start.first === 0x7b /* { */ ? new JsonInventoryReader() : new CsvInventoryReader();
    this.format.write(this.head.subarray(start.bomLength));
  }

  end(): void {
    if (!this.format) throw new InventoryFormatError('inventory is empty');
    this.format.end();
  }

  next(): InventoryEvent | undefined {
    return this.format?.next();
  }
}

/**
 * Streams a Glacier vault inventory, JSON or CSV (told apart by the first byte that is not whitespace), as
 * events: one `header`, an `archive` per valid record and a `bad-row` per record that is not one, in document
 * order. Memory is bounded by one record, whatever the number of entries. Throws InventoryFormatError when the
 * document is empty, truncated, or not an inventory; events already yielded stay valid.
 */
export function readInventory(source: ByteSource): AsyncGenerator<InventoryEvent> {
  return readChunks(byteChunks(source), new InventoryReader());
}
