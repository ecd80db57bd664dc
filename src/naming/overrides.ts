import { byteChunks, readLines } from '../inventory/lines.js';
import type { ByteSource } from '../inventory/types.js';
import { safePath } from './key.js';

/** A line of the override file that was not taken, one line for people. */
export interface OverrideProblem {
  line: number;
  archiveId?: string;
  reason: string;
}

export interface NamingOverride {
  /** The user's key, below the prefix; nameArchive makes it safe */
  key: string;
  /** Where it came from, for reports */
  line: number;
}

export interface NamingOverrides {
  byArchiveId: Map<string, NamingOverride>;
  problems: OverrideProblem[];
}

/** The override file cannot be read as one. */
export class NamingOverridesError extends Error {
  override name = 'NamingOverridesError';
}

const MAX_LINE_BYTES = 64 * 1024;
/** First column names that mark a header line: ours, and the AWS Guidance's `GlacierArchiveID,FileName` */
const HEADER_ID_COLUMNS = new Set(['archive_id', 'archiveid', 'glacierarchiveid']);

/** A CSV field as spreadsheets write it: optionally in double quotes, `""` standing for `"` inside them. */
function csvField(raw: string): string {
  const trimmed = raw.trim();
  if (trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')) {
    return trimmed.slice(1, -1).replace(/""/g, '"');
  }
  return trimmed;
}

/**
 * Reads a naming override file: CSV lines `archive_id,key`, an optional header line, fields optionally quoted.
 * Archive ids never hold a comma, so everything after the first comma is the key, quoted or not. Lines that
 * cannot be used are reported in `problems` and skipped; a repeated archive id keeps its first key.
 */
export async function readNamingOverrides(source: ByteSource): Promise<NamingOverrides> {
  const overrides: NamingOverrides = { byArchiveId: new Map(), problems: [] };
  let sawContent = false;
  const lines = readLines(
    byteChunks(source),
    MAX_LINE_BYTES,
    (line) => new NamingOverridesError(`naming override line ${line} is longer than ${MAX_LINE_BYTES} bytes`),
  );
  for await (const { text, number: line } of lines) {
    if (text.trim() === '') continue;
    const comma = text.indexOf(',');
    const archiveId = csvField(comma === -1 ? text : text.slice(0, comma));
    const isFirst = !sawContent;
    sawContent = true;
    if (isFirst && HEADER_ID_COLUMNS.has(archiveId.toLowerCase())) continue;
    if (comma === -1) {
      overrides.problems.push({ line, reason: 'expected archive_id,key' });
      continue;
    }
    const key = csvField(text.slice(comma + 1));
    if (archiveId === '') {
      overrides.problems.push({ line, reason: 'archive id is empty' });
    } else if (safePath(key) === '') {
      overrides.problems.push({ line, archiveId, reason: `key ${JSON.stringify(key)} names no usable path` });
    } else {
      const earlier = overrides.byArchiveId.get(archiveId);
      if (earlier) overrides.problems.push({ line, archiveId, reason: `archive id already has a key on line ${earlier.line}` });
      else overrides.byArchiveId.set(archiveId, { key, line });
    }
  }
  return overrides;
}

/** Overrides that name no archive of the inventory: likely a typo or the wrong vault, worth telling the user. */
export function unknownOverrides(overrides: NamingOverrides, isKnownArchive: (archiveId: string) => boolean): OverrideProblem[] {
  const unknown: OverrideProblem[] = [];
  for (const [archiveId, { line }] of overrides.byArchiveId) {
    if (!isKnownArchive(archiveId)) unknown.push({ line, archiveId, reason: 'no archive with this id in the inventory' });
  }
  return unknown;
}
