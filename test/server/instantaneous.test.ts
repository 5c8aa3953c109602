/**
 * The per-second rates INFO shows (src/server/instantaneous.ts): growth per second averaged over
 * the last 16 samples, growth before the first sample included, a reset counted as no growth.
 */
import { describe, expect, it } from 'vitest';
import { InstantaneousRate } from '../../src/server/instantaneous.ts';

describe('InstantaneousRate', () => {
  it('counts growth since it was made, per second, as the mean of the last 16 samples', () => {
    let total = 500;
    const r = new InstantaneousRate(() => total, 0);
    total += 100;
    expect(r.sample(100)).toBe(1000);
    total += 300;
    expect(r.sample(200)).toBe(2000);
    // Sixteen more samples with no growth push both out.
    for (let t = 300; t <= 1700; t += 100) r.sample(t);
    expect(r.sample(1800)).toBe(0);
  });

  it('a total that went down (CONFIG RESETSTAT) is no growth, and growth resumes from it', () => {
    let total = 1000;
    const r = new InstantaneousRate(() => total, 0);
    total = 0;
    expect(r.sample(100)).toBe(0);
    total = 50;
    expect(r.sample(200)).toBe(250);
  });

  it('a sample at the same instant as the last takes nothing; the next one has the growth', () => {
    let total = 0;
    const r = new InstantaneousRate(() => total, 10);
    total = 10;
    expect(r.sample(10)).toBe(0);
    expect(r.sample(20)).toBe(1000);
  });
});
