/**
 * Bytes retrieved within a sliding window of simulated time, for the BytesPerHour data retrieval policy: a queue
 * with a running total, so that a check costs O(1) amortized however many jobs were initiated in the hour.
 */
export class RecentRetrievals {
  private entries: { atMs: number; bytes: number }[] = [];
  private head = 0;
  private total = 0;

  constructor(private readonly windowMs: number) {}

  add(atMs: number, bytes: number): void {
    this.entries.push({ atMs, bytes });
    this.total += bytes;
  }

  /** Bytes retrieved in the window that ends at `nowMs`. */
  bytesUntil(nowMs: number): number {
    while (this.head < this.entries.length && this.entries[this.head]!.atMs < nowMs - this.windowMs) {
      this.total -= this.entries[this.head++]!.bytes;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    return this.total;
  }
}
