import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Hash vectors computed by an independent implementation (botocore), shared by the whole project. */
export interface Vectors {
  tree_hash: { size: number; sha256_tree_hash: string; sha256: string }[];
  range_tree_hash: { input_size: number; range_start: number; range_end_exclusive: number; sha256_tree_hash: string }[];
  s3_composite_sha256: { size: number; part_size: number; part_checksums_base64: string[]; composite: string }[];
}

const here = fileURLToPath(new URL('.', import.meta.url));
// The shared copy beside the checkout wins; the one in the repository keeps a lone clone testable.
const candidates = [join(here, '../../../shared/vectors/hashes.json'), join(here, '../vectors/hashes.json')];

export function loadVectors(): Vectors {
  for (const path of candidates) {
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as Vectors;
    } catch {
      // try the next location
    }
  }
  throw new Error(`hash vectors not found in ${candidates.join(' or ')}`);
}

/** The vectors' content: byte i of an input of n bytes is i mod 251. */
export function vectorContent(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}
