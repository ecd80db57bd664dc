/**
 * Archive descriptions as the tools that uploaded to Glacier wrote them (design §2). Each decoder answers
 * `undefined` when the description is not in its format, or a problem when it is but cannot be decoded; the
 * description is then taken as plain text, so no archive is ever left without a name.
 */

export type DescriptionFormat =
  /** mt-aws-glacier: `mt2 ` + base64url of UTF-8 JSON {"filename","mtime"} */
  | 'mt2'
  /** mt-aws-glacier 0.80–0.84 (2012-12 to 2013-01): as mt2, but the JSON's UTF-8 was encoded to UTF-8 again */
  | 'mt1'
  /** FastGlacier v2–4 and CrushFTP: `<m><v>4</v><p>BASE64(UTF-8 path)</p><lm>yyyyMMddTHHmmssZ</lm>…</m>` */
  | 'fastglacier'
  /** FastGlacier v1: `<ArchiveMetadata><Path>BASE64</Path>…</ArchiveMetadata>` */
  | 'fastglacier-v1'
  /** CloudBerry: JSON {"Path": UTF-7 path, "UTCDateModified": "yyyyMMddTHHmmssZ", …} */
  | 'cloudberry'
  /** Any other JSON object with a string `Path` or `path` */
  | 'json'
  /** Nothing recognised: the description itself is the path */
  | 'plain'
  /** Empty or blank */
  | 'empty';

export interface DecodedDescription {
  format: DescriptionFormat;
  /** The path the description names, with `\` turned into `/`; not yet safe as an S3 key */
  path: string;
  /** File modification time the uploading tool recorded, `YYYY-MM-DDTHH:MM:SSZ` */
  mtime?: string;
  /** Why a description that looked like a known format was taken as plain text */
  problem?: string;
}

type Decoded = Omit<DecodedDescription, 'problem'>;
type DecoderResult = Decoded | { problem: string } | undefined;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 (either alphabet): Node's own decoder silently skips what it does not understand. */
function base64Bytes(text: string, alphabet: RegExp, encoding: 'base64' | 'base64url'): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!alphabet.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) return undefined;
  return Buffer.from(compact, encoding);
}

const COMPACT_TIME = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(?:[.,]\d+)?Z$/i;

/** `20130101T000000Z` (also with separators) as `2013-01-01T00:00:00Z`; undefined when it is no real time. */
export function parseCompactTime(value: unknown): string | undefined {
  const match = typeof value === 'string' ? COMPACT_TIME.exec(value.trim()) : null;
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const time = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999
  time.setUTCFullYear(year, month - 1, day);
  time.setUTCHours(hour, minute, Math.min(second, 59)); // a leap second is dropped, as mt-aws-glacier does
  const roundTrips =
    time.getUTCFullYear() === year &&
    time.getUTCMonth() === month - 1 &&
    time.getUTCDate() === day &&
    time.getUTCHours() === hour &&
    time.getUTCMinutes() === minute &&
    second <= 60;
  return roundTrips ? time.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** mt-aws-glacier's MetaData.pm: the marker and the payload are the first two whitespace-separated words. */
function decodeMtAwsGlacier(text: string): DecoderResult {
  const [marker, payload] = text.split(/\s+/);
  if (marker !== 'mt1' && marker !== 'mt2') return undefined;
  if (payload === undefined) return { problem: `${marker} description has no payload` };
  if (payload.length > 1024) return { problem: `${marker} payload is longer than 1024 characters` };
  const bytes = base64Bytes(payload, BASE64URL, 'base64url');
  if (!bytes) return { problem: `${marker} payload is not base64url` };
  let json = utf8(bytes);
  if (json !== undefined && marker === 'mt1') {
    // mt1 encoded the UTF-8 bytes of the JSON to UTF-8 once more, as if they were Latin-1 characters: undo that
    // layer, whose characters must therefore all be below U+0100.
    json = /^[\u0000-\u00ff]*$/.test(json) ? utf8(Buffer.from(json, 'latin1')) : undefined;
  }
  if (json === undefined) return { problem: `${marker} payload is not UTF-8` };
  let metadata: unknown;
  try {
    metadata = JSON.parse(json);
  } catch {
    return { problem: `${marker} payload is not JSON` };
  }
  if (!isRecord(metadata) || typeof metadata.filename !== 'string') {
    return { problem: `${marker} payload has no filename` };
  }
  return { format: marker, path: metadata.filename, mtime: parseCompactTime(metadata.mtime) };
}

function xmlElement(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

function decodeBase64Path(encoded: string | undefined, what: string): string | { problem: string } {
  if (encoded === undefined) return { problem: `${what} is missing` };
  const bytes = base64Bytes(encoded, BASE64, 'base64');
  const path = bytes && utf8(bytes);
  return path ?? { problem: `${what} is not base64 of UTF-8 text` };
}

function decodeFastGlacier(text: string): DecoderResult {
  if (/^<m>[\s\S]*<\/m>$/.test(text)) {
    const path = decodeBase64Path(xmlElement(text, 'p'), 'FastGlacier <p> path');
    if (typeof path !== 'string') return path;
    return { format: 'fastglacier', path, mtime: parseCompactTime(xmlElement(text, 'lm')) };
  }
  if (/^<ArchiveMetadata>[\s\S]*<\/ArchiveMetadata>$/.test(text)) {
    const path = decodeBase64Path(xmlElement(text, 'Path'), 'FastGlacier <Path>');
    if (typeof path !== 'string') return path;
    return { format: 'fastglacier-v1', path };
  }
  return undefined;
}

const UTF7_BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * UTF-7 (RFC 2152), as CloudBerry writes paths to keep descriptions ASCII: `+` opens a run of modified base64
 * holding UTF-16 code units, ended by `-` (consumed) or any other character; `+-` is a plain `+`.
 */
export function decodeUtf7(text: string): string | undefined {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '+') {
      out += text[i++];
      continue;
    }
    let end = i + 1;
    while (end < text.length && UTF7_BASE64.includes(text[end])) end++;
    if (end === i + 1) {
      if (text[end] !== '-') return undefined;
      out += '+';
      i = end + 1;
      continue;
    }
    let bits = 0;
    let value = 0;
    for (let j = i + 1; j < end; j++) {
      value = (value << 6) | UTF7_BASE64.indexOf(text[j]);
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        out += String.fromCharCode(value >>> bits);
        value &= (1 << bits) - 1;
      }
    }
    if (bits >= 6 || value !== 0) return undefined; // a run ends with at most 5 zero padding bits
    i = text[end] === '-' ? end + 1 : end;
  }
  return out;
}

function decodeJson(text: string): DecoderResult {
  if (!/^"?\{/.test(text)) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(text);
    // Some tools stored the JSON as a JSON string
    if (typeof document === 'string') document = JSON.parse(document);
  } catch {
    return undefined;
  }
  if (!isRecord(document)) return undefined;
  const path = typeof document.Path === 'string' ? document.Path : document.path;
  if (typeof path !== 'string') return { problem: 'JSON description has no Path' };
  if (document.UTCDateModified === undefined) return { format: 'json', path };
  const decoded = decodeUtf7(path);
  if (decoded === undefined) return { problem: 'CloudBerry Path is not valid UTF-7' };
  return { format: 'cloudberry', path: decoded, mtime: parseCompactTime(document.UTCDateModified) };
}

const DECODERS = [decodeMtAwsGlacier, decodeFastGlacier, decodeJson];

/** The path (and modification time) an archive description names, in whichever known format it is in. */
export function decodeDescription(description: string): DecodedDescription {
  const text = description.trim();
  if (text === '') return { format: 'empty', path: '' };
  for (const decode of DECODERS) {
    const result = decode(text);
    if (result === undefined) continue;
    if ('problem' in result) return { format: 'plain', path: windowsSeparators(text), problem: result.problem };
    return { ...result, path: windowsSeparators(result.path) };
  }
  return { format: 'plain', path: windowsSeparators(text) };
}

function windowsSeparators(path: string): string {
  return path.replace(/\\/g, '/');
}
