import { createHash } from 'node:crypto';
import { seededRandom } from '../random.js';

/** One archive of a generated vault: its bytes come from the vault seed and its index, on the fly. */
export interface GeneratedArchiveSpec {
  size: number;
  description: string;
  /** ISO 8601; spread over past years when absent */
  creationDate?: string;
}

export interface GeneratedVaultSpec {
  name: string;
  /** Region the vault lives in (default us-east-1) */
  region?: string;
  seed: string | number;
  archives: GeneratedArchiveSpec[];
}

export interface SizeBucket {
  /** inclusive bounds in bytes */
  min: number;
  max: number;
  weight: number;
}

export interface GeneratedArchiveListOptions {
  count: number;
  seed: string | number;
  /** Default: a mix from 0 bytes to a few MiB */
  sizes?: SizeBucket[];
}

const DEFAULT_SIZES: SizeBucket[] = [
  { min: 0, max: 0, weight: 1 },
  { min: 1, max: 4096, weight: 4 },
  { min: 4097, max: 1024 * 1024, weight: 4 },
  { min: 1024 * 1024 + 1, max: 5 * 1024 * 1024, weight: 2 },
];

const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const compactDate = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** JSON as Glacier can store it: printable ASCII only, so other characters are \u-escaped. */
const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * Descriptions as the tools that uploaded to Glacier wrote them (design §2), plus odd and hostile ones. Glacier
 * takes only printable ASCII (≤ 1024 characters), so unicode and control characters reach a real vault only
 * inside an encoding (mt2, FastGlacier base64, JSON escapes), and so it is here. Index `i` picks the format, so
 * every format appears in any vault of a dozen archives.
 */
export function describeArchive(path: string, mtimeIso: string, i: number): string {
  const unicodePath = path.replace(/img_/, 'naïve/日本語/img_').replace(/\.jpg$/, ' ✓.jpg');
  const formats: (() => string)[] = [
    () => `mt2 ${base64url(JSON.stringify({ filename: path, mtime: compactDate(mtimeIso) }))}`,
    () => `<m><v>4</v><p>${base64(unicodePath)}</p><lm>${compactDate(mtimeIso)}</lm></m>`,
    () => `<ArchiveMetadata><Path>${base64(path)}</Path><Size>0</Size></ArchiveMetadata>`,
    () => asciiJson({ Path: unicodePath, UploadDate: mtimeIso }),
    () => path,
    () => path.replace(/\//g, '\\'),
    () => '',
    () => '../../etc/passwd',
    () => `/absolute/./${path}/../${path}`,
    () => `mt2 ${base64url(JSON.stringify({ filename: `control\u0007\t${path}`, mtime: compactDate(mtimeIso) }))}`,
    () => 'duplicate-name.txt',
    () => 'x'.repeat(1024),
  ];
  return formats[i % formats.length]!();
}

/** A deterministic list of archives of mixed sizes and every description format. */
export function generateArchiveList(options: GeneratedArchiveListOptions): GeneratedArchiveSpec[] {
  const random = seededRandom(`list:${options.seed}`);
  const sizes = options.sizes ?? DEFAULT_SIZES;
  const totalWeight = sizes.reduce((s, b) => s + b.weight, 0);
  const start = Date.UTC(2013, 0, 1);
  const archives: GeneratedArchiveSpec[] = [];
  for (let i = 0; i < options.count; i++) {
    let pick = random() * totalWeight;
    const bucket = sizes.find((b) => (pick -= b.weight) < 0) ?? sizes[sizes.length - 1]!;
    const size = bucket.min + Math.floor(random() * (bucket.max - bucket.min + 1));
    const creationDate = new Date(start + Math.floor(random() * 10 * 365 * 86400) * 1000).toISOString();
    const path = `photos/${2013 + (i % 10)}/img_${String(i).padStart(5, '0')}.jpg`;
    archives.push({ size, description: describeArchive(path, creationDate, i), creationDate });
  }
  return archives;
}

/** Glacier archive ids are 138 URL-safe characters; ours are derived from the vault seed and index. */
export function generatedArchiveId(seed: string | number, index: number): string {
  const digest = createHash('sha512').update(`archive:${seed}:${index}`).digest();
  const more = createHash('sha512').update(digest).digest();
  return Buffer.concat([digest, more]).toString('base64url').slice(0, 138);
}
