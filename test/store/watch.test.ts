/**
 * WATCH in the store: exact per key and database, as Redis's watched_keys dict, through each
 * shard's table of watched keys (ShardHeader.watchTable), tracked only while a key of the shard is
 * watched.
 */
import { describe, expect, it } from 'vitest';
import { WATCH_PROBES, WATCH_SLOTS } from '../../native-layout/shard.ts';
import { HW } from '../../src/store/memory.ts';
import type { ShardMemory } from '../../src/store/memory.ts';
import { Store } from '../../src/store/store.ts';
import type { WatchState } from '../../src/store/store.ts';
import { watchAcquireLocked, watchBumpLocked, watchFindLocked, watchReleaseLocked } from '../../src/store/watch-table.ts';

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

const header = (store: Store, field: 'watchers' | 'writeSeq' | 'watchSlotsUsed') => store.shards[0]!.m.h32[HW[field]]!;

describe('WATCH', () => {
  it('any number of writes to other keys, or to the same key in another database, leave it untouched', () => {
    const { store } = mk();
    store.set('w', 'v');
    const w = store.watch('w');
    for (let i = 0; i < 50_000; i++) store.set(`other:${i % 5000}`, 'x');
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

  it('a key that expires after WATCH is touched, whether or not its item is gone yet', () => {
    const { store, t } = mk();
    for (const reap of [() => {}, () => store.get('k'), () => store.activeExpireCycle([0], 100)]) {
      store.set('k', 'v', { px: 10 });
      const w = store.watch('k');
      expect(touched(store, w)).toBe(false);
      t.now += 11;
      reap();
      expect(touched(store, w)).toBe(true);
      store.unwatch(w);
      store.flush();
    }
  });

  // Redis 7 multi.c: a key expired at WATCH is logically absent; its deletion changes nothing.
  it('a key already expired at WATCH: its removal is no write, a later write is', () => {
    const { store, t } = mk();
    const removals: [string, () => void][] = [
      ['GET', () => store.get('k')],
      ['DEL', () => store.del('k')],
      ['PTTL', () => store.pttl('k')],
      ['FLUSHALL', () => store.flush()],
      ['FLUSHDB', () => store.flushDb()],
      ['active expiry', () => store.activeExpireCycle([0], 100)],
    ];
    for (const [what, remove] of removals) {
      store.set('k', 'v', { pxat: t.now - 1 });
      const expired = store.stats().expired;
      const w = store.watch('k');
      // WATCH removes nothing (Redis keeps the key until something looks it up or expires it).
      expect([store.dbsize(), store.stats().expired], what).toEqual([1, expired]);
      remove();
      expect(store.dbsize(), what).toBe(0);
      expect(touched(store, w), what).toBe(false);
      store.set('k', 'v2');
      expect(touched(store, w), `${what}, then SET`).toBe(true);
      store.unwatch(w);
      store.flush();
    }
  });

  it('a key expired at WATCH without a table slot: the one write that removed it is no change; two writes are', () => {
    const { store, t } = mk();
    const fill = Array.from({ length: 4 * WATCH_SLOTS }, (_, i) => store.watch(`full:${i}`));
    store.set('k', 'v', { pxat: t.now - 1 });
    const w = store.watch('k');
    expect(w.version).toBe(-1);
    store.get('k');
    expect(touched(store, w)).toBe(false);
    store.set('other', 'x');
    expect(touched(store, w)).toBe(true);
    for (const x of [...fill, w]) store.unwatch(x);
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

  it('keys watched twice share a slot; each registration sees the writes since its own WATCH', () => {
    const { store } = mk();
    const a = store.watch('twice');
    store.set('twice', '1');
    const b = store.watch('twice');
    expect(header(store, 'watchSlotsUsed')).toBe(1);
    expect(touched(store, a)).toBe(true);
    expect(touched(store, b)).toBe(false);
    store.unwatch(a);
    expect(touched(store, b)).toBe(false);
    store.set('twice', '2');
    expect(touched(store, b)).toBe(true);
    store.unwatch(b);
    expect(header(store, 'watchSlotsUsed')).toBe(0);
  });

  it('keys the table has no room for are touched by any write of the shard; the others stay exact', () => {
    const { store } = mk();
    const ws = Array.from({ length: WATCH_SLOTS + 64 }, (_, i) => store.watch(`many:${i}`));
    const overflow = ws.filter((w) => w.version < 0);
    const slotted = ws.filter((w) => w.version >= 0);
    expect(overflow.length).toBeGreaterThanOrEqual(64);
    expect(header(store, 'watchSlotsUsed')).toBe(slotted.length);
    store.set('unrelated', 'x');
    for (const w of overflow) expect(touched(store, w)).toBe(true);
    for (const w of slotted) expect(touched(store, w)).toBe(false);
    for (const w of ws) store.unwatch(w);
    expect([header(store, 'watchers'), header(store, 'watchSlotsUsed')]).toEqual([0, 0]);
  });

  it('a table with every slot it may use taken releases its keys (one slot always stays free)', () => {
    const { store } = mk();
    const ws = Array.from({ length: 4 * WATCH_SLOTS }, (_, i) => store.watch(`full:${i}`));
    expect(header(store, 'watchSlotsUsed')).toBe(WATCH_SLOTS - 1);
    expect(ws.filter((w) => w.version >= 0).length).toBe(WATCH_SLOTS - 1);
    for (const w of ws) store.unwatch(w);
    expect([header(store, 'watchers'), header(store, 'watchSlotsUsed')]).toEqual([0, 0]);
  });

  it('writes are tracked only while a key of the shard is watched', () => {
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

  it('slots of registrations released by count alone (a dead worker) go when no registration is left', () => {
    const { store } = mk();
    const dead = ['d1', 'd2', 'd3'].map((k) => store.watch(k));
    const live = store.watch('alive');
    store.releaseWatches(0, dead.length);
    expect(header(store, 'watchSlotsUsed')).toBe(4);
    store.set('alive', 'x');
    expect(touched(store, live)).toBe(true);
    store.unwatch(live);
    expect([header(store, 'watchers'), header(store, 'watchSlotsUsed')]).toEqual([0, 0]);
    expect(store.shards[0]!.m.h32.subarray(HW.watchTable, HW.watchTable + WATCH_SLOTS * 3).every((x) => x === 0)).toBe(true);
  });
});

describe('the watch table against a model', () => {
  /** What breaks the placement invariant or disagrees with the model; '' when nothing does. */
  function faults(m: ShardMemory, model: Map<number, { refs: number; version: number }>): string {
    let used = 0;
    for (let i = 0; i < WATCH_SLOTS; i++) {
      if (m.watchRefs(i) === 0) continue;
      used++;
      const home = m.watchWordAt(i) & (WATCH_SLOTS - 1);
      const dist = (i - home + WATCH_SLOTS) & (WATCH_SLOTS - 1);
      if (dist >= WATCH_PROBES) return `slot ${i} is ${dist} past its home`;
      for (let d = 0; d < dist; d++) if (m.watchRefs((home + d) & (WATCH_SLOTS - 1)) === 0) return `a hole between slot ${i} and its home`;
    }
    if (used !== model.size || m.h32[HW.watchSlotsUsed] !== used) return `${used} slots used, ${m.h32[HW.watchSlotsUsed]} counted, ${model.size} modelled`;
    for (const [word, e] of model) {
      const i = watchFindLocked(m, word);
      if (i < 0) return `word ${word} not found`;
      if (m.watchRefs(i) !== e.refs || m.watchVersion(i) !== e.version) return `word ${word}: refs ${m.watchRefs(i)} version ${m.watchVersion(i)}, modelled ${e.refs} ${e.version}`;
    }
    return '';
  }

  it('random acquire, bump and release over crowded homes, wrapping the table end, keep it exact', () => {
    const m = mk().store.shards[0]!.m;
    const model = new Map<number, { refs: number; version: number }>();
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // 48 words on 6 homes, two of them at the table's end: runs longer than WATCH_PROBES form.
    const homes = [0, 1, 5, WATCH_SLOTS - 2, WATCH_SLOTS - 1, 700];
    const words = Array.from({ length: 48 }, (_, i) => (homes[i % homes.length]! + WATCH_SLOTS * (i + 1)) >>> 0);
    let refused = 0;
    for (let step = 0; step < 20_000; step++) {
      const word = words[rnd(words.length)]!;
      const e = model.get(word);
      const op = rnd(3);
      if (op === 0) {
        const v = watchAcquireLocked(m, word);
        if (v < 0) {
          refused++;
          expect(e).toBeUndefined();
        } else if (e === undefined) model.set(word, { refs: 1, version: v });
        else {
          expect(v).toBe(e.version);
          e.refs++;
        }
      } else if (op === 1) {
        watchBumpLocked(m, word);
        if (e !== undefined) e.version = (e.version + 1) >>> 0;
      } else if (e !== undefined) {
        watchReleaseLocked(m, word);
        if (--e.refs === 0) model.delete(word);
      }
      const f = faults(m, model);
      if (f !== '') expect.fail(`step ${step}: ${f}`);
    }
    expect(refused).toBeGreaterThan(0);
  });
});
