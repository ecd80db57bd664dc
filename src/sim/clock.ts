/**
 * Simulated time: runs `scale` times faster than wall time from the moment the simulator starts, so that a
 * Bulk job's hours and a 24 h output window pass in seconds. Everything time-dependent in the simulator asks
 * this clock, never Date.now().
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SimClock {
  private readonly realStart = Date.now();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly scale = 1) {
    if (!(scale > 0)) throw new RangeError(`time scale must be positive, got ${scale}`);
  }

  /** Simulated epoch milliseconds. */
  nowMs(): number {
    return this.realStart + (Date.now() - this.realStart) * this.scale;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  /** Runs `fn` once `simulatedMs` of simulated time have passed. */
  after(simulatedMs: number, fn: () => void): void {
    this.afterReal(Math.max(0, simulatedMs / this.scale), fn);
  }

  private afterReal(ms: number, fn: () => void): void {
    // Node fires a timer longer than 2^31-1 ms at once: wait in steps instead.
    const step = Math.min(ms, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (ms > step) this.afterReal(ms - step, fn);
      else fn();
    }, step);
    timer.unref();
    this.timers.add(timer);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
