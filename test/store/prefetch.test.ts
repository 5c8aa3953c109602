/**
 * Group prefetching is a hint: it may read anything, but it must change nothing, whatever the
 * policy, and it must cope with absent keys, probes past the home slot and batches longer than it
 * prepares. It runs without the shard locks, so it must also survive views older than the shard
 * (another thread grew it) without throwing.
 */
import { describe, expect, test } from 'vitest';
import { hash32, shardOf } from '../../src/store/hash.ts';
import { PREFETCH_MAX } from '../../src/store/prefetch.ts';
import { Store } from '../../src/store/store.ts';
import { verifyStore } from '../../src/store/verify.ts';

function snapshot(store: Store): Buffer[] {
  return store.shards.flatMap((s) => [s.buffers.header, s.buffers.index, s.buffers.arena].map((b) => Buffer.from(new Uint8Array(b))));
}

describe('prefetch', () => {
  for (const policy of ['lru', 'lru-seconds', 'fifo', 'lfu', 'sieve', 's3fifo']) {
    test(`${policy}: leaves every byte of the store as it was`, () => {
      let now = 1_000_000;
      const store = Store.create({ shards: 4, policy, clock: () => now });
      for (let i = 0; i < 3000; i++) store.set(`key:${i}`, 'v'.repeat(i % 300));
      store.set('short-lived', 'x', { px: 10 });
      for (let i = 0; i < 3000; i += 7) store.get(`key:${i}`);
      now += 1000;
      // Present keys, absent keys and an expired one, more of them than one call prepares.
      const names = [...Array.from({ length: PREFETCH_MAX + 40 }, (_, i) => `key:${i * 37}`), 'absent:1', 'absent:2', 'short-lived'];
      const hashes = new Uint32Array(names.map((k) => hash32(Buffer.from(k))));
      const ids = [...hashes].map((h) => shardOf(h, store.shardMask));
      const before = snapshot(store);
      // Every other lookup reads its value, so both kinds of phase 3 run.
      const reads = new Uint8Array(hashes.length).map((_, i) => i & 1);
      store.prefetch(hashes, ids, reads, hashes.length);
      store.prefetch(hashes.subarray(PREFETCH_MAX), ids.slice(PREFETCH_MAX), reads.subarray(PREFETCH_MAX), hashes.length - PREFETCH_MAX);
      const after = snapshot(store);
      expect(after.length).toBe(before.length);
      for (let i = 0; i < before.length; i++) expect(after[i]!.equals(before[i]!)).toBe(true);
      verifyStore(store);
      expect(store.get('key:37')?.length).toBe(37);
    });
  }

  test('with views older than the shard (grown by another store instance) it neither throws nor writes', () => {
    const grower = Store.create({ shards: 2, policy: 'lru' });
    for (let i = 0; i < 50; i++) grower.set(`key:${i}`, 'v');
    // A second instance over the same buffers, as another worker thread has: its views are built now.
    const stale = Store.attach(grower.handle());
    // Grow the index and the arena from the first instance; `stale` has not locked since.
    for (let i = 0; i < 40_000; i++) grower.set(`key:${i}`, 'w'.repeat(200));
    const names = Array.from({ length: PREFETCH_MAX }, (_, i) => `key:${39_999 - i * 601}`);
    const hashes = new Uint32Array(names.map((k) => hash32(Buffer.from(k))));
    const ids = [...hashes].map((h) => shardOf(h, stale.shardMask));
    // Stale views must be what is tested: the grower's index is larger than the stale instance's.
    expect(grower.shards[0]!.m.refs.length).toBeGreaterThan(stale.shards[0]!.m.refs.length);
    const before = snapshot(grower);
    stale.prefetch(hashes, ids, new Uint8Array(hashes.length).fill(1), hashes.length);
    // Arbitrary hashes, shard ids kept consistent with them.
    const noise = new Uint32Array(PREFETCH_MAX).map((_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);
    stale.prefetch(noise, [...noise].map((h) => shardOf(h, stale.shardMask)), new Uint8Array(noise.length).fill(1), noise.length);
    const after = snapshot(grower);
    for (let i = 0; i < before.length; i++) expect(after[i]!.equals(before[i]!)).toBe(true);
    expect(stale.get(names[0]!)?.toString()).toBe('w'.repeat(200));
  });
});
