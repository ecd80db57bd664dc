import { randomBytes } from 'node:crypto';
import { SimError } from '../http.js';
import { seededRandom } from '../random.js';
import type { SimWorld } from '../world.js';
import type { ArchiveContent } from './archives.js';
import { ArchiveCatalog, type Archive, type CatalogSnapshot } from './catalog.js';
import { ARCHIVE_ID_LENGTH, type GeneratedVaultSpec } from './generate.js';
import { GeneratedArchives, LazyArchiveRange } from './generated-vault.js';
import { InventoryDocument, type InventoryFormat } from './inventory.js';
import { selectInventory, type InventoryRange } from './inventory-range.js';
import { AWS_JOB_DELAYS, drawJobDelay, type JobDelay, type JobKind, type Tier } from './job-delay.js';
import { JobList } from './jobs.js';
import { RecentRetrievals } from './recent-retrievals.js';

export type { Tier } from './job-delay.js';
export const TIERS: readonly Tier[] = ['Expedited', 'Standard', 'Bulk'];

/** Job output can be downloaded for 24 hours after completion. */
export const OUTPUT_WINDOW_SECONDS = 24 * 3600;
/** Glacier prepares each vault's inventory about once a day. */
export const INVENTORY_INTERVAL_SECONDS = 24 * 3600;

/** A vault's inventory as Glacier last prepared it: what inventory jobs return and DescribeVault counts. */
export interface VaultInventory {
  date: string;
  snapshot: CatalogSnapshot;
  archives: number;
  bytes: number;
  /** The catalog's `changes` when it was taken */
  changes: number;
}

export interface Vault {
  name: string;
  region: string;
  arn: string;
  creationDate: string;
  archives: ArchiveCatalog;
  jobs: JobList;
  uploads: Map<string, MultipartArchiveUpload>;
  notification?: { SNSTopic: string; Events: string[] };
  /** The last inventory; none until the first is taken */
  inventory?: VaultInventory;
}

export interface MultipartArchiveUpload {
  id: string;
  description: string;
  partSize: number;
  creationDate: string;
  parts: Map<number, { data: Buffer; treeHash: string }>;
}

export interface Job {
  id: string;
  vault: Vault;
  action: 'ArchiveRetrieval' | 'InventoryRetrieval';
  description?: string;
  archive?: Archive;
  tier: Tier;
  snsTopic?: string;
  creationDate: string;
  /** For archive retrieval: the retrieved bytes, inclusive */
  range?: { start: number; end: number };
  /** For inventory retrieval: the format asked for */
  inventoryFormat?: InventoryFormat;
  /** For inventory retrieval: the part of the vault asked for (InventoryRetrievalParameters) */
  inventoryRange?: InventoryRange;
  /** For a completed range inventory: where the next one would continue, null when nothing is left */
  nextMarker?: string | null;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  /** 'fail' fault: the job completes as Failed with this StatusMessage */
  failure?: string;
  completionDate?: string;
  /** Simulated epoch ms after which the output is gone */
  expiresAtMs?: number;
  /** InventoryRetrieval: the document, of the vault's last inventory at completion */
  inventory?: InventoryDocument;
  /** 'expire' fault: the output window is cut short */
  expiresEarly: boolean;
}

export interface GlacierOptions {
  /**
   * Simulated seconds from initiation to completion, per tier (and for inventories): a number, or a range each
   * job's delay is drawn from. Default: AWS's documented ranges (AWS_JOB_DELAYS).
   */
  jobDelaySeconds?: Partial<Record<JobKind, JobDelay>>;
  /** InitiateJob requests allowed per (real) second, with a burst; unlimited when absent */
  initiateJobRate?: { perSecond: number; burst?: number };
  /** Generated vaults to create at start */
  vaults?: GeneratedVaultSpec[];
}

/** Vaults, archives, jobs and uploads of the simulated Glacier, per region. */
export class GlacierStore {
  private readonly vaults = new Map<string, Vault>();
  /** Data retrieval policy (per region in AWS; one here) */
  policy: { Rules: { Strategy: string; BytesPerHour?: number }[] } = { Rules: [{ Strategy: 'FreeTier' }] };
  private readonly retrievals = new RecentRetrievals(3600_000);
  /** Draws each job's completion delay, from the world's seed */
  private readonly delayRandom: () => number;

  constructor(
    private readonly world: SimWorld,
    readonly options: GlacierOptions,
  ) {
    this.delayRandom = seededRandom(`job-delay:${world.seed}`);
    for (const spec of options.vaults ?? []) this.addGeneratedVault(spec);
  }

  private key(region: string, name: string) {
    return `${region}/${name}`;
  }

  createVault(region: string, name: string, archives = new ArchiveCatalog()): Vault {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name)) {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid vault name: ${name}`);
    }
    const existing = this.vaults.get(this.key(region, name));
    if (existing) return existing; // CreateVault is idempotent
    const arn = `arn:aws:glacier:${region}:${this.world.accountId}:vaults/${name}`;
    const vault: Vault = {
      name,
      region,
      arn,
      creationDate: this.world.clock.now().toISOString(),
      archives,
      jobs: new JobList(arn),
      uploads: new Map(),
    };
    this.vaults.set(this.key(region, name), vault);
    this.scheduleInventory(vault);
    return vault;
  }

  /**
   * Glacier's daily inventory: once a (simulated) day after the vault's creation, the vault is listed again if
   * an archive was added or deleted since the last inventory (else its date stays, as on AWS). A vault that never
   * held an archive has none.
   */
  private scheduleInventory(vault: Vault): void {
    this.world.clock.after(INVENTORY_INTERVAL_SECONDS * 1000, () => {
      if (this.vaults.get(this.key(vault.region, vault.name)) !== vault) return; // deleted
      if (vault.archives.changes !== (vault.inventory?.changes ?? 0)) this.takeInventory(vault);
      this.scheduleInventory(vault);
    });
  }

  /** Takes the vault's inventory now (the daily one; tests and generated vaults call it directly). */
  takeInventory(vault: Vault): void {
    const { archives } = vault;
    vault.inventory = { date: this.world.clock.now().toISOString(), snapshot: archives.snapshot(), archives: archives.size, bytes: archives.bytes, changes: archives.changes };
  }

  /** The vault's last inventory; an inventory job cannot be started before the first. */
  lastInventory(vault: Vault): VaultInventory {
    if (!vault.inventory) throw new SimError(404, 'ResourceNotFoundException', `Inventory not yet generated for vault: ${vault.arn}`);
    return vault.inventory;
  }

  /**
   * Creates a vault whose archives' bytes are generated from the seed on demand: listed ones are held as
   * archives, a lazy vault's are computed when asked for. It stands for a vault that has been there a while: it
   * has an inventory, as of its generation.
   */
  addGeneratedVault(spec: GeneratedVaultSpec): Vault {
    const region = spec.region ?? 'us-east-1';
    if (this.vaults.has(this.key(region, spec.name))) throw new Error(`vault ${spec.name} already exists in ${region}`);
    let vault: Vault;
    if ('count' in spec) {
      const range = new LazyArchiveRange(spec, this.world.clock.now().toISOString());
      vault = this.createVault(region, spec.name, new ArchiveCatalog(range));
    } else {
      vault = this.createVault(region, spec.name);
      const generated = new GeneratedArchives(spec.seed, vault.creationDate);
      spec.archives.forEach((a, i) => vault.archives.add(generated.archive(i, a)));
    }
    this.takeInventory(vault);
    return vault;
  }

  getVault(region: string, name: string): Vault {
    const vault = this.vaults.get(this.key(region, name));
    if (!vault) {
      throw new SimError(
        404,
        'ResourceNotFoundException',
        `Vault not found for ARN: arn:aws:glacier:${region}:${this.world.accountId}:vaults/${name}`,
      );
    }
    return vault;
  }

  listVaults(region: string): Vault[] {
    return [...this.vaults.values()].filter((v) => v.region === region).sort((a, b) => a.name.localeCompare(b.name));
  }

  deleteVault(region: string, name: string): void {
    const vault = this.getVault(region, name);
    if (vault.archives.size > 0) {
      throw new SimError(400, 'InvalidParameterValueException', `Vault not empty or recently written to: ${vault.arn}`);
    }
    this.vaults.delete(this.key(region, name));
  }

  addArchive(vault: Vault, description: string, content: ArchiveContent): Archive {
    const archive: Archive = {
      id: randomBytes(104).toString('base64url').slice(0, ARCHIVE_ID_LENGTH),
      description,
      creationDate: this.world.clock.now().toISOString(),
      content,
    };
    vault.archives.add(archive);
    return archive;
  }

  /** Enforces the BytesPerHour data retrieval policy over the last simulated hour (Standard retrievals only). */
  checkRetrievalPolicy(bytes: number): void {
    const now = this.world.clock.nowMs();
    const rule = this.policy.Rules[0];
    if (rule?.Strategy === 'BytesPerHour' && rule.BytesPerHour !== undefined) {
      if (this.retrievals.bytesUntil(now) + bytes > rule.BytesPerHour) {
        throw new SimError(400, 'PolicyEnforcedException', 'InitiateJob request denied by current data retrieval policy.');
      }
    }
    this.retrievals.add(now, bytes);
  }

  /** Simulated seconds this job takes: as configured, else drawn from AWS's range for its tier. */
  delaySeconds(job: Pick<Job, 'action' | 'tier'>): number {
    const kind: JobKind = job.action === 'InventoryRetrieval' ? 'Inventory' : job.tier;
    return drawJobDelay(this.options.jobDelaySeconds?.[kind] ?? AWS_JOB_DELAYS[kind], this.delayRandom);
  }

  /**
   * Runs the job: after its delay it completes. An inventory job returns the vault's last inventory at that
   * moment (not the vault as it is then), and succeeds once the document's length is known (it is measured in
   * batches, without blocking).
   */
  startJob(job: Job, onComplete: (job: Job) => void): void {
    job.vault.jobs.add(job);
    const delayMs = this.delaySeconds(job) * 1000;
    const dueMs = this.world.clock.nowMs() + delayMs;
    this.world.clock.after(delayMs, () => {
      // Completed when it was due: a timer that fires late (a busy event loop, a high time scale) delays its
      // notice, not the job.
      if (!job.inventoryFormat || job.failure) return this.complete(job, onComplete, dueMs);
      const { vault } = job;
      const last = this.lastInventory(vault);
      const { snapshot, marker } = selectInventory(last.snapshot, job.inventoryRange!);
      job.nextMarker = marker;
      const inventory = new InventoryDocument(snapshot, job.inventoryFormat, vault.arn, last.date);
      inventory.measure(this.world.stopSignal).then(
        () => {
          job.inventory = inventory;
          this.complete(job, onComplete);
        },
        (err: unknown) => {
          if (!this.world.stopSignal.aborted) this.world.log.error({ err, jobId: job.id }, 'inventory could not be measured');
        },
      );
    });
  }

  private complete(job: Job, onComplete: (job: Job) => void, at = this.world.clock.nowMs()): void {
    const now = at;
    job.status = job.failure ? 'Failed' : 'Succeeded';
    job.completionDate = new Date(now).toISOString();
    const windowMs = (job.expiresEarly ? OUTPUT_WINDOW_SECONDS / 100 : OUTPUT_WINDOW_SECONDS) * 1000;
    job.expiresAtMs = now + windowMs;
    // Glacier forgets the job once its output window has passed.
    this.world.clock.after(windowMs, () => job.vault.jobs.expire(job.id));
    onComplete(job);
  }

  /** A job, unless its output window has passed (AWS then forgets it). */
  getJob(vault: Vault, jobId: string): Job {
    const job = vault.jobs.get(jobId);
    if (!job || this.isExpired(job)) {
      throw new SimError(404, 'ResourceNotFoundException', `The job ID was not found: ${jobId}`);
    }
    return job;
  }

  isExpired(job: Job): boolean {
    return job.expiresAtMs !== undefined && this.world.clock.nowMs() >= job.expiresAtMs;
  }
}
