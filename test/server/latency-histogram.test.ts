/**
 * The latency histogram's figures (src/server/latency-histogram.ts) against what redis-server 7.0
 * replied for the same durations: LATENCY HISTOGRAM's bucket keys and INFO latencystats's
 * percentiles are HdrHistogram's equivalent-value bounds, so they must come out digit for digit.
 */
import { describe, expect, it } from 'vitest';
import { addSparse, cumulativeBuckets, histogramTotal, latencyNs, newHistogram, percentileLabel, recordLatency as recordNs, sparseHistogram, valueAtPercentile } from '../../src/server/latency-histogram.ts';

/** Counts `n` runs of `us` µs each, converted as the server converts them. */
const recordLatency = (h: Float64Array, us: number, n: number) => recordNs(h, latencyNs(us), n);

/** µs as INFO latencystats prints a percentile's value. */
const at = (h: Float64Array, p: number) => (valueAtPercentile(h, histogramTotal(h), p) / 1000).toFixed(3);

describe('latency histogram', () => {
  it('percentiles are the bounds Redis prints: p0 the lowest equivalent value, others the highest', () => {
    // redis-server: a 3 µs FLUSHDB read p0=2.992,p100=3.007,p50.5=3.007; CONFIG RESETSTAT 630.783.
    const h = newHistogram();
    recordLatency(h, 3, 1);
    expect([at(h, 0), at(h, 50.5), at(h, 100)]).toEqual(['2.992', '3.007', '3.007']);
    for (const [us, shown] of [[1, '1.003'], [16, '16.063'], [47, '47.103'], [630.5, '630.783'], [0, '0.001']] as const) {
      const g = newHistogram();
      recordLatency(g, us, 1);
      expect(at(g, 50), String(us)).toBe(shown);
    }
    // 1..100 µs once each: the median is the 50th value's bucket; p99 the 99th's.
    const u = newHistogram();
    for (let i = 1; i <= 100; i++) recordLatency(u, i, 1);
    expect([at(u, 50), at(u, 99), at(u, 99.9)]).toEqual(['50.175', '99.327', '100.351']);
  });

  it('LATENCY HISTOGRAM buckets: keys 1, 2, 4 … 33, 66, 132 … µs, cumulative, only where commands were added', () => {
    // What redis-server gave after redis-benchmark's SETs (calls 20002), bucket for bucket.
    const h = newHistogram();
    for (const [us, n] of [[0, 19926], [2, 4], [4, 4], [8, 1], [16, 51], [32, 13], [64, 1], [128, 2]] as const) recordLatency(h, us, n);
    expect(cumulativeBuckets(h, histogramTotal(h))).toEqual([[1, 19926], [2, 19930], [4, 19934], [8, 19935], [16, 19986], [33, 19999], [66, 20000], [132, 20002]]);
    // A gap leaves its buckets out; 1.05 ms lands in Redis's 1056 bucket.
    const g = newHistogram();
    recordLatency(g, 3, 1);
    recordLatency(g, 1048.576, 1);
    expect(cumulativeBuckets(g, 2)).toEqual([[4, 1], [1056, 2]]);
  });

  it('durations past 1 s count as 1 s, in calls but in no bucket (the last bucket ends at 541 ms), as in Redis', () => {
    const h = newHistogram();
    recordLatency(h, 1, 1);
    recordLatency(h, 400_000, 1);
    recordLatency(h, 5_000_000, 1);
    expect(histogramTotal(h)).toBe(3);
    expect(cumulativeBuckets(h, 3)).toEqual([[1, 1], [541065, 2]]);
    expect(at(h, 100)).toBe('1002438.655');
  });

  it('sparse form: what crosses threads adds up to the histograms it came from', () => {
    const a = newHistogram();
    const b = newHistogram();
    for (let i = 0; i < 500; i++) recordLatency(i % 2 === 0 ? a : b, (i * 37) % 2000, 1);
    const sum = newHistogram();
    addSparse(sum, sparseHistogram(a));
    addSparse(sum, sparseHistogram(b));
    const all = newHistogram();
    for (let i = 0; i < 500; i++) recordLatency(all, (i * 37) % 2000, 1);
    expect([...sum]).toEqual([...all]);
    expect(sparseHistogram(newHistogram())).toEqual([]);
  });

  it('percentile labels as Redis prints them', () => {
    expect([0, 50, 99, 99.9, 50.5, 10, 100, 99.99].map(percentileLabel)).toEqual(['0', '50', '99', '99.9', '50.5', '10', '100', '99.99']);
  });
});
