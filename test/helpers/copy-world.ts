import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { auditCopy, type AuditResult } from '../../src/sim/audit.js';
import { generateArchiveList, type GeneratedArchiveSpec, type GeneratedVaultSpec } from '../../src/sim/glacier/generate.js';
import { renderInventory, type InventoryFormat } from '../../src/sim/glacier/inventory.js';
import type { GlacierOptions } from '../../src/sim/glacier/service.js';
import type { Vault } from '../../src/sim/glacier/store.js';
import { TransferState } from '../../src/state/db.js';
import { startArgs, type StartArgs } from './cli.js';
import { recordRequests, type RequestRecorder } from './requests.js';
import { startSimHarness, type SimHarness } from './sim.js';

export const MIB = 1024 * 1024;
/** 1 simulated hour per real second */
export const TIME_SCALE = 3600;
/** Simulated seconds: at TIME_SCALE a retrieval or inventory job completes in about 170 ms, an Expedited one in 17 ms */
export const FAST_JOBS: NonNullable<GlacierOptions['jobDelaySeconds']> = { Bulk: 600, Standard: 600, Expedited: 60, Inventory: 600 };
export const REGION = 'us-east-1';

/** An archive as the simulated vault holds it: the truth the copy is checked against. */
export interface SourceArchive {
  id: string;
  description: string;
  creationDate: string;
  size: number;
  treeHash: string;
}

/**
 * A vault of `count` archives in every description format (generateArchiveList), from 0 bytes to about 30 MiB,
 * always with an empty archive first and a multi-chunk one second.
 */
export function mixedArchives(count: number, seed: string | number): GeneratedArchiveSpec[] {
  const archives = generateArchiveList({
    count,
    seed,
    sizes: [
      { min: 0, max: 0, weight: 1 },
      { min: 1, max: 64 * 1024, weight: 4 },
      { min: 64 * 1024 + 1, max: 8 * MIB, weight: 3 },
      { min: 8 * MIB + 1, max: 30 * MIB, weight: 1 },
    ],
  });
  archives[0]!.size = 0;
  archives[1]!.size = 3 * 8 * MIB + 123_457; // four 8 MiB parts, the last one short
  return archives;
}

export interface CopyWorld {
  harness: SimHarness;
  recorder: RequestRecorder;
  /** Temporary directory of this world (state files, inventories) */
  dir: string;
  endpoint: string;
  vault(name: string): Vault;
  archives(vault: string): SourceArchive[];
  path(name: string): string;
  createBucket(name: string): Promise<void>;
  start(o: Omit<StartArgs, 'endpoint'>): string[];
  /** Writes the vault's inventory as Glacier renders it, after `edit` (which may change or reorder entries) */
  writeInventory(vault: string, format: InventoryFormat, edit?: (text: string) => string): string;
  /** Archive id → key, as the transfer's state decided them */
  keysOf(statePath: string): Map<string, string>;
  /** The independent check: every source archive's bytes at the key the state names, nothing else */
  audit(o: { statePath: string; vault: string; bucket: string; prefix?: string }): Promise<AuditResult>;
  stop(): Promise<void>;
}

export async function startCopyWorld(options: {
  vaults: GeneratedVaultSpec[];
  buckets?: string[];
  timeScale?: number;
  faults?: string;
  /** The KMS keys S3 knows (default: any well-formed key reference) */
  kmsKeys?: string[];
  jobDelaySeconds?: GlacierOptions['jobDelaySeconds'];
}): Promise<CopyWorld> {
  const harness = await startSimHarness({
    timeScale: options.timeScale ?? TIME_SCALE,
    faults: options.faults,
    kmsKeys: options.kmsKeys,
    // GetObject of DEEP_ARCHIVE/GLACIER objects is refused by S3; the audit needs to read them back.
    s3ReadArchived: true,
    glacier: { jobDelaySeconds: options.jobDelaySeconds ?? FAST_JOBS, vaults: options.vaults },
  });
  const recorder = recordRequests(harness.sim);
  const dir = mkdtempSync(join(tmpdir(), 'glacier-copy-it-'));
  const world: CopyWorld = {
    harness,
    recorder,
    dir,
    endpoint: harness.sim.url,
    vault: (name) => harness.sim.world.glacier.store.getVault(REGION, name),
    archives(name) {
      return [...world.vault(name).archives.values()].map((a) => ({
        id: a.id,
        description: a.description,
        creationDate: a.creationDate,
        size: a.content.size,
        treeHash: a.content.treeHash(),
      }));
    },
    path: (name) => join(dir, name),
    async createBucket(name) {
      await harness.clients.s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    start: (o) => startArgs({ ...o, endpoint: harness.sim.url }),
    writeInventory(vault, format, edit = (t) => t) {
      const text = renderInventory(world.vault(vault), format, new Date().toISOString()).toString('utf8');
      const file = join(dir, `${vault}-inventory-${Math.random().toString(36).slice(2)}.${format.toLowerCase()}`);
      writeFileSync(file, edit(text));
      return file;
    },
    keysOf(statePath) {
      const state = TransferState.open(statePath, { readonly: true });
      try {
        const keys = new Map<string, string>();
        for (const a of state.iterateArchivesSnapshot()) if (a.key !== null) keys.set(a.archive_id, a.key);
        return keys;
      } finally {
        state.close();
      }
    },
    async audit({ statePath, vault, bucket, prefix }) {
      const keys = world.keysOf(statePath);
      // The audit's own requests are not the tool's: they are recorded under their own phase.
      const phase = recorder.phase;
      recorder.phase = 'audit';
      try {
        return await auditCopy(harness.sim, harness.clients, { vault, bucket, prefix, keyOf: (id) => keys.get(id) });
      } finally {
        recorder.phase = phase;
      }
    },
    async stop() {
      await harness.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const bucket of options.buckets ?? []) await world.createBucket(bucket);
  return world;
}

/** Every archive of the vault byte-identical in S3, nothing more, nothing left behind. */
export function expectCompleteCopy(audit: AuditResult, archives: number): void {
  expect({
    missing: audit.missing,
    corrupt: audit.corrupt,
    extra: audit.extra,
    openUploads: audit.openUploads,
    leftoverTopics: audit.leftoverTopics,
    leftoverQueues: audit.leftoverQueues,
  }).toEqual({ missing: [], corrupt: [], extra: [], openUploads: 0, leftoverTopics: [], leftoverQueues: [] });
  expect(audit.archives).toBe(archives);
  expect(audit.verified).toBe(archives);
}

/** How many of `items` share each key (requests per archive, say). */
export function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

/** Resolves once `condition` holds (checked every 20 ms), for states with no event to await. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
