/**
 * Store.recoverLocksOf: the shard locks of a thread that died holding them are taken back. Real
 * worker threads take a lock and stop without releasing it; the test thread then recovers.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { HW } from '../../src/store/memory.ts';
import { verifyStore } from '../../src/store/verify.ts';
import { LOCK_OWNER } from '../../src/store/lock.ts';

/** Runs the worker until it exits; returns its lock-owner mark (threadId + 1) and exit code. */
async function dieHolding(store: Store, key: string, torn: boolean): Promise<{ owner: number; code: number }> {
  const w = new Worker(new URL('./lock-recovery.worker.ts', import.meta.url), { workerData: { handle: store.handle(), key, torn } });
  const owner = w.threadId + 1;
  const code = await new Promise<number>((resolve) => w.once('exit', resolve));
  return { owner, code };
}

const lockWord = (store: Store, key: string) => Atomics.load(store.shardFor(Buffer.from(key)).m.hi32, HW.lock);

function filled(): Store {
  const store = Store.create({ shards: 4 });
  for (let i = 0; i < 200; i++) store.set(`k${i}`, `v${i}`);
  return store;
}

describe('Store.recoverLocksOf', () => {
  it('a held lock carries its holder mark, taken and released with it (re-entry keeps it)', () => {
    const store = filled();
    const s = store.shards[1]!;
    const mark = () => Atomics.load(s.m.hi32, HW.lockOwner);
    expect(mark()).toBe(0);
    s.lock();
    s.lock();
    expect(mark()).toBe(LOCK_OWNER);
    s.unlock();
    expect(mark()).toBe(LOCK_OWNER);
    s.unlock();
    expect([mark(), Atomics.load(s.m.hi32, HW.lock)]).toEqual([0, 0]);
    // A free lock is nobody's to recover.
    expect(store.recoverLocksOf(LOCK_OWNER)).toEqual([]);
  });

  it('a consistent shard is checked and released; nothing is lost', async () => {
    const store = filled();
    const { owner, code } = await dieHolding(store, 'k7', false);
    expect(code).toBe(3);
    // Held for good: no live thread will release it.
    expect(lockWord(store, 'k7')).not.toBe(0);
    // Another thread's mark recovers nothing.
    expect(store.recoverLocksOf(owner + 1000)).toEqual([]);
    expect(lockWord(store, 'k7')).not.toBe(0);
    expect(store.recoverLocksOf(owner)).toEqual([{ shard: store.shardIdOf(Buffer.from('k7')), problem: null, dropped: 0 }]);
    expect(lockWord(store, 'k7')).toBe(0);
    for (let i = 0; i < 200; i++) expect(store.get(`k${i}`)?.toString()).toBe(`v${i}`);
    verifyStore(store);
    // Recovered once only.
    expect(store.recoverLocksOf(owner)).toEqual([]);
  });

  it('a shard left half-changed is emptied and released; the other shards keep their keys', async () => {
    const store = filled();
    const id = store.shardIdOf(Buffer.from('k9'));
    const inShard = Array.from({ length: 200 }, (_, i) => `k${i}`).filter((k) => store.shardIdOf(Buffer.from(k)) === id);
    const { owner } = await dieHolding(store, 'k9', true);
    const [r] = store.recoverLocksOf(owner);
    expect(r!.shard).toBe(id);
    expect(r!.problem).toMatch(/count/);
    expect(r!.dropped).toBe(inShard.length + 1);
    expect(lockWord(store, 'k9')).toBe(0);
    for (let i = 0; i < 200; i++) expect(store.get(`k${i}`)?.toString()).toBe(inShard.includes(`k${i}`) ? undefined : `v${i}`);
    verifyStore(store);
    // The emptied shard takes writes again.
    store.set('k9', 'again');
    expect(store.get('k9')?.toString()).toBe('again');
    verifyStore(store);
  });
});
