/**
 * Group prefetching is a hint: it may read anything, but it must change nothing, whatever the
 * policy, and it must cope with absent keys, probes past the home slot and batches longer than it
 * prepares.
 */
import { describe, expect, test } from 'vitest';
import { hash32, shardOf } from '../../src/store/hash.ts';
import { PREFETCH_MAX } from '../../src/store/prefetch.ts';
import { Store } from '../../src/store/store.ts';
import { verifyStore } from '../../src/store/verify.ts';

function snapshot(store: Store): Buffer[] {
  return store.shards.flatMap((s) => [s.buffers.header, s.buffers.index, s.buffers.arena].map((b) => Buffer.from(new Uint8Array(b))));
}

describe('prefetchLocked', () => {
  for (const policy of ['lru', 'fifo', 'lfu', 'sieve', 's3fifo']) {
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
      const locked = store.lockShards(store.shards.map((s) => s.id));
      try {
        store.prefetchLocked(hashes, ids, hashes.length);
        store.prefetchLocked(hashes.subarray(PREFETCH_MAX), ids.slice(PREFETCH_MAX), hashes.length - PREFETCH_MAX);
      } finally {
        store.unlockShards(locked);
      }
      const after = snapshot(store);
      expect(after.length).toBe(before.length);
      for (let i = 0; i < before.length; i++) expect(after[i]!.equals(before[i]!)).toBe(true);
      verifyStore(store);
      expect(store.get('key:37')?.length).toBe(37);
    });
  }
});
