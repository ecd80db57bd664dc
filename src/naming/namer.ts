import { createReadStream } from 'node:fs';
import { ConfigError } from '../aws/errors.js';
import { nameArchive } from './name.js';
import { readNamingOverrides, type NamingOverrides } from './overrides.js';

/** What names the archives of a transfer: its prefix, and the user's override file if any. */
export interface NamingConfig {
  prefix: string;
  namingOverrides?: string;
}

/** Names archives as the inventory is read: the candidate key of each, before collisions are resolved. */
export interface ArchiveNamer {
  keyOf(archive: { archiveId: string; description: string }): string;
  overrides?: NamingOverrides;
}

export async function loadOverrides(path: string | undefined): Promise<NamingOverrides | undefined> {
  if (!path) return undefined;
  try {
    return await readNamingOverrides(createReadStream(path));
  } catch (e) {
    throw new ConfigError(`--naming-overrides ${path}: ${(e as Error).message}`);
  }
}

export async function createNamer(config: NamingConfig): Promise<ArchiveNamer> {
  const overrides = await loadOverrides(config.namingOverrides);
  return {
    overrides,
    keyOf: (archive) => nameArchive(archive, { prefix: config.prefix, overrideKey: overrides?.byArchiveId.get(archive.archiveId)?.key }).key,
  };
}
