import { readFileSync } from 'node:fs';
import { GIB, planArchive } from './chunks.js';

/** What AWS charges, per region: a dated table (docs/prices.json) or the user's own (`--prices FILE`). */
export interface PriceTable {
  asOf: string;
  currency: string;
  source: string;
  regions: Record<string, RegionPrices>;
}

export interface RegionPrices {
  glacierRetrieval: Record<string, { perGB: number; per1000Requests: number }>;
  s3: Record<string, { storagePerGBMonth: number; putPer1000: number; monitoringPer1000Objects?: number }>;
  /** Glacier to the internet (a copy run outside AWS); nothing from an EC2 instance in the same region */
  dataTransferOutPerGB: number;
}

export const DEFAULT_PRICES_FILE = new URL('../../docs/prices.json', import.meta.url);

export class PriceTableError extends Error {}

export function loadPrices(file: string | URL = DEFAULT_PRICES_FILE): PriceTable {
  let table: PriceTable;
  try {
    table = JSON.parse(readFileSync(file, 'utf8')) as PriceTable;
  } catch (e) {
    throw new PriceTableError(`--prices ${String(file)}: ${(e as Error).message}`);
  }
  if (typeof table.asOf !== 'string' || typeof table.regions !== 'object' || table.regions === null) {
    throw new PriceTableError(`--prices ${String(file)}: not a price table (asOf, currency, regions: see docs/prices.json)`);
  }
  return table;
}

/**
 * Storage rules of S3's classes (not prices: the same in every region). Objects in the two Glacier classes carry
 * 40 KiB of index each, 32 KiB billed at the class's rate and 8 KiB at STANDARD's; the infrequent-access classes
 * bill at least 128 KiB per object; each class bills at least its minimum number of days per object.
 */
const CLASS_RULES: Record<string, { minimumDays: number; minimumBytes: number; indexBytes: number; standardIndexBytes: number }> = {
  STANDARD: { minimumDays: 0, minimumBytes: 0, indexBytes: 0, standardIndexBytes: 0 },
  INTELLIGENT_TIERING: { minimumDays: 0, minimumBytes: 0, indexBytes: 0, standardIndexBytes: 0 },
  STANDARD_IA: { minimumDays: 30, minimumBytes: 128 * 1024, indexBytes: 0, standardIndexBytes: 0 },
  ONEZONE_IA: { minimumDays: 30, minimumBytes: 128 * 1024, indexBytes: 0, standardIndexBytes: 0 },
  GLACIER_IR: { minimumDays: 90, minimumBytes: 128 * 1024, indexBytes: 0, standardIndexBytes: 0 },
  GLACIER: { minimumDays: 90, minimumBytes: 0, indexBytes: 32 * 1024, standardIndexBytes: 8 * 1024 },
  DEEP_ARCHIVE: { minimumDays: 180, minimumBytes: 0, indexBytes: 32 * 1024, standardIndexBytes: 8 * 1024 },
};

/** Intelligent-Tiering monitors (and bills) only objects of 128 KiB and more. */
const MONITORED_BYTES = 128 * 1024;

/** AWS's documented completion times of archive retrievals, in hours. */
export const TIER_WAIT_HOURS: Record<string, { min: number; max: number }> = {
  Expedited: { min: 1 / 60, max: 5 / 60 },
  Standard: { min: 3, max: 5 },
  Bulk: { min: 5, max: 12 },
};

export const SIZE_CLASSES = [
  { label: '0 B', below: 1 },
  { label: '< 64 KiB', below: 64 * 1024 },
  { label: '< 1 MiB', below: 1024 ** 2 },
  { label: '< 16 MiB', below: 16 * 1024 ** 2 },
  { label: '< 256 MiB', below: 256 * 1024 ** 2 },
  { label: '< 4 GiB', below: 4 * GIB },
  { label: '< 64 GiB', below: 64 * GIB },
  { label: '≥ 64 GiB', below: Number.POSITIVE_INFINITY },
] as const;

/** The archives a transfer will copy, as the bill sees them. */
export interface CopyWorkload {
  archives: number;
  bytes: number;
  /** PUT-class S3 requests: PutObject, or CreateMultipartUpload + UploadPart × parts + CompleteMultipartUpload */
  putRequests: number;
  /** Bytes billed each month at the class's rate, and at STANDARD's (the Glacier classes' per-object index) */
  billedBytes: number;
  billedStandardBytes: number;
  /** Objects Intelligent-Tiering monitors */
  monitoredObjects: number;
  /** Archives per size class of SIZE_CLASSES, in its order */
  histogram: { archives: number; bytes: number }[];
}

export class WorkloadCounter {
  readonly workload: CopyWorkload = {
    archives: 0,
    bytes: 0,
    putRequests: 0,
    billedBytes: 0,
    billedStandardBytes: 0,
    monitoredObjects: 0,
    histogram: SIZE_CLASSES.map(() => ({ archives: 0, bytes: 0 })),
  };
  private readonly rules;

  constructor(
    storageClass: string,
    private readonly partSize: number,
  ) {
    this.rules = CLASS_RULES[storageClass] ?? CLASS_RULES.STANDARD!;
  }

  add(size: number): void {
    const w = this.workload;
    w.archives++;
    w.bytes += size;
    const plan = planArchive(size, this.partSize);
    w.putRequests += plan.method === 'multipart' ? plan.partCount + 2 : 1;
    w.billedBytes += Math.max(size, this.rules.minimumBytes) + this.rules.indexBytes;
    w.billedStandardBytes += this.rules.standardIndexBytes;
    if (size >= MONITORED_BYTES) w.monitoredObjects++;
    const bucket = w.histogram[SIZE_CLASSES.findIndex((c) => size < c.below)]!;
    bucket.archives++;
    bucket.bytes += size;
  }
}

export interface CostLine {
  item: string;
  /** What is counted, e.g. "1,000 requests" or "GB" */
  quantity: number;
  unit: string;
  unitPrice: number;
  cost: number;
}

export interface CostEstimate {
  region: string;
  currency: string;
  pricesAsOf: string;
  /** Paid once for the copy */
  copy: CostLine[];
  copyTotal: number;
  /** Each month the copy is kept */
  monthly: CostLine[];
  monthlyTotal: number;
  /** Storage billed at least, however soon the objects are deleted */
  minimumDays: number;
  minimumStorage: number;
  /** Added to the copy when it runs outside AWS (Glacier to the internet) */
  transferOutsideAws: number;
}

export class NoPricesError extends Error {}

/** The bill of copying `workload`: retrievals and requests once, storage each month. GB are 2^30 bytes, as AWS bills. */
export function estimateCost(workload: CopyWorkload, o: { region: string; tier: string; storageClass: string }, prices: PriceTable): CostEstimate {
  const region = prices.regions[o.region];
  const retrieval = region?.glacierRetrieval[o.tier];
  const storage = region?.s3[o.storageClass];
  const standard = region?.s3.STANDARD;
  if (!region || !retrieval || !storage || !standard) {
    throw new NoPricesError(
      `no prices for ${o.tier} retrievals into ${o.storageClass} in ${o.region} in the price table of ${prices.asOf} (regions: ${Object.keys(prices.regions).join(', ')}); pass --prices FILE`,
    );
  }
  const gb = workload.bytes / GIB;
  const line = (item: string, quantity: number, unit: string, unitPrice: number): CostLine => ({ item, quantity, unit, unitPrice, cost: quantity * unitPrice });
  const copy = [
    line(`Glacier ${o.tier} retrieval requests`, workload.archives / 1000, '1,000 requests', retrieval.per1000Requests),
    line(`Glacier ${o.tier} retrieval`, gb, 'GB', retrieval.perGB),
    line(`S3 PUT-class requests at ${o.storageClass}`, workload.putRequests / 1000, '1,000 requests', storage.putPer1000),
  ];
  const monthly = [line(`S3 storage at ${o.storageClass}`, workload.billedBytes / GIB, 'GB-month', storage.storagePerGBMonth)];
  if (workload.billedStandardBytes > 0) monthly.push(line('S3 storage at STANDARD (per-object index)', workload.billedStandardBytes / GIB, 'GB-month', standard.storagePerGBMonth));
  if (storage.monitoringPer1000Objects) monthly.push(line('Intelligent-Tiering monitoring', workload.monitoredObjects / 1000, '1,000 objects', storage.monitoringPer1000Objects));
  const sum = (lines: CostLine[]) => lines.reduce((n, l) => n + l.cost, 0);
  const monthlyTotal = sum(monthly);
  const minimumDays = CLASS_RULES[o.storageClass]?.minimumDays ?? 0;
  return {
    region: o.region,
    currency: prices.currency,
    pricesAsOf: prices.asOf,
    copy,
    copyTotal: sum(copy),
    monthly,
    monthlyTotal,
    minimumDays,
    // AWS prorates the minimum by day over 30-day months.
    minimumStorage: (monthlyTotal * minimumDays) / 30,
    transferOutsideAws: gb * region.dataTransferOutPerGB,
  };
}

export interface DurationEstimate {
  /** The first retrievals' wait (AWS's documented range for the tier) */
  waitHours: { min: number; max: number };
  /** Copy time at the stated rates, after the first wait; later waits overlap with copying */
  copyHours: number;
  bytesPerSecond: number;
  archivesPerSecond: number;
}

/** How long the copy takes: one wait for the tier, then the copy at the slower of its two stated rates. */
export function estimateDuration(workload: CopyWorkload, tier: string, rates: { bytesPerSecond: number; archivesPerSecond: number }): DurationEstimate {
  const seconds = Math.max(workload.bytes / rates.bytesPerSecond, workload.archives / rates.archivesPerSecond);
  return { waitHours: TIER_WAIT_HOURS[tier] ?? TIER_WAIT_HOURS.Bulk!, copyHours: seconds / 3600, ...rates };
}
