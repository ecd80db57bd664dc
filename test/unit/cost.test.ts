import { describe, expect, it } from 'vitest';
import { MIB } from '../../src/verify/tree-hash.js';
import { GIB } from '../../src/plan/chunks.js';
import { NoPricesError, WorkloadCounter, estimateCost, estimateDuration, loadPrices } from '../../src/plan/cost.js';

const prices = loadPrices();

describe('the cost of a copy (the worked example of the README, with the dated price table)', () => {
  it('1,000,000 archives of 10 MiB into DEEP_ARCHIVE with Bulk retrievals in us-east-1', () => {
    const counter = new WorkloadCounter('DEEP_ARCHIVE', 512 * MIB);
    for (let i = 0; i < 1_000_000; i++) counter.add(10 * MIB);
    const w = counter.workload;
    expect(w).toMatchObject({ archives: 1_000_000, bytes: 10_000_000 * MIB, putRequests: 1_000_000 });
    const cost = estimateCost(w, { region: 'us-east-1', tier: 'Bulk', storageClass: 'DEEP_ARCHIVE' }, prices);
    const cents = (n: number) => Math.round(n * 100) / 100;
    // 1,000 × $0.025 + 9,765.625 GB × $0.0025 + 1,000 × $0.05
    expect(cost.copy.map((l) => cents(l.cost))).toEqual([25, 24.41, 50]);
    expect(cents(cost.copyTotal)).toBe(99.41);
    // (10 MiB + 32 KiB) × 1M = 9,796.14 GB × $0.00099, and 8 KiB × 1M = 7.63 GB × $0.023 at STANDARD
    expect(cost.monthly.map((l) => cents(l.cost))).toEqual([9.7, 0.18]);
    expect(cents(cost.monthlyTotal)).toBe(9.87);
    expect(cost.minimumDays).toBe(180);
    expect(cents(cost.minimumStorage)).toBe(59.24);
    expect(cents(cost.transferOutsideAws)).toBe(878.91);

    const duration = estimateDuration(w, 'Bulk', { bytesPerSecond: 10 * MIB, archivesPerSecond: 100 });
    expect(duration.waitHours).toEqual({ min: 5, max: 12 });
    expect(duration.copyHours).toBeCloseTo(1_000_000 / 3600, 6); // 10 TB at 10 MiB/s: the bytes, not the count, decide
  });

  it('counts parts of large archives, the 128 KiB minimum of the infrequent-access classes, and the size histogram', () => {
    const counter = new WorkloadCounter('GLACIER_IR', 512 * MIB);
    counter.add(0);
    counter.add(1000);
    counter.add(GIB); // two parts of 512 MiB: create + 2 parts + complete
    counter.add(GIB + 1); // three parts
    const w = counter.workload;
    expect(w.putRequests).toBe(1 + 1 + 4 + 5);
    expect(w.billedBytes).toBe(2 * 128 * 1024 + GIB + GIB + 1);
    expect(w.billedStandardBytes).toBe(0);
    expect(w.histogram.map((h) => h.archives)).toEqual([1, 1, 0, 0, 0, 2, 0, 0]);
  });

  it('says which regions it has prices for, instead of guessing', () => {
    const w = new WorkloadCounter('DEEP_ARCHIVE', 512 * MIB).workload;
    expect(() => estimateCost(w, { region: 'ap-south-2', tier: 'Bulk', storageClass: 'DEEP_ARCHIVE' }, prices)).toThrow(NoPricesError);
    expect(() => estimateCost(w, { region: 'ap-south-2', tier: 'Bulk', storageClass: 'DEEP_ARCHIVE' }, prices)).toThrow(/pass --prices FILE/);
  });
});
