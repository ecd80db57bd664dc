import { createWriteStream, existsSync, renameSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveCatalog } from '../../src/sim/glacier/catalog.js';
import type { SizeBucket } from '../../src/sim/glacier/generate.js';
import { LazyArchiveRange } from '../../src/sim/glacier/generated-vault.js';
import { InventoryDocument, type InventoryFormat } from '../../src/sim/glacier/inventory.js';

/**
 * The inventory of the generated vault `glacier-copy sim --generated-vault NAME:COUNT:NAME[:SIZE]` creates (seed =
 * name; every description format), as the simulator streams it, written to /tmp once and kept for later runs.
 * Returns its path. Without `size`, archives have the simulator's default mix of sizes.
 */
export async function generatedInventoryFile(format: InventoryFormat, vault: string, count: number, size?: number): Promise<string> {
  const path = join(tmpdir(), `glacier-copy-bench-${vault}-${count}${size === undefined ? '' : `-${size}`}.${format.toLowerCase()}`);
  if (existsSync(path)) return path;
  const sizes: SizeBucket[] | undefined = size === undefined ? undefined : [{ min: size, max: size, weight: 1 }];
  const range = new LazyArchiveRange({ name: vault, seed: vault, count, sizes }, '2024-03-01T08:00:00.000Z');
  const arn = `arn:aws:glacier:us-east-1:123456789012:vaults/${vault}`;
  const document = new InventoryDocument(new ArchiveCatalog(range).snapshot(), format, arn, '2024-03-01T08:00:00Z');
  await document.measure(new AbortController().signal);
  await pipeline(document.read(0, document.size - 1), createWriteStream(`${path}.partial`));
  renameSync(`${path}.partial`, path);
  return path;
}
