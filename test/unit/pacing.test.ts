import { describe, expect, it } from 'vitest';
import { CopyCostModel, DEFAULT_PRIOR, DEFAULT_WINDOW_SHARE, RetrievalPacer, type CopyCostPrior, type PacingLimits } from '../../src/retrieve/pacing.js';
import { seededRandom } from '../../src/sim/random.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const HOUR = 3600_000;


/** Sizes in MiB spread evenly on a log scale between `lo` and `hi`, as archive sizes of real vaults are. */
function logUniform(random: () => number, lo: number, hi: number): number {
  return lo * Math.exp(random() * Math.log(hi / lo));
}

function trueCost(c: CopyCostPrior, bytes: number): number {
  return c.msPerArchive + (bytes / MIB) * c.msPerMiB;
}

function feed(model: CopyCostModel, n: number, truth: CopyCostPrior, size: () => number): void {
  for (let i = 0; i < n; i++) {
    const bytes = Math.round(size() * MIB);
    model.observe({ bytes, toolMs: trueCost(truth, bytes) });
  }
}

const within = (actual: number, expected: number, relative: number) => expect(Math.abs(actual - expected)).toBeLessThanOrEqual(Math.abs(expected) * relative);

describe('the copy cost model', () => {
  it('predicts what the prior says until an archive has been copied', () => {
    const model = new CopyCostModel();
    expect(model.observations).toBe(0);
    expect(model.coefficients().msPerArchive).toBeCloseTo(DEFAULT_PRIOR.msPerArchive, 6);
    expect(model.coefficients().msPerMiB).toBeCloseTo(DEFAULT_PRIOR.msPerMiB, 6);
    for (const [archives, bytes] of [[1, 0], [1, MIB], [10, 640 * MIB], [1000, 3 * GIB]] as const) {
      expect(model.costMs(archives, bytes)).toBeCloseTo(archives * DEFAULT_PRIOR.msPerArchive + (bytes / MIB) * DEFAULT_PRIOR.msPerMiB, 3);
    }
    const custom = new CopyCostModel({ msPerArchive: 7, msPerMiB: 3 });
    expect(custom.costMs(4, 10 * MIB)).toBeCloseTo(4 * 7 + 10 * 3, 6);
  });

  it.each([
    // per-archive cost, per-MiB cost, archive sizes (MiB)
    ['large archives on a fast link', { msPerArchive: 300, msPerMiB: 5 }, [1, 4096]],
    ['archives of a few MiB', { msPerArchive: 30, msPerMiB: 8 }, [0.1, 100]],
    ['millions of small archives, where the per-archive cost dominates', { msPerArchive: 5, msPerMiB: 1 }, [0.01, 4]],
    ['tiny archives copied 64 at a time', { msPerArchive: 0.5, msPerMiB: 0.2 }, [0.001, 1]],
  ] as const)('learns the measured cost of copying %s, whatever the prior said', (_, truth, [lo, hi]) => {
    const model = new CopyCostModel();
    const random = seededRandom(1);
    feed(model, 5000, truth, () => logUniform(random, lo, hi));
    const c = model.coefficients();
    within(c.msPerArchive, truth.msPerArchive, 0.1);
    within(c.msPerMiB, truth.msPerMiB, 0.1);
    // What the pacer asks: the cost of a batch of archives like the ones measured.
    for (const mib of [lo, Math.sqrt(lo * hi), hi]) within(model.costMs(100, 100 * mib * MIB), 100 * trueCost(truth, mib * MIB), 0.1);
  });

  it('predicts the measured cost of archives that are all the same size, faster or slower than the prior', () => {
    for (const [mib, ms] of [[8, 40], [1, 5], [0.1, 2], [1, 500], [64, 200]] as const) {
      const model = new CopyCostModel();
      feed(model, 3000, { msPerArchive: ms, msPerMiB: 0 }, () => mib);
      within(model.costMs(1, mib * MIB), ms, 0.05);
      within(model.costMs(1000, 1000 * mib * MIB), 1000 * ms, 0.05);
    }
  });

  it('keeps the prior\'s cost per MiB for other sizes when every measured archive has one size', () => {
    // 1 MiB archives that cost 500 ms say nothing of what another size costs: the prior's slope stands.
    const model = new CopyCostModel();
    feed(model, 3000, { msPerArchive: 500, msPerMiB: 0 }, () => 1);
    within(model.costMs(1, MIB), 500, 0.02);
    within(model.costMs(1, 65 * MIB) - model.costMs(1, MIB), 64 * DEFAULT_PRIOR.msPerMiB, 0.15);
    expect(model.costMs(1, 65 * MIB)).toBeGreaterThan(model.costMs(1, MIB));
  });

  it('follows a change of speed: older measurements fade', () => {
    const model = new CopyCostModel();
    const random = seededRandom(2);
    const before = { msPerArchive: 50, msPerMiB: 10 };
    const after = { msPerArchive: 100, msPerMiB: 40 };
    feed(model, 3000, before, () => logUniform(random, 1, 256));
    within(model.costMs(1, 64 * MIB), trueCost(before, 64 * MIB), 0.05);
    feed(model, 3000, after, () => logUniform(random, 1, 256));
    within(model.costMs(1, 64 * MIB), trueCost(after, 64 * MIB), 0.1);
    within(model.costMs(1, MIB), trueCost(after, MIB), 0.15);
    // A few hundred archives at the new speed already move most of the way.
    const again = new CopyCostModel();
    feed(again, 3000, after, () => logUniform(random, 1, 256));
    feed(again, 700, before, () => logUniform(random, 1, 256));
    const midway = again.costMs(1, 64 * MIB);
    expect(midway).toBeLessThan((trueCost(before, 64 * MIB) + trueCost(after, 64 * MIB)) / 2 + 0.1 * trueCost(after, 64 * MIB));
  });

  it('never predicts a negative cost, whatever it measured', () => {
    const cases: { truth: CopyCostPrior; lo: number; hi: number }[] = [
      // Costs that fall with size (a cache that favours big reads) and costs far below the prior.
      { truth: { msPerArchive: 400, msPerMiB: -5 }, lo: 1, hi: 64 },
      { truth: { msPerArchive: -50, msPerMiB: 10 }, lo: 10, hi: 100 },
      { truth: { msPerArchive: 0, msPerMiB: 0.01 }, lo: 0.001, hi: 0.01 },
    ];
    for (const { truth, lo, hi } of cases) {
      const model = new CopyCostModel();
      const random = seededRandom(3);
      for (let i = 0; i < 2000; i++) {
        const bytes = Math.round(logUniform(random, lo, hi) * MIB);
        model.observe({ bytes, toolMs: Math.max(0, trueCost(truth, bytes)) });
        if (i % 100 === 0) {
          const c = model.coefficients();
          expect(c.msPerArchive).toBeGreaterThanOrEqual(0);
          expect(c.msPerMiB).toBeGreaterThanOrEqual(0);
        }
      }
      for (const mib of [0, lo, hi, 1024]) expect(model.costMs(1, mib * MIB)).toBeGreaterThanOrEqual(0);
    }
  });

  it('is saved with the transfer and resumed with what it measured', () => {
    const model = new CopyCostModel();
    const random = seededRandom(4);
    feed(model, 500, { msPerArchive: 12, msPerMiB: 3 }, () => logUniform(random, 0.1, 100));
    const saved = JSON.stringify(model);
    const restored = CopyCostModel.fromJSON(saved);
    expect(restored.observations).toBe(500);
    expect(restored.coefficients()).toEqual(model.coefficients());
    // And it goes on learning from where it was.
    model.observe({ bytes: 5 * MIB, toolMs: 30 });
    restored.observe({ bytes: 5 * MIB, toolMs: 30 });
    expect(restored.costMs(3, 70 * MIB)).toBeCloseTo(model.costMs(3, 70 * MIB), 9);
  });

  it('starts again from the prior when the saved model cannot be read', () => {
    const prior = { msPerArchive: 20, msPerMiB: 100 };
    const saved = JSON.stringify(new CopyCostModel());
    for (const json of [
      undefined,
      '',
      '{"sums":{"w":3,"x":',
      'null',
      '42',
      '{}',
      '{"sums":null}',
      '{"sums":{"w":"many","x":1,"xx":1,"y":1,"xy":1},"observed":1}',
      '{"sums":{"w":1},"observed":3}',
      '{"sums":5,"observed":3}',
      '{"sums":{"w":1e400,"x":1,"xx":1,"y":1,"xy":1},"observed":1}',
      '{"sums":{"w":-5,"x":1,"xx":1,"y":1,"xy":1},"observed":1}',
      saved.replace('"observed":0', '"observed":"lots"'),
    ]) {
      const model = CopyCostModel.fromJSON(json, prior);
      expect(model.coefficients(), String(json)).toEqual(prior);
      expect(model.costMs(10, 10 * MIB), String(json)).toBeCloseTo(10 * 20 + 10 * 100, 6);
      expect(Number.isFinite(model.observations), String(json)).toBe(true);
    }
  });
});

describe('retrieval pacing', () => {
  const window: PacingLimits = { outputWindowMs: 24 * HOUR, windowShare: DEFAULT_WINDOW_SHARE, maxJobs: Infinity, maxBytes: Infinity };

  /** How many archives of `size` bytes are requested, one after another, before the pacer says no. */
  function admitted(pacer: RetrievalPacer, size: number, max = 10_000_000): number {
    const inFlight = { archives: 0, bytes: 0 };
    while (inFlight.archives < max && pacer.allows(inFlight, size)) {
      inFlight.archives++;
      inFlight.bytes += size;
    }
    return inFlight.archives;
  }

  it('always requests one archive when nothing is in flight, however long its copy takes and whatever the caps', () => {
    const pacer = new RetrievalPacer(new CopyCostModel(), { outputWindowMs: 1000, windowShare: 0.5, maxJobs: 1, maxBytes: MIB });
    expect(pacer.allows({ archives: 0, bytes: 0 }, 40 * 1024 * GIB)).toBe(true);
    expect(pacer.allows({ archives: 1, bytes: 1 }, 1)).toBe(false);
  });

  it('keeps the predicted copy time of everything in flight within its share of the output window', () => {
    const model = new CopyCostModel();
    const pacer = new RetrievalPacer(model, { ...window, outputWindowMs: 1000_000 });
    expect(pacer.budgetMs).toBe(1000_000 * DEFAULT_WINDOW_SHARE);
    // 1 MiB archives cost 120 ms by the prior: 6,250 fill 750 s exactly.
    expect(admitted(pacer, MIB)).toBe(6250);
    expect(pacer.allows({ archives: 6249, bytes: 6249 * MIB }, MIB)).toBe(true);
    expect(pacer.allows({ archives: 6250, bytes: 6250 * MIB }, MIB)).toBe(false);
    // Mixed sizes: the set in flight fits, one more would not.
    const random = seededRandom(5);
    const inFlight = { archives: 0, bytes: 0 };
    let next = Math.round(logUniform(random, 0.01, 2000) * MIB);
    while (pacer.allows(inFlight, next)) {
      inFlight.archives++;
      inFlight.bytes += next;
      next = Math.round(logUniform(random, 0.01, 2000) * MIB);
    }
    expect(inFlight.archives).toBeGreaterThan(1);
    expect(model.costMs(inFlight.archives, inFlight.bytes)).toBeLessThanOrEqual(pacer.budgetMs);
    expect(model.costMs(inFlight.archives + 1, inFlight.bytes + next)).toBeGreaterThan(pacer.budgetMs);
  });

  it('keeps to the user\'s caps on jobs and bytes in flight', () => {
    const fast = new CopyCostModel({ msPerArchive: 0.001, msPerMiB: 0.001 });
    expect(admitted(new RetrievalPacer(fast, { ...window, maxJobs: 17 }), MIB)).toBe(17);
    expect(admitted(new RetrievalPacer(fast, { ...window, maxBytes: 10 * MIB }), 3 * MIB)).toBe(3);
    expect(new RetrievalPacer(fast, { ...window, maxBytes: 10 * MIB }).allows({ archives: 2, bytes: 6 * MIB }, 4 * MIB)).toBe(true);
    expect(new RetrievalPacer(fast, { ...window, maxBytes: 10 * MIB }).allows({ archives: 2, bytes: 6 * MIB }, 4 * MIB + 1)).toBe(false);
    // Both caps and the window: the tightest wins.
    expect(admitted(new RetrievalPacer(new CopyCostModel(), { ...window, outputWindowMs: 1000_000, maxJobs: 100_000, maxBytes: 7000 * MIB }), MIB)).toBe(6250);
  });

  it('requests fewer archives when the copy does not keep up, and more when it goes faster than assumed', () => {
    const model = new CopyCostModel();
    const pacer = new RetrievalPacer(model, window);
    const inFlight = { archives: 2000, bytes: 2000 * 64 * MIB };
    const before = admitted(pacer, 64 * MIB);
    expect(pacer.allows(inFlight, 64 * MIB)).toBe(true);
    const random = seededRandom(6);
    // Measured: 64 MiB archives take 60 s of the tool each (about 1 MiB/s), far slower than the prior's 10 MiB/s.
    feed(model, 300, { msPerArchive: 1000, msPerMiB: 900 }, () => logUniform(random, 16, 256));
    const slower = admitted(pacer, 64 * MIB);
    expect(slower).toBeLessThan(before / 5);
    expect(pacer.allows(inFlight, 64 * MIB)).toBe(false);
    // Then the copy speeds up (more bandwidth): more may be requested again.
    feed(model, 5000, { msPerArchive: 100, msPerMiB: 2 }, () => logUniform(random, 16, 256));
    expect(admitted(pacer, 64 * MIB)).toBeGreaterThan(before * 10);
  });

  /**
   * A copy over time: archives are requested in inventory order as the pacer allows, each becomes ready a
   * Bulk-like 5–12 h later, and one copy (the tool's whole capacity) takes them longest-ready first at a fixed
   * true cost, telling the model what each cost. Returns when each archive became ready and was copied.
   */
  function simulate(o: { archives: number[]; truth: CopyCostPrior; windowMs: number; delayMs: [number, number]; seed: number; prior?: CopyCostPrior }) {
    const random = seededRandom(o.seed);
    const model = new CopyCostModel(o.prior);
    const pacer = new RetrievalPacer(model, { outputWindowMs: o.windowMs, windowShare: DEFAULT_WINDOW_SHARE, maxJobs: Infinity, maxBytes: Infinity });
    // A binary heap of requested archives by ready time.
    const heap: { readyAt: number; size: number }[] = [];
    const push = (item: { readyAt: number; size: number }) => {
      heap.push(item);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (heap[parent]!.readyAt <= heap[i]!.readyAt) break;
        [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
        i = parent;
      }
    };
    const pop = () => {
      const top = heap[0]!;
      const last = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < heap.length && heap[l]!.readyAt < heap[m]!.readyAt) m = l;
          if (r < heap.length && heap[r]!.readyAt < heap[m]!.readyAt) m = r;
          if (m === i) break;
          [heap[m], heap[i]] = [heap[i]!, heap[m]!];
          i = m;
        }
      }
      return top;
    };
    const inFlight = { archives: 0, bytes: 0 };
    let next = 0;
    let now = 0;
    const request = () => {
      while (next < o.archives.length && pacer.allows(inFlight, o.archives[next]!)) {
        const size = o.archives[next++]!;
        push({ readyAt: now + o.delayMs[0] + random() * (o.delayMs[1] - o.delayMs[0]), size });
        inFlight.archives++;
        inFlight.bytes += size;
      }
    };
    let firstReady = Infinity;
    let idleAfterFirstReady = 0;
    let maxStagedMs = 0;
    let totalCopyMs = 0;
    request();
    while (heap.length > 0) {
      const archive = pop();
      firstReady = Math.min(firstReady, archive.readyAt);
      if (archive.readyAt > now && now > firstReady) idleAfterFirstReady += archive.readyAt - now;
      now = Math.max(now, archive.readyAt);
      const cost = trueCost(o.truth, archive.size);
      now += cost;
      totalCopyMs += cost;
      maxStagedMs = Math.max(maxStagedMs, now - archive.readyAt);
      model.observe({ bytes: archive.size, toolMs: cost });
      inFlight.archives--;
      inFlight.bytes -= archive.size;
      request();
    }
    return { requested: next, endMs: now, firstReady, idleAfterFirstReady, maxStagedMs, totalCopyMs };
  }

  it('keeps every staged archive within the output window and the copy busy after the first wait (large archives, 24 h window)', () => {
    const random = seededRandom(7);
    // 60,000 archives of 1 MiB–1 GiB (150 MiB on average): over two days of copying at 50 MiB/s, more than two
    // windows, where the prior assumed 10 MiB/s.
    const archives = Array.from({ length: 60_000 }, () => Math.round(logUniform(random, 1, 1024) * MIB));
    const truth = { msPerArchive: 300, msPerMiB: 20 };
    const r = simulate({ archives, truth, windowMs: 24 * HOUR, delayMs: [5 * HOUR, 12 * HOUR], seed: 8 });
    expect(r.requested).toBe(archives.length);
    expect(r.totalCopyMs).toBeGreaterThan(2 * 24 * HOUR);
    expect(r.maxStagedMs).toBeLessThanOrEqual(24 * HOUR);
    // One Bulk wait, then the copy: it runs out of ready archives only while the first requests come in.
    expect(r.endMs).toBeLessThanOrEqual(12 * HOUR + r.totalCopyMs + 0.5 * HOUR);
    expect(r.idleAfterFirstReady).toBeLessThan(7 * HOUR);
  });

  it('keeps every staged archive within the output window and the copy busy after the first wait (millions of small archives)', () => {
    const random = seededRandom(9);
    // 200,000 archives of 10 KiB–4 MiB at 5 ms + 1 ms/MiB: about 25 minutes of copying; the window (and the
    // Glacier wait with it) scaled down so that the copy takes three windows, as 6 million of them would take.
    const archives = Array.from({ length: 200_000 }, () => Math.round(logUniform(random, 0.01, 4) * MIB));
    const truth = { msPerArchive: 5, msPerMiB: 1 };
    const totalMs = archives.reduce((t, size) => t + trueCost(truth, size), 0);
    const windowMs = totalMs / 3;
    const r = simulate({ archives, truth, windowMs, delayMs: [(5 / 24) * windowMs, (12 / 24) * windowMs], seed: 10 });
    expect(r.requested).toBe(archives.length);
    expect(r.maxStagedMs).toBeLessThanOrEqual(windowMs);
    expect(r.endMs).toBeLessThanOrEqual((12 / 24) * windowMs + r.totalCopyMs + windowMs / 48);
  });
});
