/**
 * Retrieval pacing by time. A retrieval's output can be downloaded for a limited window (24 h on AWS) after
 * its job completes. Staged archives are copied longest-ready first, so an archive that becomes ready waits at
 * most for the copy of everything that was in flight (requested or staged) when it did. Keeping the predicted
 * copy time of everything in flight within a fraction of the window therefore keeps every output inside its
 * window, while letting as much be in flight as the copy can take: after the first Glacier wait, ready
 * archives never run out while some remain.
 */

/** What one archive's copy cost the tool, in tool time: its lane time divided by the lanes it shared. */
export interface CopyObservation {
  bytes: number;
  toolMs: number;
}

export interface CopyCostPrior {
  /** Tool milliseconds per archive, whatever its size */
  msPerArchive: number;
  /** Tool milliseconds per MiB */
  msPerMiB: number;
}

/**
 * Conservative until measured: 50 archives a second and 10 MiB/s. Underestimating the copy costs waiting (fewer
 * retrievals in flight than the copy could take); overestimating it costs money (outputs that expire are
 * requested, and paid, again), so the prior errs on the slow side.
 */
export const DEFAULT_PRIOR: CopyCostPrior = { msPerArchive: 20, msPerMiB: 100 };

/** The rate of bytes a prior assumes (`--expected-throughput`), in bytes a second. */
export function priorThroughput(prior: CopyCostPrior = DEFAULT_PRIOR): number {
  return (1000 * MIB) / prior.msPerMiB;
}

/** The default prior, but for the rate of bytes given in bytes a second. */
export function priorAtThroughput(bytesPerSecond: number): CopyCostPrior {
  return { ...DEFAULT_PRIOR, msPerMiB: (1000 * MIB) / bytesPerSecond };
}

const MIB = 1024 * 1024;
/**
 * Weight of the prior, in observations: it steers the first few and is soon outweighed. Being older than every
 * observation, it decays as they do.
 */
const PRIOR_WEIGHT = 4;
/** What remains of the prior for ever: it only decides the cost per MiB when the archives' sizes do not vary. */
const ANCHOR_WEIGHT = 0.1;
/** Each observation's weight decays by this factor per later observation (half-life ~700 archives). */
const DECAY = 0.999;

/** Weighted sums for a least-squares fit of cost = a + b × MiB. */
interface Sums {
  w: number;
  x: number;
  xx: number;
  y: number;
  xy: number;
}

/**
 * The copy cost of archives as `a + b × size` (tool milliseconds), fitted by weighted least squares over recent
 * archives, starting from a prior. Tool time is what an archive's copy took of the tool's capacity: the time it
 * held a lane (a slot of the archive or stream pool) divided by the number of such lanes, so that the sum over
 * archives copied back to back is the tool's wall time. The prior is pseudo-observations of archives of the sizes
 * measured (so that it weighs as much as that many of them, wherever they are: a fixed point far from them, such as
 * 64 MiB among archives of a few KiB, would outweigh thousands of measurements), plus a light anchor at no bytes
 * and twice their mean size that keeps the fit defined while every archive has the same size.
 */
export class CopyCostModel {
  private sums: Sums = { w: 0, x: 0, xx: 0, y: 0, xy: 0 };
  private observed = 0;

  constructor(private readonly prior: CopyCostPrior = DEFAULT_PRIOR) {}

  observe({ bytes, toolMs }: CopyObservation): void {
    const s = this.sums;
    for (const k of Object.keys(s) as (keyof Sums)[]) s[k] *= DECAY;
    const x = bytes / MIB;
    s.w += 1;
    s.x += x;
    s.xx += x * x;
    s.y += toolMs;
    s.xy += x * toolMs;
    this.observed++;
  }

  /** Archives observed so far (this run and earlier ones). */
  get observations(): number {
    return this.observed;
  }

  /** The fitted cost: tool milliseconds per archive and per MiB, never negative. */
  coefficients(): CopyCostPrior {
    const p = this.prior;
    const s = this.sums;
    if (!(s.w > 0)) return { ...p };
    const priorMs = (mib: number) => p.msPerArchive + p.msPerMiB * mib;
    // Mean size and mean squared size of the measured archives.
    const m1 = s.x / s.w;
    const m2 = s.xx / s.w;
    const k = PRIOR_WEIGHT * DECAY ** this.observed;
    const big = 2 * m1;
    const e = ANCHOR_WEIGHT / 2;
    const w = s.w + k + 2 * e;
    const x = s.x + k * m1 + e * big;
    const xx = s.xx + k * m2 + e * big * big;
    const y = s.y + k * priorMs(m1) + e * (priorMs(0) + priorMs(big));
    const xy = s.xy + k * (p.msPerArchive * m1 + p.msPerMiB * m2) + e * big * priorMs(big);
    const det = w * xx - x * x;
    let perMiB = det > 1e-12 * w * xx ? (w * xy - x * y) / det : p.msPerMiB;
    let perArchive = (y - perMiB * x) / w;
    if (perMiB < 0) {
      perMiB = 0;
      perArchive = y / w;
    } else if (perArchive < 0) {
      // No cost per archive shows: the line through the origin that still predicts what was measured (the fit at
      // the archives' mean size). Cutting the intercept alone would add its size to every prediction.
      perMiB = m1 > 0 ? Math.max(0, perArchive + perMiB * m1) / m1 : 0;
      perArchive = 0;
    }
    return { msPerArchive: perArchive, msPerMiB: perMiB };
  }

  /** Predicted tool milliseconds to copy `archives` archives holding `bytes` bytes. */
  costMs(archives: number, bytes: number): number {
    const c = this.coefficients();
    return archives * c.msPerArchive + (bytes / MIB) * c.msPerMiB;
  }

  /** Its measurements, to be stored with the transfer so that `resume` starts from them. */
  toJSON(): { sums: Sums; observed: number } {
    return { sums: { ...this.sums }, observed: this.observed };
  }

  static fromJSON(json: string | undefined, prior?: CopyCostPrior): CopyCostModel {
    const model = new CopyCostModel(prior);
    if (json) {
      try {
        const saved = JSON.parse(json) as Partial<ReturnType<CopyCostModel['toJSON']>> | null;
        const sums = readSums(saved?.sums);
        const observed = saved?.observed;
        if (sums && typeof observed === 'number' && Number.isSafeInteger(observed) && observed >= 0) {
          model.sums = sums;
          model.observed = observed;
        }
      } catch {
        // A model that cannot be read is measured again.
      }
    }
    return model;
  }
}

/** Saved sums, when every one is a number they can be (weights and sizes are never negative). */
function readSums(value: unknown): Sums | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const saved = value as Record<string, unknown>;
  const sums: Sums = { w: 0, x: 0, xx: 0, y: 0, xy: 0 };
  for (const k of Object.keys(sums) as (keyof Sums)[]) {
    const v = saved[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    sums[k] = v;
  }
  return sums.w >= 0 && sums.x >= 0 && sums.xx >= 0 ? sums : undefined;
}

export interface PacingLimits {
  /** How long a job's output can be downloaded (24 h on AWS) */
  outputWindowMs: number;
  /** Share of the window that in-flight work may fill; the rest is the margin for a model that is off */
  windowShare: number;
  /** The user's own caps (none by default) */
  maxJobs: number;
  maxBytes: number;
}

export const DEFAULT_WINDOW_SHARE = 0.75;

/**
 * Decides whether one more archive may be requested, given what is in flight (requested or staged, not yet
 * copied). One archive is always allowed when nothing is in flight, however long it takes: the copy must go on.
 */
export class RetrievalPacer {
  constructor(
    private readonly model: CopyCostModel,
    private readonly limits: PacingLimits,
  ) {}

  /** Tool milliseconds that in-flight work may add up to. */
  get budgetMs(): number {
    return this.limits.outputWindowMs * this.limits.windowShare;
  }

  allows(inFlight: { archives: number; bytes: number }, size: number): boolean {
    if (inFlight.archives === 0) return true;
    if (inFlight.archives + 1 > this.limits.maxJobs || inFlight.bytes + size > this.limits.maxBytes) return false;
    return this.model.costMs(inFlight.archives + 1, inFlight.bytes + size) <= this.budgetMs;
  }
}
