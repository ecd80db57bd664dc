import { Permutation48 } from '../permutation.js';
import { hashSeed, itemRandom } from '../random.js';

/** One archive of a generated vault: its bytes come from the vault seed and its index, on the fly. */
export interface GeneratedArchiveSpec {
  size: number;
  description: string;
  /** ISO 8601; spread over past years when absent */
  creationDate?: string;
}

interface GeneratedVaultBase {
  name: string;
  /** Region the vault lives in (default us-east-1) */
  region?: string;
  seed: string | number;
}

/** A vault of the archives listed, archive i named generatedArchiveId(seed, i): for tests that edit the list. */
export interface ListedVaultSpec extends GeneratedVaultBase {
  archives: GeneratedArchiveSpec[];
}

/**
 * A vault of `count` archives computed on demand (ArchiveGenerator), as generateArchiveList would list them:
 * ten million archives cost no more memory than ten.
 */
export interface LazyVaultSpec extends GeneratedVaultBase {
  count: number;
  /** Default: a mix from 0 bytes to a few MiB */
  sizes?: SizeBucket[];
}

export type GeneratedVaultSpec = ListedVaultSpec | LazyVaultSpec;

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

/** Generated archives were created over the ten years from here. */
const CREATION_START_MS = Date.UTC(2013, 0, 1);

const base64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const base64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const compactDate = (iso: string) => iso.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/** JSON as Glacier can store it: printable ASCII only, so other characters are \u-escaped. */
const asciiJson = (value: unknown) =>
  JSON.stringify(value).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** The path with unicode in it, for the formats that can carry unicode. */
const unicodePath = (path: string) => path.replace(/img_/, 'naïve/日本語/img_').replace(/\.jpg$/, ' ✓.jpg');

const DESCRIPTION_FORMATS: ((path: string, mtimeIso: string) => string)[] = [
  (path, mtime) => `mt2 ${base64url(JSON.stringify({ filename: path, mtime: compactDate(mtime) }))}`,
  (path, mtime) => `<m><v>4</v><p>${base64(unicodePath(path))}</p><lm>${compactDate(mtime)}</lm></m>`,
  (path) => `<ArchiveMetadata><Path>${base64(path)}</Path><Size>0</Size></ArchiveMetadata>`,
  (path, mtime) => asciiJson({ Path: unicodePath(path), UploadDate: mtime }),
  (path) => path,
  (path) => path.replace(/\//g, '\\'),
  () => '',
  () => '../../etc/passwd',
  (path) => `/absolute/./${path}/../${path}`,
  (path, mtime) => `mt2 ${base64url(JSON.stringify({ filename: `control\u0007\t${path}`, mtime: compactDate(mtime) }))}`,
  () => 'duplicate-name.txt',
  () => 'x'.repeat(1024),
];

/**
 * Descriptions as the tools that uploaded to Glacier wrote them (design §2), plus odd and hostile ones. Glacier
 * takes only printable ASCII (≤ 1024 characters), so unicode and control characters reach a real vault only
 * inside an encoding (mt2, FastGlacier base64, JSON escapes), and so it is here. Index `i` picks the format, so
 * every format appears in any vault of a dozen archives.
 */
export function describeArchive(path: string, mtimeIso: string, i: number): string {
  return DESCRIPTION_FORMATS[i % DESCRIPTION_FORMATS.length]!(path, mtimeIso);
}

/**
 * The archives of a generated vault, each computed from (seed, index) alone: archive i of a vault of ten million
 * costs what archive 0 costs, and nothing is kept. Each index seeds its own small PRNG, so an archive's size can
 * be drawn without building its description.
 */
export class ArchiveGenerator {
  private readonly seedHash: number;
  private readonly sizes: SizeBucket[];
  private readonly totalWeight: number;

  constructor(seed: string | number, sizes: SizeBucket[] = DEFAULT_SIZES) {
    this.seedHash = hashSeed(`list:${seed}`);
    this.sizes = sizes;
    this.totalWeight = sizes.reduce((s, b) => s + b.weight, 0);
  }

  private drawSize(random: () => number): number {
    let pick = random() * this.totalWeight;
    const bucket = this.sizes.find((b) => (pick -= b.weight) < 0) ?? this.sizes[this.sizes.length - 1]!;
    return bucket.min + Math.floor(random() * (bucket.max - bucket.min + 1));
  }

  size(i: number): number {
    return this.drawSize(itemRandom(this.seedHash, i));
  }

  spec(i: number): GeneratedArchiveSpec {
    // Archive i's own PRNG: its size is the first draws, its creation date the next.
    const random = itemRandom(this.seedHash, i);
    const size = this.drawSize(random);
    const creationDate = new Date(CREATION_START_MS + Math.floor(random() * 10 * 365 * 86400) * 1000).toISOString();
    const path = `photos/${2013 + (i % 10)}/img_${String(i).padStart(5, '0')}.jpg`;
    return { size, description: describeArchive(path, creationDate, i), creationDate };
  }
}

/** A deterministic list of archives of mixed sizes and every description format: the lazy vault's, written out. */
export function generateArchiveList(options: GeneratedArchiveListOptions): GeneratedArchiveSpec[] {
  const generator = new ArchiveGenerator(options.seed, options.sizes);
  return Array.from({ length: options.count }, (_, i) => generator.spec(i));
}

/** Glacier archive ids are 138 URL-safe characters. */
export const ARCHIVE_ID_LENGTH = 138;

/**
 * The ids of a generated vault's archives. An id's first 8 characters are its index, permuted under a key from
 * the seed; the other 130 are pseudo-random from seed and index. So an id leads back to its index in O(1), and
 * regenerating the id from that index proves it genuine.
 */
export class ArchiveIds {
  private readonly permutation: Permutation48;
  private readonly seedHash: number;

  constructor(seed: string | number) {
    this.permutation = new Permutation48(`archive-index:${seed}`);
    this.seedHash = hashSeed(`archive-id:${seed}`);
  }

  id(index: number): string {
    // 6 bytes of index and 25 random words: more than the 103.5 bytes 138 base64 characters hold.
    const bytes = Buffer.alloc(106);
    this.permutation.encode(index).copy(bytes);
    const random = itemRandom(this.seedHash, index);
    for (let offset = 6; offset < bytes.length; offset += 4) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), offset);
    return bytes.toString('base64url').slice(0, ARCHIVE_ID_LENGTH);
  }

  /** The index whose id this is, or undefined for any other string. */
  index(id: string): number | undefined {
    if (id.length !== ARCHIVE_ID_LENGTH || !/^[A-Za-z0-9_-]{8}/.test(id)) return undefined;
    const index = this.permutation.decode(Buffer.from(id.slice(0, 8), 'base64url'));
    return this.id(index) === id ? index : undefined;
  }
}

/** Id of archive `index` of the generated vault with this seed (listed or lazy alike). */
export function generatedArchiveId(seed: string | number, index: number): string {
  return new ArchiveIds(seed).id(index);
}
