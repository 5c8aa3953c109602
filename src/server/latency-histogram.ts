/**
 * Command latency histograms, as Redis 7 keeps one per command for INFO latencystats and LATENCY
 * HISTOGRAM (server.c updateCommandLatencyHistogram). Redis records into an HdrHistogram of
 * nanoseconds from 1 to 10^9 at 2 significant digits; this is that histogram's layout, so the
 * figures read exactly as Redis's do: bucket keys 1, 2, 4, 8, 16, 33, 66 … µs and percentiles
 * such as p50=1.003 (HdrHistogram_c hdr_histogram.c: counts_index, highest_equivalent_value,
 * hdr_value_at_percentile, and the log iterator LATENCY HISTOGRAM walks from 1024 ns by 2).
 *
 * Values below 2^SUB_BITS ns are counted one by one; above, each power-of-two range is split into
 * HALF sub-buckets, so a value is known to within 1/HALF of itself.
 */

/** log2 of the sub-buckets per power-of-two range: 256 covers 2 significant digits (2 × 10^2 ≤ 2^8). */
const SUB_BITS = 8;
const SUB_COUNT = 1 << SUB_BITS;
/** The upper half of a range's sub-buckets, the only ones in use past the first range. */
const HALF_BITS = SUB_BITS - 1;
const HALF = 1 << HALF_BITS;
/** Redis's LATENCY_HISTOGRAM_MIN_VALUE and _MAX_VALUE, in ns: shorter and longer durations count as these. */
export const LATENCY_MIN_NS = 1;
export const LATENCY_MAX_NS = 1_000_000_000;
/** Ranges past the first until one reaches LATENCY_MAX_NS: SUB_COUNT << RANGES > 10^9. */
const RANGES = Math.ceil(Math.log2(LATENCY_MAX_NS / SUB_COUNT + 1));
/** Counts per histogram (HdrHistogram counts_len). */
export const HISTOGRAM_LEN = (RANGES + 2) * HALF;
/** LATENCY HISTOGRAM's buckets: the first ends at 1024 ns, each next one twice as far. */
const FIRST_BUCKET_NS = 1024;

/** The range of a value: 0 below SUB_COUNT, else how many doublings past it. */
function rangeOf(ns: number): number {
  return Math.max(0, 31 - Math.clz32(ns) - HALF_BITS);
}

/** The count index of a value in [LATENCY_MIN_NS, LATENCY_MAX_NS]. */
function indexOf(ns: number): number {
  const r = rangeOf(ns);
  return ((r + 1) << HALF_BITS) + (ns >>> r) - HALF;
}

/** The lowest value counted at index i. */
function lowestAt(i: number): number {
  const r = (i >>> HALF_BITS) - 1;
  if (r < 0) return i;
  return ((i & (HALF - 1)) + HALF) * 2 ** r;
}

/** The highest value counted at index i (HdrHistogram highest_equivalent_value); a bucket spans 2^range values. */
function highestAt(i: number): number {
  return lowestAt(i) + 2 ** Math.max(0, (i >>> HALF_BITS) - 1) - 1;
}

export function newHistogram(): Float64Array {
  return new Float64Array(HISTOGRAM_LEN);
}

/** A duration in µs as the whole ns recordLatency takes, clamped to LATENCY_MAX_NS (so it fits an int32). */
export function latencyNs(us: number): number {
  return us < LATENCY_MAX_NS / 1000 ? (us * 1000 + 0.5) | 0 : LATENCY_MAX_NS;
}

/** Counts `n` commands that took `ns` (latencyNs) each. */
export function recordLatency(h: Float64Array, ns: number, n: number): void {
  const i = indexOf(ns < LATENCY_MIN_NS ? LATENCY_MIN_NS : ns);
  h[i] = h[i]! + n;
}

export function histogramTotal(h: Float64Array): number {
  let t = 0;
  for (let i = 0; i < h.length; i++) t += h[i]!;
  return t;
}

/** The nonzero counts as [index, count, index, count …]: what crosses threads (INFO, LATENCY HISTOGRAM). */
export function sparseHistogram(h: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) out.push(i, h[i]!);
  return out;
}

/** Adds a sparseHistogram() into `h`. */
export function addSparse(h: Float64Array, sparse: readonly number[]): void {
  for (let k = 0; k + 1 < sparse.length; k += 2) h[sparse[k]!]! += sparse[k + 1]!;
}

/**
 * The value at percentile `p` (0 to 100), in ns: the highest value counted with the value that
 * the (p/100 × total, rounded)th smallest count holds; at p = 0 the lowest one.
 */
export function valueAtPercentile(h: Float64Array, total: number, p: number): number {
  const wanted = Math.max(1, Math.trunc((Math.min(p, 100) / 100) * total + 0.5));
  let seen = 0;
  let i = 0;
  for (; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= wanted) break;
  }
  if (i === h.length) return 0;
  return p === 0 ? lowestAt(i) : highestAt(i);
}

/**
 * LATENCY HISTOGRAM's buckets: [upper bound in µs, commands at or under it], for each bucket that
 * added commands. The last bucket starts at 2^29 ns; as in Redis, commands slower than its end
 * (541 ms) are counted in `calls` only.
 */
export function cumulativeBuckets(h: Float64Array, total: number): [number, number][] {
  const out: [number, number][] = [];
  let seen = 0;
  let i = 0;
  for (let level = FIRST_BUCKET_NS; seen < total && level <= LATENCY_MAX_NS; level *= 2) {
    const last = indexOf(level);
    const before = seen;
    for (; i <= last; i++) seen += h[i]!;
    if (seen > before) out.push([Math.floor(highestAt(last) / 1000), seen]);
  }
  return out;
}

/** A percentile as Redis prints it in INFO and CONFIG GET: "%f" without its trailing zeros. */
export function percentileLabel(p: number): string {
  return String(Number(p.toFixed(6)));
}
