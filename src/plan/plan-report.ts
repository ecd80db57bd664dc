import { loadOverrides } from '../naming/namer.js';
import { nameArchive, type ArchiveName } from '../naming/name.js';
import { COUNTER, type TransferState } from '../state/db.js';
import { SIZE_CLASSES, WorkloadCounter, estimateCost, estimateDuration, type CopyWorkload, type CostEstimate, type DurationEstimate, type PriceTable } from './cost.js';

/** How archives got their keys: counts, and the first few examples of each way. */
export interface NamingSummary {
  /** By what the key was made from */
  sources: Record<ArchiveName['source'], number>;
  /** By the format each description was recognised as */
  formats: Record<string, number>;
  /** Archives given another key because others wanted the same */
  collisions: number;
  /** Descriptions that looked like a known format but could not be read as one */
  problems: number;
  examples: Record<ArchiveName['source'] | 'collision' | 'problem', { archiveId: string; description: string; key: string; note?: string }[]>;
}

export interface PlanReport {
  vault: string;
  bucket: string;
  prefix: string;
  storageClass: string;
  tier: string;
  region: string;
  inventory: { archives: number; bytes: number };
  /** Verified copies already in S3: not retrieved again */
  alreadyInS3: { archives: number; bytes: number };
  /** Archives that cannot be copied at all (larger than S3 allows) */
  uncopyable: { archives: number; bytes: number };
  /** What the copy will retrieve and write */
  toCopy: CopyWorkload;
  sizeClasses: string[];
  naming: NamingSummary;
  cost?: CostEstimate;
  /** Why there is no cost (no prices for the region) */
  noCost?: string;
  duration: DurationEstimate;
}

const EXAMPLES = 3;

/** The plan of a transfer whose archives are named (planned), before anything is retrieved: read from its state. */
export async function buildPlanReport(
  state: TransferState,
  o: { region: string; prices: PriceTable; rates: { bytesPerSecond: number; archivesPerSecond: number } },
): Promise<PlanReport> {
  const config = state.config();
  const overrides = await loadOverrides(config.namingOverrides);
  const toCopy = new WorkloadCounter(config.storageClass, config.partSize);
  const inventory = { archives: 0, bytes: 0 };
  const uncopyable = { archives: 0, bytes: 0 };
  const naming: NamingSummary = {
    sources: { override: 0, description: 0, fallback: 0 },
    formats: {},
    collisions: 0,
    problems: 0,
    examples: { override: [], description: [], fallback: [], collision: [], problem: [] },
  };
  const example = (kind: keyof NamingSummary['examples'], e: NamingSummary['examples']['override'][number]) => {
    if (naming.examples[kind].length < EXAMPLES) naming.examples[kind].push(e);
  };
  for (const a of state.iterateArchivesSnapshot()) {
    inventory.archives++;
    inventory.bytes += a.size;
    if (a.status === 'failed') {
      uncopyable.archives++;
      uncopyable.bytes += a.size;
    } else if (a.status !== 'verified') toCopy.add(a.size);
    const name = nameArchive({ archiveId: a.archive_id, description: a.description }, { prefix: config.prefix, overrideKey: overrides?.byArchiveId.get(a.archive_id)?.key });
    const shown = { archiveId: a.archive_id, description: a.description, key: a.key ?? name.key };
    naming.sources[name.source]++;
    naming.formats[name.format] = (naming.formats[name.format] ?? 0) + 1;
    example(name.source, shown);
    if (a.key !== null && a.key !== name.key) {
      naming.collisions++;
      example('collision', { ...shown, note: `wanted ${name.key}` });
    }
    if (name.problem) {
      naming.problems++;
      example('problem', { ...shown, note: name.problem });
    }
  }
  const counters = state.counters();
  let cost: CostEstimate | undefined;
  let noCost: string | undefined;
  try {
    cost = estimateCost(toCopy.workload, { region: o.region, tier: config.tier, storageClass: config.storageClass }, o.prices);
  } catch (e) {
    noCost = (e as Error).message;
  }
  return {
    vault: config.vault,
    bucket: config.bucket,
    prefix: config.prefix,
    storageClass: config.storageClass,
    tier: config.tier,
    region: o.region,
    inventory,
    alreadyInS3: { archives: counters.get(COUNTER.alreadyInS3) ?? 0, bytes: counters.get(COUNTER.alreadyInS3Bytes) ?? 0 },
    uncopyable,
    toCopy: toCopy.workload,
    sizeClasses: SIZE_CLASSES.map((c) => c.label),
    naming,
    cost,
    noCost,
    duration: estimateDuration(toCopy.workload, config.tier, o.rates),
  };
}
