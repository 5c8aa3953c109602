/**
 * The cross-worker channel table that PUBLISH and PUBSUB NUMSUB read. Checked against a Map
 * model: names whose second hash has the top bit set (a signed/unsigned mix-up once made about
 * half of all names uncountable), slots given back when a channel loses its last subscriber
 * (so churn over time never fills the table), and probe runs kept intact by deletion. And the
 * per-worker WATCH counts the main thread takes back when a worker dies.
 */
import { seeded } from '../seeded.ts';
import { describe, expect, test } from 'vitest';
import { CHANNEL_SLOTS, SLOT_PATTERN } from '../../native-layout/server.ts';
import { SharedState } from '../../src/server/shared-state.ts';
import net from 'node:net';
import { Client } from '../../src/server/client.ts';
import { HW } from '../../src/store/memory.ts';
import { Store } from '../../src/store/store.ts';

const name = (s: string) => Buffer.from(s);

describe('SharedState channel counts', () => {
  test('counts every name, including those Redis clients use most (foo, a, c)', () => {
    const st = new SharedState();
    for (const ch of ['foo', 'a', 'c', 'c3', 'dd1', 'news', 'ch1']) {
      expect(st.channelAdd(name(ch), 1)).toBe(1);
      expect(st.channelAdd(name(ch), 1)).toBe(2);
      expect(st.channelCount(name(ch))).toBe(2);
    }
    expect(st.channelAdd(name('foo'), -1)).toBe(1);
    expect(st.channelAdd(name('foo'), -1)).toBe(0);
    expect(st.channelCount(name('foo'))).toBe(0);
    expect(st.channelAdd(name('never'), -1)).toBe(0);
    expect(st.channelCount(name('never'))).toBe(0);
  });

  test('three times more distinct channels than slots, over time, all counted', () => {
    const st = new SharedState();
    for (let i = 0; i < CHANNEL_SLOTS * 3; i++) {
      const ch = name(`churn:${i}`);
      expect(st.channelAdd(ch, 1)).toBe(1);
      expect(st.channelCount(ch)).toBe(1);
      expect(st.channelAdd(ch, -1)).toBe(0);
    }
  });

  test('random subscribes and unsubscribes agree with a model, at a high load', () => {
    const st = new SharedState();
    const model = new Map<string, number>();
    const rnd = seeded(12345);
    const names = Array.from({ length: Math.floor(CHANNEL_SLOTS * 0.9) }, (_, i) => `m:${i}`);
    for (let step = 0; step < 150_000; step++) {
      const ch = names[rnd(names.length)]!;
      const have = model.get(ch) ?? 0;
      const d = have > 0 && rnd(2) === 0 ? -1 : 1;
      expect(st.channelAdd(name(ch), d)).toBe(have + d);
      if (have + d === 0) model.delete(ch);
      else model.set(ch, have + d);
      if (step % 10_000 === 0) for (const [k, v] of model) expect(st.channelCount(name(k))).toBe(v);
    }
    for (const k of names) expect(st.channelCount(name(k))).toBe(model.get(k) ?? 0);
    expect(st.activeChannels()).toBe(model.size);
  });

  test('mayBeHeard: false only when no channel subscriber, no pattern and nothing uncounted', () => {
    const st = new SharedState();
    expect(st.mayBeHeard(st.channelCount(name('quiet')))).toBe(false);
    st.channelAdd(name('loud'), 1);
    expect(st.mayBeHeard(st.channelCount(name('loud')))).toBe(true);
    expect(st.mayBeHeard(st.channelCount(name('quiet')))).toBe(false);
    // Any pattern may match: it is matched on the worker that holds it.
    st.channelAdd(name('q*'), 1, SLOT_PATTERN);
    expect(st.mayBeHeard(st.channelCount(name('quiet')))).toBe(true);
    st.channelAdd(name('q*'), -1, SLOT_PATTERN);
    expect(st.mayBeHeard(st.channelCount(name('quiet')))).toBe(false);
    // A full table: the subscriptions it cannot count make every channel possibly heard, for good.
    for (let i = 0; i < CHANNEL_SLOTS; i++) st.channelAdd(name(`fill:${i}`), 1);
    expect(st.channelCount(name(`fill:${CHANNEL_SLOTS - 1}`))).toBe(0);
    for (let i = 0; i < CHANNEL_SLOTS; i++) st.channelAdd(name(`fill:${i}`), -1);
    expect(st.mayBeHeard(st.channelCount(name('quiet')))).toBe(true);
  });
});

describe('WATCH registrations a dead worker held', () => {
  const watchers = (store: Store) => store.shards.map((s) => s.m.h32[HW.watchers]!);

  test('the main thread takes them back from the counts the worker kept, and writes stop being logged', () => {
    const store = Store.create({ shards: 4 });
    const st = new SharedState();
    // A client on worker 1, counting its registrations as worker.ts wires it.
    const c = new Client(1, new net.Socket(), store, false, 1 << 20);
    c.watchCounts = (shard, d) => st.watchRegAdd(1, shard, d);
    const keys = ['wa', 'wb', 'wc', 'wd', 'we', 'wf'];
    for (const k of keys) c.watch(Buffer.from(k));
    expect(watchers(store).reduce((a, b) => a + b, 0)).toBe(keys.length);
    // Released normally: nothing is left to take back.
    c.unwatchAll();
    expect(st.takeWatchRegs(1)).toEqual([]);
    expect(watchers(store)).toEqual([0, 0, 0, 0]);
    // Held when the worker dies: the main thread's takeback (main.ts) releases each one.
    for (const k of keys) c.watch(Buffer.from(k));
    const regs = st.takeWatchRegs(1);
    expect(regs.reduce((a, [, n]) => a + n, 0)).toBe(keys.length);
    for (const [shard, n] of regs) store.releaseWatches(shard, n);
    expect(watchers(store)).toEqual([0, 0, 0, 0]);
    expect(st.takeWatchRegs(1)).toEqual([]);
    const seq = store.shards.map((s) => s.m.h32[HW.writeSeq]!);
    for (const k of keys) store.set(k, 'v');
    expect(store.shards.map((s) => s.m.h32[HW.writeSeq]!)).toEqual(seq);
  });
});
