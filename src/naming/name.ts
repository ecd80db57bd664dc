import { decodeDescription, type DescriptionFormat } from './decode.js';
import { UNNAMED_ARCHIVES_FOLDER, fitKey, normalizePrefix, safePath } from './key.js';

export interface ArchiveToName {
  archiveId: string;
  description: string;
}

export interface NamingOptions {
  /** Folder for every key; made safe and given a trailing `/` (see normalizePrefix) */
  prefix?: string;
  /** The user's key for this archive, below the prefix; wins over the description */
  overrideKey?: string;
}

export interface ArchiveName {
  /** Safe S3 key, prefix included, at most MAX_KEY_BYTES; before collisions are resolved */
  key: string;
  /** What the key was made from */
  source: 'override' | 'description' | 'fallback';
  /** The format the description was recognised as (even when an override named the archive) */
  format: DescriptionFormat;
  /** The file's modification time, when the description recorded one */
  mtime?: string;
  /** The key was cut to fit MAX_KEY_BYTES */
  truncated: boolean;
  /** Something the user may want to know about how this name came about, one line */
  problem?: string;
}

/** The path of an archive whose description names nothing usable: stable, and unique per archive id. */
function unnamedArchivePath(archiveId: string): string {
  // Glacier archive ids are base64url; anything else is replaced so that an id can never add a segment.
  return `${UNNAMED_ARCHIVES_FOLDER}/${archiveId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

/**
 * The candidate S3 key of one archive: the override if the user gave a usable one, else the path its
 * description names, else the fallback key. Pure: the same archive and options always give the same name.
 * Several archives may get the same candidate; resolveKeyCollisions makes final keys unique.
 */
export function nameArchive(archive: ArchiveToName, options: NamingOptions = {}): ArchiveName {
  if (archive.archiveId === '') throw new TypeError('cannot name an archive without an archive id');
  const prefix = normalizePrefix(options.prefix ?? '');
  const decoded = decodeDescription(archive.description);
  const described = safePath(decoded.path);
  const overridden = options.overrideKey === undefined ? undefined : safePath(options.overrideKey);

  let source: ArchiveName['source'];
  let problem = decoded.problem;
  let path: string;
  if (overridden) {
    source = 'override';
    path = prefix + overridden;
  } else {
    if (overridden === '') problem = `override key ${JSON.stringify(options.overrideKey)} names no usable path`;
    if (described) {
      source = 'description';
      path = prefix + described;
    } else {
      source = 'fallback';
      path = prefix + unnamedArchivePath(archive.archiveId);
      if (decoded.format !== 'empty') problem ??= 'the description names no usable path';
    }
  }
  const { key, truncated } = fitKey(path);
  return { key, source, format: decoded.format, mtime: decoded.mtime, truncated, problem };
}
