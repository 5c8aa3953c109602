/**
 * SCAN's guarantee (Redis's): a key present for the whole scan is returned at least once, even if
 * the index grows between calls; keys may repeat, and cursor 0 ends the scan. A doubling moves keys
 * to new home buckets behind and ahead of the cursor, so the growth tests also check that the index
 * really did grow mid-scan rather than trusting the key counts to have caused it.
 */
import { describe, expect, test } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { verifyStore } from '../../src/store/verify.ts';
import { seeded as rng } from '../seeded.ts';

function indexSlots(store: Store): number[] {
  return store.stats().shards.map((s) => s.indexSlots);
}

interface ScanRun {
  /** Keys returned, with repeats. */
  returned: string[];
  calls: number;
}

/** Runs a whole scan, calling `between` after every call that did not end it. */
function scanAll(store: Store, count: number, between: (call: number) => void): ScanRun {
  const returned: string[] = [];
  let cursor = 0;
  let calls = 0;
  do {
    const r = store.scan(cursor, count);
    for (const k of r.keys) returned.push(k.toString());
    cursor = r.cursor;
    calls++;
    // Far more calls than keys would mean the cursor is not advancing.
    if (calls > 100_000) throw new Error(`scan did not finish after ${calls} calls (cursor ${cursor})`);
    if (cursor !== 0) between(calls);
  } while (cursor !== 0);
  return { returned, calls };
}

describe('SCAN while the index grows', () => {
  for (const shards of [1, 4]) {
    for (const seed of [1, 2, 3]) {
      test(`${shards} shard(s), seed ${seed}: every key present throughout is returned`, () => {
        const next = rng(seed * 7919 + shards);
        const store = Store.create({ shards });
        const base = 300 * shards;
        const stable = new Set<string>();
        const everSet = new Set<string>();
        for (let i = 0; i < base; i++) {
          store.set(`base:${i}`, 'v');
          stable.add(`base:${i}`);
          everSet.add(`base:${i}`);
        }
        // Deleted before the scan starts: must never come back.
        for (let i = 0; i < base; i += 10) {
          store.del(`base:${i}`);
          stable.delete(`base:${i}`);
        }
        const before = indexSlots(store);
        let added = 0;
        const run = scanAll(store, 1 + next(12), () => {
          // Grow by a varying amount so that doublings fall at different points of the cursor,
          // up to a cap: growth that outpaces the scan would keep adding buckets ahead of it.
          const n = added < 4 * base ? next(60 * shards) : 0;
          for (let j = 0; j < n; j++) {
            const k = `grow:${added++}`;
            store.set(k, 'v');
            everSet.add(k);
          }
          // Keys deleted during the scan may or may not be returned; they leave `stable`.
          if (next(3) === 0) {
            const k = `base:${next(base)}`;
            store.del(k);
            stable.delete(k);
          }
        });
        verifyStore(store);
        const after = indexSlots(store);
        expect(after.every((n, i) => n > before[i]!), `index grew in every shard: ${before} -> ${after}`).toBe(true);

        const seen = new Set(run.returned);
        const missing = [...stable].filter((k) => !seen.has(k));
        expect(missing, `seed ${seed}: keys present for the whole scan but never returned`).toEqual([]);
        for (const k of seen) {
          expect(everSet.has(k), `returned ${k}, which was never set`).toBe(true);
          expect(k.startsWith('base:') && Number(k.slice(5)) % 10 === 0, `returned ${k}, deleted before the scan`).toBe(false);
        }
      });
    }
  }

  test('COUNT 1 with a doubling between calls', () => {
    const store = Store.create({ shards: 2 });
    const keys: string[] = [];
    for (let i = 0; i < 600; i++) keys.push(`k${i}`);
    for (const k of keys) store.set(k, 'v');
    let added = 0;
    let doublings = 0;
    let last = indexSlots(store);
    const run = scanAll(store, 1, (call) => {
      // Force the index through several doublings early in the scan, then leave it alone.
      if (call > 40) return;
      for (let j = 0; j < 400; j++) store.set(`extra${added++}`, 'v');
      const now = indexSlots(store);
      if (now.some((n, i) => n > last[i]!)) doublings++;
      last = now;
    });
    expect(doublings).toBeGreaterThanOrEqual(3);
    const seen = new Set(run.returned);
    expect(keys.filter((k) => !seen.has(k))).toEqual([]);
    verifyStore(store);
  });
});

describe('SCAN basics', () => {
  test('an empty store ends at once with cursor 0', () => {
    const store = Store.create({ shards: 4 });
    expect(store.scan(0)).toEqual({ cursor: 0, keys: [] });
  });

  test('a static store returns each key exactly once across shards', () => {
    const store = Store.create({ shards: 8 });
    for (let i = 0; i < 1000; i++) store.set(`k${i}`, 'v');
    const run = scanAll(store, 10, () => {});
    // Without growth the reverse-binary cursor visits each bucket once, so there are no repeats.
    expect(run.returned.length).toBe(1000);
    expect(new Set(run.returned).size).toBe(1000);
  });

  test('expired keys are skipped, and each database scans only its own keys', () => {
    let t = 1_700_000_000_000;
    const store = Store.create({ shards: 2, clock: () => t });
    const db1 = store.select(1);
    for (let i = 0; i < 50; i++) {
      store.set(`k${i}`, 'v', i % 2 === 0 ? { px: 10 } : undefined);
      db1.set(`k${i}`, 'w');
    }
    db1.set('only1', 'w');
    t += 11;
    const run0 = scanAll(store, 7, () => {});
    expect(new Set(run0.returned)).toEqual(new Set(Array.from({ length: 25 }, (_, j) => `k${2 * j + 1}`)));
    const run1 = scanAll(db1, 7, () => {});
    expect(new Set(run1.returned).size).toBe(51);
    expect(run1.returned).toContain('only1');
  });
});

describe('forEachKey (KEYS)', () => {
  function allKeys(store: Store): string[] {
    const out: string[] = [];
    store.forEachKey((arena, off, len) => out.push(Buffer.from(arena.subarray(off, off + len)).toString()));
    return out;
  }

  test('each live key of the database once, across shards and index growth', () => {
    let t = 1_700_000_000_000;
    const store = Store.create({ shards: 4, clock: () => t });
    const db1 = store.select(1);
    const before = indexSlots(store);
    for (let i = 0; i < 5000; i++) store.set(`key:${i}`, 'v', i % 10 === 0 ? { px: 5 } : undefined);
    for (let i = 0; i < 300; i++) db1.set(`key:${i}`, 'w');
    expect(indexSlots(store).some((n, s) => n > before[s]!)).toBe(true);
    t += 6;
    const got = allKeys(store);
    expect(got.length).toBe(4500);
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 5000 }, (_, i) => i).filter((i) => i % 10 !== 0).map((i) => `key:${i}`)));
    expect(allKeys(db1).length).toBe(300);
    expect(allKeys(store.select(2))).toEqual([]);
  });
});
