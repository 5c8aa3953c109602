/**
 * WATCH in the store: exact per key and database, as Redis's watched_keys dict, through each
 * shard's write log (ShardHeader.writeLog), which runs only while a key of the shard is watched.
 */
import { describe, expect, it } from 'vitest';
import { WATCH_LOG } from '../../native-layout/shard.ts';
import { HW } from '../../src/store/memory.ts';
import { Store } from '../../src/store/store.ts';
import type { WatchState } from '../../src/store/store.ts';

function mk(shards = 1) {
  const t = { now: 1_000_000 };
  return { store: Store.create({ shards, clock: () => t.now }), t };
}

/** EXEC's check, under the key's shard lock. */
function touched(store: Store, w: WatchState): boolean {
  const locked = store.lockShards([w.shard]);
  try {
    return store.watchTouchedLocked(w);
  } finally {
    store.unlockShards(locked);
  }
}

const header = (store: Store, field: 'watchers' | 'writeSeq') => store.shards[0]!.m.h32[HW[field]]!;

describe('WATCH', () => {
  it('writes to other keys, or to the same key in another database, do not touch it', () => {
    const { store } = mk();
    store.set('w', 'v');
    const w = store.watch('w');
    // One shard: with per-slot versions, some of these keys would share the watched key's slot.
    for (let i = 0; i < WATCH_LOG - 10; i++) store.set(`other:${i}`, 'x');
    store.select(1).set('w', 'in db 1');
    store.select(1).del('w');
    expect(touched(store, w)).toBe(false);
    store.set('w', 'changed');
    expect(touched(store, w)).toBe(true);
    store.unwatch(w);
  });

  it('each kind of write touches the key: delete, expire, persist, MOVE in and out, SWAPDB', () => {
    const { store } = mk();
    const db1 = store.select(1);
    const cases: [string, () => void][] = [
      ['DEL', () => store.del('k')],
      ['EXPIRE', () => store.expire('k', 100)],
      ['PERSIST', () => store.persist('k')],
      ['MOVE out', () => store.move('k', 1)],
      ['MOVE in', () => db1.move('k1', 0)],
      ['SWAPDB', () => store.swapDb(0, 3)],
      ['overwrite', () => store.set('k', 'v2')],
      ['delete in db 1 of a key watched there', () => db1.del('k')],
    ];
    for (const [what, write] of cases) {
      store.flush();
      store.set('k', 'v', what === 'PERSIST' ? { ex: 100 } : undefined);
      if (what.includes('db 1')) db1.set('k', 'v');
      db1.set('k1', 'v');
      const w = what === 'MOVE in' ? store.watch('k1') : what.includes('db 1') ? db1.watch('k') : store.watch('k');
      write();
      expect(touched(store, w), what).toBe(true);
      store.unwatch(w);
    }
  });

  it('SWAPDB touches a key present in either database, not one absent from both', () => {
    const { store } = mk();
    const absent = store.watch('nowhere');
    store.select(3).set('there', 'v');
    const arriving = store.watch('there');
    store.swapDb(0, 3);
    expect(touched(store, absent)).toBe(false);
    expect(touched(store, arriving)).toBe(true);
    store.unwatch(absent);
    store.unwatch(arriving);
  });

  it('a log lapped since WATCH counts as touched', () => {
    const { store } = mk();
    const w = store.watch('lap');
    for (let i = 0; i < WATCH_LOG + 1; i++) store.set(`other:${i}`, 'x');
    expect(touched(store, w)).toBe(true);
    store.unwatch(w);
  });

  it('writes are logged only while a key of the shard is watched', () => {
    const { store } = mk();
    store.set('a', '1');
    const seq0 = header(store, 'writeSeq');
    expect(header(store, 'watchers')).toBe(0);
    const w1 = store.watch('a');
    const w2 = store.watch('b');
    expect(header(store, 'watchers')).toBe(2);
    store.set('a', '2');
    expect(header(store, 'writeSeq')).toBe(seq0 + 1);
    store.unwatch(w1);
    store.unwatch(w2);
    expect(header(store, 'watchers')).toBe(0);
    store.set('a', '3');
    expect(header(store, 'writeSeq')).toBe(seq0 + 1);
  });
});
