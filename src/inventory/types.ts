/** Bytes of a document as they arrive: a Node Readable, a file stream, an array of Buffers in tests. */
export type ByteSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** One archive of a Glacier vault inventory, validated. */
export interface InventoryArchive {
  archiveId: string;
  /** As Glacier stores it; may be empty */
  description: string;
  /** ISO 8601, as Glacier wrote it */
  creationDate: string;
  /** Bytes; exact (a safe integer) */
  size: number;
  /** SHA-256 tree hash of the whole archive, 64 lowercase hex digits */
  treeHash: string;
}

export type InventoryFormat = 'json' | 'csv';

/** What the inventory says about itself. Glacier's CSV output carries neither field. */
export interface InventoryHeader {
  format: InventoryFormat;
  vaultArn?: string;
  inventoryDate?: string;
}

/**
 * A record that could not be taken as an archive. It is reported and the stream goes on, so one odd entry never
 * hides the rest of the vault; the caller decides whether it is fatal.
 */
export interface InventoryBadRow {
  kind: 'bad-row';
  /** 1-based position of the record among the inventory's archive records */
  entry: number;
  /** 1-based line of the document (CSV only: Glacier's JSON is a single line) */
  line?: number;
  /** The archive id when the record had a usable one */
  archiveId?: string;
  /** One line, for people */
  reason: string;
}

export type InventoryEvent =
  | { kind: 'header'; header: InventoryHeader }
  | { kind: 'archive'; entry: number; archive: InventoryArchive }
  | InventoryBadRow;

/** The document as a whole is not a readable inventory: truncated, not JSON/CSV, or not an inventory at all. */
export class InventoryFormatError extends Error {
  override name = 'InventoryFormatError';
  constructor(
    message: string,
    /** Byte offset in the document where the problem was found, when known */
    readonly offset?: number,
  ) {
    super(message);
  }
}
