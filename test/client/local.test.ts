import { describe, expect, test } from 'vitest';
import { CountMinSketch } from '../../src/client/sketch.ts';
import { entryCost, L1Cache } from '../../src/client/l1.ts';
import { decodeLoaded, encodeLoaded, jittered, shouldRefreshEarly } from '../../src/client/envelope.ts';
import { hash32 } from '../../src/store/hash.ts';

const h = (s: string) => hash32(Buffer.from(s));

describe('count-min sketch', () => {
  test('never undercounts, and rarely overcounts much', () => {
    const s = new CountMinSketch({ width: 1024, resetAfter: 1e9 });
    const truth = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const k = `k${i % 500}`;
      truth.set(k, (truth.get(k) ?? 0) + 1);
      s.increment(h(k));
    }
    let over = 0;
    for (const [k, n] of truth) {
      const e = s.estimate(h(k));
      expect(e).toBeGreaterThanOrEqual(n);
      if (e > n + 5) over++;
    }
    expect(over).toBeLessThan(25);
  });

  test('halving makes the counts a decaying window', () => {
    const s = new CountMinSketch({ width: 64, resetAfter: 100 });
    for (let i = 0; i < 99; i++) s.increment(h('hot'));
    expect(s.estimate(h('hot'))).toBe(99);
    s.increment(h('hot'));
    expect(s.estimate(h('hot'))).toBe(50);
    expect(s.resets).toBe(1);
  });
});

describe('L1 cache', () => {
  test('no entry outlives the TTL; entries live at least until the generation turns', () => {
    const l1 = new L1Cache<Buffer>(1_000_000, 100);
    l1.set('a', Buffer.alloc(10), entryCost('a', 10), 0);
    expect(l1.get('a', 49)).toBeDefined();
    l1.set('b', Buffer.alloc(10), entryCost('b', 10), 60); // a second generation begins
    expect(l1.get('a', 99)).toBeDefined();
    expect(l1.get('a', 100)).toBeUndefined(); // a's generation began at 0
    expect(l1.get('b', 100)).toBeDefined();
    expect(l1.get('b', 159)).toBeDefined();
    expect(l1.get('b', 160)).toBeUndefined();
    // A long idle gap drops everything.
    l1.set('c', Buffer.alloc(10), entryCost('c', 10), 1000);
    expect(l1.get('c', 5000)).toBeUndefined();
    expect(l1.hits).toBe(4);
  });

  test('over the byte bound the oldest entries go one at a time, the previous generation first', () => {
    const each = entryCost('k00', 100);
    const l1 = new L1Cache<Buffer>(each * 9, 1_000_000);
    for (let i = 0; i < 30; i++) l1.set(`k${String(i).padStart(2, '0')}`, Buffer.alloc(100), each, i);
    expect(l1.size).toBe(9);
    expect(l1.evictions).toBe(21);
    for (let i = 0; i < 30; i++) expect(l1.get(`k${String(i).padStart(2, '0')}`, 30) !== undefined, `k${i}`).toBe(i >= 21);
    // Five entries, then a new generation (ttl/2 later) of seven: the bound of 9 drops the three
    // oldest of the previous generation.
    const g = new L1Cache<Buffer>(each * 9, 100);
    for (let i = 0; i < 5; i++) g.set(`a${String(i).padStart(2, '0')}`, Buffer.alloc(100), each, 0);
    for (let i = 0; i < 7; i++) g.set(`b${String(i).padStart(2, '0')}`, Buffer.alloc(100), each, 60);
    expect(['a00', 'a01', 'a02', 'a03', 'a04'].map((k) => g.get(k, 61) !== undefined)).toEqual([false, false, false, true, true]);
    for (let i = 0; i < 7; i++) expect(g.get(`b${String(i).padStart(2, '0')}`, 61)).toBeDefined();
    expect(g.bytes).toBe(each * 9);
  });

  test('byte bound, invalidation, overwrite accounting', () => {
    const l1 = new L1Cache<Buffer>(2000, 1_000_000);
    for (let i = 0; i < 30; i++) l1.set(`k${i}`, Buffer.alloc(100), entryCost(`k${i}`, 100), i);
    expect(l1.bytes).toBeLessThanOrEqual(2000);
    expect(l1.evictions).toBeGreaterThan(0);
    expect(l1.get('k29', 30)).toBeDefined();
    l1.invalidate('k29');
    expect(l1.get('k29', 30)).toBeUndefined();
    expect(l1.invalidations).toBe(1);
    l1.clear();
    l1.set('x', Buffer.alloc(100), entryCost('x', 100), 0);
    const one = l1.bytes;
    l1.set('x', Buffer.alloc(100), entryCost('x', 100), 0);
    expect(l1.bytes).toBe(one);
    l1.set('huge', Buffer.alloc(5000), entryCost('huge', 5000), 0);
    expect(l1.get('huge', 1)).toBeUndefined();
  });
});

describe('loaded-value envelope', () => {
  test('round trip, foreign values, jitter, XFetch', () => {
    const b = encodeLoaded(Buffer.from('payload'), 42, 1_700_000_000_123.5);
    const v = decodeLoaded(b)!;
    expect(v.computeMs).toBe(42);
    expect(v.softExpireAt).toBe(1_700_000_000_123.5);
    expect(v.payload.toString()).toBe('payload');
    expect(decodeLoaded(Buffer.from('plain value set by someone else'))).toBeNull();
    for (let i = 0; i < 1000; i++) {
      const t = jittered(10_000, 0.1);
      expect(t).toBeGreaterThanOrEqual(9000);
      expect(t).toBeLessThanOrEqual(10_000);
    }
    const far = { computeMs: 10, softExpireAt: 1_000_000, payload: Buffer.alloc(0) };
    expect(shouldRefreshEarly(0, far, 1)).toBe(false);
    // At expiry it always refreshes; with beta 0 never.
    expect(shouldRefreshEarly(1_000_000, far, 1)).toBe(true);
    expect(shouldRefreshEarly(1_000_000, far, 0)).toBe(false);
  });
});
