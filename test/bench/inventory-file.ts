import { createWriteStream, existsSync, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveCatalog } from '../../src/sim/glacier/catalog.js';
import { LazyArchiveRange } from '../../src/sim/glacier/generated-vault.js';
import { InventoryDocument, type InventoryFormat } from '../../src/sim/glacier/inventory.js';

export const BENCH_VAULT_ARN = 'arn:aws:glacier:us-east-1:123456789012:vaults/bench';

/**
 * The inventory of a generated vault of `count` archives (seed "bench", every description format), as the
 * simulator streams it, written to /tmp once and kept for later runs. Returns its path.
 */
export async function generatedInventoryFile(format: InventoryFormat, count: number): Promise<string> {
  const path = join(tmpdir(), `glacier-copy-bench-${count}.${format.toLowerCase()}`);
  if (existsSync(path)) return path;
  const range = new LazyArchiveRange({ name: 'bench', seed: 'bench', count }, '2024-03-01T08:00:00.000Z');
  const document = new InventoryDocument(new ArchiveCatalog(range).snapshot(), format, BENCH_VAULT_ARN, '2024-03-01T08:00:00Z');
  await document.measure(new AbortController().signal);
  await pipeline(document.read(0, document.size - 1), createWriteStream(`${path}.partial`));
  renameSync(`${path}.partial`, path);
  return path;
}
