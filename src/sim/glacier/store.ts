import { randomBytes } from 'node:crypto';
import { SimError } from '../http.js';
import type { SimWorld } from '../world.js';
import { GeneratedContent, GeneratedPattern, type ArchiveContent } from './archives.js';
import { generatedArchiveId, type GeneratedVaultSpec } from './generate.js';
import { renderInventory, type InventoryFormat } from './inventory.js';

export type Tier = 'Expedited' | 'Standard' | 'Bulk';
export const TIERS: readonly Tier[] = ['Expedited', 'Standard', 'Bulk'];

/** Simulated seconds from InitiateJob to completion, the midpoints of AWS's published ranges. */
export const DEFAULT_JOB_DELAY_SECONDS: Record<Tier | 'Inventory', number> = {
  Expedited: 3 * 60,
  Standard: 4 * 3600,
  Bulk: 8 * 3600,
  Inventory: 4 * 3600,
};
/** Job output can be downloaded for 24 hours after completion. */
export const OUTPUT_WINDOW_SECONDS = 24 * 3600;

export interface Archive {
  id: string;
  description: string;
  creationDate: string;
  content: ArchiveContent;
}

export interface Vault {
  name: string;
  region: string;
  arn: string;
  creationDate: string;
  archives: Map<string, Archive>;
  jobs: Map<string, Job>;
  uploads: Map<string, MultipartArchiveUpload>;
  notification?: { SNSTopic: string; Events: string[] };
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
  status: 'InProgress' | 'Succeeded' | 'Failed';
  completionDate?: string;
  /** Simulated epoch ms after which the output is gone */
  expiresAtMs?: number;
  /** InventoryRetrieval: output rendered at completion */
  inventory?: { format: InventoryFormat; body: Buffer };
  /** 'expire' fault: the output window is cut short */
  expiresEarly: boolean;
}

export interface GlacierOptions {
  /** Simulated seconds from initiation to completion, per tier (and for inventories) */
  jobDelaySeconds?: Partial<Record<Tier | 'Inventory', number>>;
  /** Generated vaults to create at start */
  vaults?: GeneratedVaultSpec[];
}

/** Vaults, archives, jobs and uploads of the simulated Glacier, per region. */
export class GlacierStore {
  private readonly vaults = new Map<string, Vault>();
  /** Data retrieval policy (per region in AWS; one here) */
  policy: { Rules: { Strategy: string; BytesPerHour?: number }[] } = { Rules: [{ Strategy: 'FreeTier' }] };
  private readonly retrievals: { atMs: number; bytes: number }[] = [];

  constructor(
    private readonly world: SimWorld,
    readonly options: GlacierOptions,
  ) {
    for (const spec of options.vaults ?? []) this.addGeneratedVault(spec);
  }

  private key(region: string, name: string) {
    return `${region}/${name}`;
  }

  createVault(region: string, name: string): Vault {
    if (!/^[A-Za-z0-9_.-]{1,255}$/.test(name)) {
      throw new SimError(400, 'InvalidParameterValueException', `Invalid vault name: ${name}`);
    }
    const existing = this.vaults.get(this.key(region, name));
    if (existing) return existing; // CreateVault is idempotent
    const vault: Vault = {
      name,
      region,
      arn: `arn:aws:glacier:${region}:${this.world.accountId}:vaults/${name}`,
      creationDate: this.world.clock.now().toISOString(),
      archives: new Map(),
      jobs: new Map(),
      uploads: new Map(),
    };
    this.vaults.set(this.key(region, name), vault);
    return vault;
  }

  /** Creates a vault whose archives' bytes are generated from the seed on demand. */
  addGeneratedVault(spec: GeneratedVaultSpec): Vault {
    const vault = this.createVault(spec.region ?? 'us-east-1', spec.name);
    const pattern = new GeneratedPattern(String(spec.seed));
    spec.archives.forEach((a, i) => {
      const id = generatedArchiveId(spec.seed, i);
      vault.archives.set(id, {
        id,
        description: a.description,
        creationDate: a.creationDate ?? vault.creationDate,
        content: new GeneratedContent(pattern, `${spec.seed}:${i}`, a.size),
      });
    });
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
      id: randomBytes(104).toString('base64url').slice(0, 138),
      description,
      creationDate: this.world.clock.now().toISOString(),
      content,
    };
    vault.archives.set(archive.id, archive);
    return archive;
  }

  /** Enforces the BytesPerHour data retrieval policy over the last simulated hour. */
  checkRetrievalPolicy(bytes: number): void {
    const now = this.world.clock.nowMs();
    while (this.retrievals.length && this.retrievals[0]!.atMs < now - 3600_000) this.retrievals.shift();
    const rule = this.policy.Rules[0];
    if (rule?.Strategy === 'BytesPerHour' && rule.BytesPerHour !== undefined) {
      const recent = this.retrievals.reduce((s, r) => s + r.bytes, 0);
      if (recent + bytes > rule.BytesPerHour) {
        throw new SimError(400, 'PolicyEnforcedException', 'InitiateJob request denied by current data retrieval policy.');
      }
    }
    this.retrievals.push({ atMs: now, bytes });
  }

  delaySeconds(job: Pick<Job, 'action' | 'tier'>): number {
    const key = job.action === 'InventoryRetrieval' ? 'Inventory' : job.tier;
    return this.options.jobDelaySeconds?.[key] ?? DEFAULT_JOB_DELAY_SECONDS[key];
  }

  startJob(job: Job, inventoryFormat: InventoryFormat | undefined, onComplete: (job: Job) => void): void {
    job.vault.jobs.set(job.id, job);
    this.world.clock.after(this.delaySeconds(job) * 1000, () => {
      const now = this.world.clock.nowMs();
      job.status = 'Succeeded';
      job.completionDate = new Date(now).toISOString();
      const window = job.expiresEarly ? OUTPUT_WINDOW_SECONDS / 100 : OUTPUT_WINDOW_SECONDS;
      job.expiresAtMs = now + window * 1000;
      if (job.action === 'InventoryRetrieval') {
        job.inventory = {
          format: inventoryFormat!,
          body: renderInventory(job.vault, inventoryFormat!, job.completionDate),
        };
      }
      onComplete(job);
    });
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
