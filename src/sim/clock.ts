/**
 * Simulated time: runs `scale` times faster than wall time from the moment the simulator starts, so that a
 * Bulk job's hours and a 24 h output window pass in seconds. Everything time-dependent in the simulator asks
 * this clock, never Date.now().
 */
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
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, Math.max(0, simulatedMs / this.scale));
    timer.unref();
    this.timers.add(timer);
  }

  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
