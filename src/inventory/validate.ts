import type { InventoryArchive } from './types.js';

/** The inventory's field names, as Glacier spells them in both JSON and CSV. */
export const INVENTORY_FIELDS = [
  'ArchiveId',
  'ArchiveDescription',
  'CreationDate',
  'Size',
  'SHA256TreeHash',
] as const;

export type InventoryField = (typeof INVENTORY_FIELDS)[number];

/** Why a record is not an archive, with its archive id when it had a usable one. */
export interface RecordProblem {
  reason: string;
  archiveId?: string;
}

export type ArchiveCheck = { archive: InventoryArchive } | RecordProblem;

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
/** Finds a character that is not a hex digit: about twice as fast per archive as matching `^[0-9a-fA-F]{64}$`. */
const NOT_HEX = /[^0-9a-fA-F]/;
const INTEGER = /^-?\d+$/;

/** A value quoted for a one-line message, cut short so that a hostile value cannot flood a report. */
export function excerpt(value: unknown, maxChars = 80): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > maxChars ? `${text.slice(0, maxChars)}…` : text;
}

/** Why one field is unusable. */
class FieldProblem {
  constructor(readonly reason: string) {}
}

function checkText(value: unknown, field: InventoryField, mayBeEmpty: boolean): string | FieldProblem {
  if (value === undefined) return new FieldProblem(`${field} is missing`);
  if (typeof value !== 'string') return new FieldProblem(`${field} ${excerpt(value)} is not a string`);
  if (value === '' && !mayBeEmpty) return new FieldProblem(`${field} is empty`);
  return value;
}

function checkCreationDate(value: unknown): string | FieldProblem {
  const text = checkText(value, 'CreationDate', false);
  if (typeof text === 'string' && (!ISO_DATE_TIME.test(text) || Number.isNaN(Date.parse(text)))) {
    return new FieldProblem(`CreationDate ${excerpt(text)} is not an ISO 8601 date and time`);
  }
  return text;
}

function checkSize(value: unknown): number | FieldProblem {
  let size: number;
  if (typeof value === 'number') size = value;
  else if (typeof value === 'string' && INTEGER.test(value)) size = Number(value);
  else if (value === undefined) return new FieldProblem('Size is missing');
  else return new FieldProblem(`Size ${excerpt(value)} is not a whole number of bytes`);
  if (!Number.isInteger(size)) return new FieldProblem(`Size ${excerpt(value)} is not a whole number of bytes`);
  if (size < 0) return new FieldProblem(`Size ${excerpt(value)} is negative`);
  if (!Number.isSafeInteger(size)) return new FieldProblem(`Size ${excerpt(value)} is too large to hold exactly`);
  return size;
}

function checkTreeHash(value: unknown): string | FieldProblem {
  const text = checkText(value, 'SHA256TreeHash', false);
  if (typeof text === 'string' && (text.length !== 64 || NOT_HEX.test(text))) {
    return new FieldProblem(`SHA256TreeHash ${excerpt(text)} is not 64 hex digits`);
  }
  return typeof text === 'string' ? text.toLowerCase() : text;
}

/**
 * Checks one inventory record (a JSON object, or CSV fields by column name) and returns the archive, or every
 * reason it is not one. Sizes are accepted as JSON numbers or digit strings and must be exact.
 */
export function checkArchive(record: Partial<Record<InventoryField, unknown>>): ArchiveCheck {
  const archiveId = checkText(record.ArchiveId, 'ArchiveId', false);
  const description = checkText(record.ArchiveDescription, 'ArchiveDescription', true);
  const creationDate = checkCreationDate(record.CreationDate);
  const size = checkSize(record.Size);
  const treeHash = checkTreeHash(record.SHA256TreeHash);
  if (
    archiveId instanceof FieldProblem ||
    description instanceof FieldProblem ||
    creationDate instanceof FieldProblem ||
    size instanceof FieldProblem ||
    treeHash instanceof FieldProblem
  ) {
    const reason = [archiveId, description, creationDate, size, treeHash]
      .filter((checked) => checked instanceof FieldProblem)
      .map((problem) => problem.reason)
      .join('; ');
    return { reason, archiveId: typeof archiveId === 'string' ? archiveId : undefined };
  }
  return { archive: { archiveId, description, creationDate, size, treeHash } };
}
