/**
 * A per-second rate over the last SAMPLES samples of a growing total, as Redis computes
 * instantaneous_ops_per_sec and instantaneous_input_kbps (server.c trackInstantaneousMetric,
 * sampled every 100 ms): each sample is the growth since the previous one per second; the rate
 * is their mean. A total that went down (CONFIG RESETSTAT) counts as no growth.
 */
const SAMPLES = 16;

export class InstantaneousRate {
  private readonly read: () => number;
  private readonly samples: number[] = [];
  private last: number;
  private lastAt: number;

  /** `now`: the time of the first reading (ms, on the clock sample() is given). */
  constructor(read: () => number, now: number) {
    this.read = read;
    this.last = read();
    this.lastAt = now;
  }

  /** Takes a sample at `now` (ms, monotonic); returns the rate. */
  sample(now: number): number {
    if (now > this.lastAt) {
      const total = this.read();
      this.samples.push((Math.max(0, total - this.last) * 1000) / (now - this.lastAt));
      if (this.samples.length > SAMPLES) this.samples.shift();
      this.last = total;
      this.lastAt = now;
    }
    return this.samples.length === 0 ? 0 : this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
  }
}
