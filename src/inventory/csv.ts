import type { ChunkReader } from './chunks.js';
import { LineReader, type TextLine } from './lines.js';
import {
  INVENTORY_FIELDS,
  checkArchive,
  excerpt,
  type ArchiveCheck,
  type InventoryField,
  type RecordProblem,
} from './validate.js';
import { InventoryFormatError, type InventoryEvent } from './types.js';

/**
 * Glacier's CSV inventory, as it really is: one record per line (descriptions are printable ASCII, so never hold
 * a line break), a field in double quotes when it needs them, and a `"` inside a quoted field written as `\"` —
 * but a backslash itself is not escaped. So `"C:\dir\"` is the description `C:\dir\`, and a field cannot be
 * found by scanning for its closing quote. Only the description is free text: every other column is an id, a
 * date, a number or a hash without commas. A record is therefore split by taking the columns before the
 * description from the left and those after it from the right; what is left in the middle is the description.
 * (mt-aws-glacier reads these files the same way, with a backtracking regular expression.)
 */

/** Far longer than any record (a 1,024-character description quoted at worst doubles), short enough to bound memory */
const MAX_LINE_BYTES = 64 * 1024;

export const CSV_HEADER = INVENTORY_FIELDS.join(',');

export interface CsvLayout {
  columnCount: number;
  descriptionColumn: number;
  columnOf: Record<InventoryField, number>;
}

function unquote(field: string): string {
  const trimmed = field.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

function unquoteDescription(field: string): string {
  const trimmed = field.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/\\"/g, '"');
  }
  return field;
}

/** The column layout a header line names, in any order; other columns are allowed and ignored. */
export function parseCsvHeader({ text, terminated, offset }: TextLine): CsvLayout {
  const columns = text.split(',').map(unquote);
  const missing = INVENTORY_FIELDS.filter((field) => !columns.includes(field));
  if (missing.length > 0) {
    if (!terminated && CSV_HEADER.startsWith(text)) {
      throw new InventoryFormatError('CSV inventory ends inside its header line (truncated download?)', offset);
    }
    throw new InventoryFormatError(
      `not a Glacier vault inventory: expected JSON or the CSV header ${CSV_HEADER}, found ${excerpt(text)}`,
      offset,
    );
  }
  const duplicated = INVENTORY_FIELDS.find((field) => columns.indexOf(field) !== columns.lastIndexOf(field));
  if (duplicated) throw new InventoryFormatError(`CSV inventory header names column ${duplicated} twice`, offset);
  const columnOf = Object.fromEntries(INVENTORY_FIELDS.map((field) => [field, columns.indexOf(field)]));
  return {
    columnCount: columns.length,
    descriptionColumn: columnOf.ArchiveDescription,
    columnOf: columnOf as Record<InventoryField, number>,
  };
}

function wrongFieldCount(text: string, columnCount: number): RecordProblem {
  return { reason: `expected ${columnCount} comma-separated fields, found ${text.split(',').length}` };
}

/** The fields of one record by column, or why the line cannot be one. */
export function splitCsvRecord(text: string, layout: CsvLayout): string[] | RecordProblem {
  const { columnCount, descriptionColumn } = layout;
  const fields = new Array<string>(columnCount);
  let start = 0;
  for (let column = 0; column < descriptionColumn; column++) {
    const comma = text.indexOf(',', start);
    if (comma === -1) return wrongFieldCount(text, columnCount);
    fields[column] = unquote(text.slice(start, comma));
    start = comma + 1;
  }
  let end = text.length;
  for (let column = columnCount - 1; column > descriptionColumn; column--) {
    const comma = text.lastIndexOf(',', end - 1);
    if (comma < start) return wrongFieldCount(text, columnCount);
    fields[column] = unquote(text.slice(comma + 1, end));
    end = comma;
  }
  fields[descriptionColumn] = unquoteDescription(text.slice(start, end));
  return fields;
}

function checkRecord(text: string, layout: CsvLayout): ArchiveCheck {
  const fields = splitCsvRecord(text, layout);
  if (!Array.isArray(fields)) return fields;
  const { columnOf } = layout;
  return checkArchive({
    ArchiveId: fields[columnOf.ArchiveId],
    ArchiveDescription: fields[columnOf.ArchiveDescription],
    CreationDate: fields[columnOf.CreationDate],
    Size: fields[columnOf.Size],
    SHA256TreeHash: fields[columnOf.SHA256TreeHash],
  });
}

/**
 * Reads a CSV inventory: a header event, then one archive or bad-row event per record. A CSV inventory has no
 * end marker, so a download cut exactly at a line break cannot be told from a whole one here; a cut inside a
 * record (the last line unterminated and not a valid record) is an InventoryFormatError.
 */
export class CsvInventoryReader implements ChunkReader<InventoryEvent> {
  private readonly lines = new LineReader(
    MAX_LINE_BYTES,
    (line, offset) =>
      new InventoryFormatError(
        `CSV inventory line ${line} is longer than ${MAX_LINE_BYTES} bytes: not a Glacier vault inventory`,
        offset,
      ),
  );
  private layout: CsvLayout | undefined;
  private entry = 0;
  private ended = false;

  write(chunk: Buffer): void {
    this.lines.write(chunk);
  }

  end(): void {
    this.lines.end();
    this.ended = true;
  }

  next(): InventoryEvent | undefined {
    for (let line = this.lines.next(); line !== undefined; line = this.lines.next()) {
      if (line.text.trim() === '') continue;
      if (!this.layout) {
        this.layout = parseCsvHeader(line);
        return { kind: 'header', header: { format: 'csv' } };
      }
      return this.recordEvent(line, this.layout);
    }
    if (this.ended && !this.layout) throw new InventoryFormatError('inventory is empty');
    return undefined;
  }

  private recordEvent(line: TextLine, layout: CsvLayout): InventoryEvent {
    const entry = ++this.entry;
    const check = checkRecord(line.text, layout);
    if ('archive' in check) return { kind: 'archive', entry, archive: check.archive };
    if (!line.terminated) {
      throw new InventoryFormatError(
        `CSV inventory ends in the middle of line ${line.number} (truncated download?)`,
        line.offset,
      );
    }
    return { kind: 'bad-row', entry, line: line.number, reason: check.reason, archiveId: check.archiveId };
  }
}
