/**
 * LATENCY GRAPH's drawing, on fixed samples (the server tests check it end to end on real spikes).
 */
import { describe, expect, it } from 'vitest';
import { latencyGraphText } from '../../src/server/latency-graph.ts';

describe('latencyGraphText', () => {
  it('draws one column per sample, scaled between the low and the high, with each age written downwards', () => {
    const now = 10_000;
    const text = latencyGraphText('command', { samples: [[now - 125, 10], [now - 61, 40], [now - 12, 25], [now, 10]], max: 90 }, now);
    expect(text).toBe(
      [
        'command - high 40 ms, low 10 ms (all time high 90 ms)',
        '-'.repeat(80),
        ' #',
        ' ##',
        ' ##',
        '_##_',
        '2110',
        'mm2s',
        '  s',
        '',
      ].join('\n'),
    );
  });

  it('a single sample, or samples all equal, fill every row; only the newest 80 are drawn', () => {
    const one = latencyGraphText('expire-cycle', { samples: [[100, 7]], max: 7 }, 105).split('\n');
    expect(one.slice(0, 7)).toEqual(['expire-cycle - high 7 ms, low 7 ms (all time high 7 ms)', '-'.repeat(80), '#', '#', '#', '#', '5']);
    const many = Array.from({ length: 100 }, (_, i): [number, number] => [i, i === 0 ? 999 : 5]);
    const lines = latencyGraphText('command', { samples: many, max: 999 }, 99).split('\n');
    expect(lines[0]).toBe('command - high 5 ms, low 5 ms (all time high 999 ms)');
    expect(lines[2]).toBe('#'.repeat(80));
  });
});
