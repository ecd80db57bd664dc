import { createHash } from 'node:crypto';

/** S3's limit on a key, in UTF-8 bytes, prefix included. */
export const MAX_KEY_BYTES = 1024;
/** Leaves room below the prefix for a fallback key (folder and a 138-character archive id) and suffixes. */
export const MAX_PREFIX_BYTES = 512;
/** Folder, below the prefix, for archives whose description names no usable path: one key per archive id. */
export const UNNAMED_ARCHIVES_FOLDER = 'glacier-archives-without-name';

/** C0 and C1 controls and DEL break listings and terminals; U+FFFE/U+FFFF cannot appear in S3's XML. */
const UNSAFE_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Anything safePath would change: an unsafe character, a surrogate, or an empty, `.` or `..` segment. */
const NEEDS_CLEANING = /[\u0000-\u001f\u007f-\u009f\ufffe\uffff\ud800-\udfff]|(?:^|\/)\.{0,2}(?:\/|$)/;
/** Short and ASCII, so that a kept extension never crowds out the name */
const EXTENSION = /\.[A-Za-z0-9_-]{1,16}$/;
const TRUNCATION_HASH_HEX_DIGITS = 16;

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * A path as safe key segments: lone surrogates become U+FFFD (so the key is valid UTF-8), control characters
 * are dropped, and so are empty, `.` and `..` segments — dropped, never resolved, so that `../../etc/passwd`
 * stays inside the prefix as `etc/passwd`. Returns '' when nothing usable is left.
 */
export function safePath(path: string): string {
  if (!NEEDS_CLEANING.test(path)) return path;
  return path
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(UNSAFE_CHARACTERS, '')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .join('/');
}

/** The user's prefix as a folder: safe segments and a trailing `/`, or '' for none. */
export function normalizePrefix(prefix: string): string {
  const path = safePath(prefix);
  if (path === '') return '';
  const folder = `${path}/`;
  if (utf8Length(folder) > MAX_PREFIX_BYTES) {
    throw new RangeError(`prefix is ${utf8Length(folder)} bytes; at most ${MAX_PREFIX_BYTES} leave room for names`);
  }
  return folder;
}

/** A key's name and its extension (`.jpg`), if the last segment has a short one; dot-files have none. */
function splitExtension(key: string): { stem: string; extension: string } {
  const lastSegment = key.slice(key.lastIndexOf('/') + 1);
  const match = EXTENSION.exec(lastSegment);
  if (!match || match.index === 0) return { stem: key, extension: '' };
  return { stem: key.slice(0, key.length - match[0].length), extension: match[0] };
}

/** The longest start of `text` that is at most `maxBytes` in UTF-8, never cutting a character. */
function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    // UTF-8 length from the code point, without a call into Buffer per character (keys are up to 1 KiB).
    const codePoint = text.codePointAt(end)!;
    const size = codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += codePoint >= 0x10000 ? 2 : 1;
  }
  return text.slice(0, end);
}

/**
 * A safe key with `suffix` inserted before its extension, within MAX_KEY_BYTES. A key that would be longer has
 * its name cut short (on a character boundary, prefix and extension kept) and marked with `~` and a hash of the
 * whole key it stands for, so that two long keys that share their first kilobyte still get different keys.
 */
export function fitKey(key: string, suffix = ''): { key: string; truncated: boolean } {
  const { stem, extension } = splitExtension(key);
  const whole = stem + suffix + extension;
  if (utf8Length(whole) <= MAX_KEY_BYTES) return { key: whole, truncated: false };
  const hash = createHash('sha256').update(whole).digest('hex').slice(0, TRUNCATION_HASH_HEX_DIGITS);
  const tail = `~${hash}${suffix}${extension}`;
  return { key: truncateUtf8(stem, MAX_KEY_BYTES - utf8Length(tail)) + tail, truncated: true };
}
