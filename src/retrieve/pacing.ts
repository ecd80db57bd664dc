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

const MIB = 1024 * 1024;
/** Weight of the prior, in observations: it steers the first few and is soon outweighed. */
const PRIOR_WEIGHT = 4;
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
 * archives copied back to back is the tool's wall time. The prior is two pseudo-observations (a tiny archive and
 * a 64 MiB one) that keep the fit defined while every archive has the same size.
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
    const big = 64;
    // The prior as pseudo-observations at 0 and 64 MiB, each of weight PRIOR_WEIGHT / 2.
    const h = PRIOR_WEIGHT / 2;
    const w = this.sums.w + PRIOR_WEIGHT;
    const x = this.sums.x + h * big;
    const xx = this.sums.xx + h * big * big;
    const y = this.sums.y + h * p.msPerArchive + h * (p.msPerArchive + p.msPerMiB * big);
    const xy = this.sums.xy + h * big * (p.msPerArchive + p.msPerMiB * big);
    const det = w * xx - x * x;
    let perMiB = det > 1e-12 ? (w * xy - x * y) / det : p.msPerMiB;
    perMiB = Math.max(perMiB, 0);
    const perArchive = Math.max((y - perMiB * x) / w, 0);
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
        const saved = JSON.parse(json) as ReturnType<CopyCostModel['toJSON']>;
        if (saved.sums && Object.values(saved.sums).every((v) => Number.isFinite(v))) {
          model.sums = { ...saved.sums };
          model.observed = saved.observed;
        }
      } catch {
        // A model that cannot be read is measured again.
      }
    }
    return model;
  }
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
