import { describe, expect, test } from 'vitest';
import { HashRing } from '../../src/client/ring.ts';
import { hash32 } from '../../src/store/hash.ts';

const KEYS = 100_000;
const hashes = Array.from({ length: KEYS }, (_, i) => hash32(Buffer.from(`user:${i}:profile`)));

function ringOf(ids: string[], weights: number[] = []): HashRing<string> {
  const r = new HashRing<string>({ vnodes: 150 });
  ids.forEach((id, i) => r.add(id, id, weights[i] ?? 1));
  return r;
}

function shares(r: HashRing<string>): Map<string, number> {
  const n = new Map<string, number>();
  for (const h of hashes) {
    const id = r.lookup(h)!;
    n.set(id, (n.get(id) ?? 0) + 1);
  }
  return n;
}

describe('consistent-hash ring', () => {
  // Several independent sets of node names, as different deployments would have.
  const sets = Array.from({ length: 6 }, (_, s) => Array.from({ length: 5 }, (_, i) => `10.${s}.0.${i + 1}:6379`));

  test.each(sets.map((s, i) => [i, s] as const))('adding a 5th node to 4 moves 15–25%% of keys, all to the new node (set %i)', (_i, ids) => {
    const four = ringOf(ids.slice(0, 4));
    const five = ringOf(ids);
    let moved = 0;
    for (const h of hashes) {
      const a = four.lookup(h);
      const b = five.lookup(h);
      if (a !== b) {
        moved++;
        expect(b).toBe(ids[4]);
      }
    }
    expect(moved / KEYS).toBeGreaterThanOrEqual(0.15);
    expect(moved / KEYS).toBeLessThanOrEqual(0.25);
  });

  test.each(sets.map((s, i) => [i, s] as const))('load is within ±10%% of the mean at 150 vnodes, 4 and 5 nodes (set %i)', (_i, ids) => {
    for (const n of [4, 5]) {
      const counts = shares(ringOf(ids.slice(0, n)));
      expect(counts.size).toBe(n);
      const mean = KEYS / n;
      for (const c of counts.values()) expect(Math.abs(c / mean - 1)).toBeLessThanOrEqual(0.1);
    }
  });

  test('removing a node moves only its own keys', () => {
    const ids = sets[0]!;
    const five = ringOf(ids);
    const four = ringOf(ids.slice(0, 4));
    for (const h of hashes.slice(0, 20_000)) {
      const before = five.lookup(h);
      if (before !== ids[4]) expect(four.lookup(h)).toBe(before);
    }
    five.remove(ids[4]!);
    for (const h of hashes.slice(0, 20_000)) expect(five.lookup(h)).toBe(four.lookup(h));
  });

  test('weights scale a node’s share', () => {
    const counts = shares(ringOf(['a:1', 'b:1', 'c:1'], [1, 1, 2]));
    const heavy = counts.get('c:1')! / KEYS;
    expect(heavy).toBeGreaterThan(0.45);
    expect(heavy).toBeLessThan(0.55);
  });

  test('lookups agree between ring instances and with one node', () => {
    const a = ringOf(sets[1]!);
    const b = ringOf([...sets[1]!].reverse());
    for (const h of hashes.slice(0, 5000)) expect(a.lookup(h)).toBe(b.lookup(h));
    const one = ringOf(['solo:1']);
    expect(one.lookup(123)).toBe('solo:1');
    expect(new HashRing<string>().lookup(1)).toBeUndefined();
  });

  test('the classic single-probe ring is available and is what needs the probes', () => {
    const r = new HashRing<string>({ vnodes: 150, probes: 1 });
    for (const id of sets[0]!) r.add(id, id);
    expect(shares(r).size).toBe(5);
  });
});
