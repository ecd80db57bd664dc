import type { ArchiveRow, TransferState } from '../state/db.js';

/** The audit trail of a transfer: one row per archive of its inventory, what it was and where it went. */
export const REPORT_COLUMNS = [
  'archive_id',
  'description',
  'creation_date',
  'size',
  'tree_hash',
  's3_key',
  'version_id',
  's3_checksum',
  'status',
  'reason',
] as const;

export type ReportFormat = 'csv' | 'json';
export type ReportRow = Record<(typeof REPORT_COLUMNS)[number], string | number | null>;

export function reportRow(a: ArchiveRow): ReportRow {
  return {
    archive_id: a.archive_id,
    description: a.description,
    creation_date: a.creation_date,
    size: a.size,
    tree_hash: a.tree_hash,
    s3_key: a.key,
    version_id: a.version_id,
    s3_checksum: a.object_checksum,
    status: a.status,
    reason: a.error,
  };
}

/** RFC 4180: a field holding a comma, a quote or a line break is quoted, its quotes doubled. */
function csvField(value: string | number | null): string {
  const text = value === null ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * The report's lines: CSV with a header row, or JSON Lines (one object per archive). Read from the state in
 * pages, so a vault of millions is reported in constant memory.
 */
export function* reportLines(state: TransferState, format: ReportFormat): Generator<string> {
  if (format === 'csv') yield REPORT_COLUMNS.join(',');
  for (const archive of state.iterateArchivesSnapshot()) {
    const row = reportRow(archive);
    yield format === 'csv' ? REPORT_COLUMNS.map((c) => csvField(row[c])).join(',') : JSON.stringify(row);
  }
}
