/**
 * A request-rate limit in wall-clock time (rates are about real requests, not simulated hours): `perSecond`
 * tokens a second, at most `burst` saved up, one taken per request allowed.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();
  /** Requests refused so far */
  refused = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError(`rate limit needs a positive rate and a burst of at least 1`);
    this.tokens = burst;
  }

  /** Takes a token if there is one; false (and counted) when the request is over the limit. */
  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    this.refused++;
    return false;
  }
}
