import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.ts';
import { verifyStore } from '../../src/store/verify.ts';

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function run(data: object): Promise<{ torn: number; reads: number }> {
  const w = new Worker(new URL('./concurrency.worker.ts', import.meta.url), { workerData: data });
  workers.push(w);
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`worker exited ${code}`))));
  });
}

describe('store shared between threads', () => {
  it('four threads incrementing the same keys lose no increment', async () => {
    const store = Store.create({ shards: 4 });
    const keys = Array.from({ length: 8 }, (_, i) => `counter:${i}`);
    const rounds = 5000;
    await Promise.all([1, 2, 3, 4].map((seed) => run({ handle: store.handle(), role: 'incr', keys, rounds, seed })));
    for (const k of keys) expect(store.get(k)?.toString()).toBe(String(4 * rounds));
    verifyStore(store);
  });

  it('readers never see a torn value while writers replace values of varying sizes', async () => {
    const store = Store.create({ shards: 2, maxMemory: 8 * 1024 * 1024 });
    const keys = Array.from({ length: 32 }, (_, i) => `v:${i}`);
    const handle = store.handle();
    // Values in place first, so the readers, which may finish before the writers get going,
    // always have something to check.
    await run({ handle, role: 'write', keys, rounds: 500, seed: 10 });
    const results = await Promise.all([
      run({ handle, role: 'write', keys, rounds: 4000, seed: 11 }),
      run({ handle, role: 'write', keys, rounds: 4000, seed: 12 }),
      run({ handle, role: 'read', keys, rounds: 300, seed: 13 }),
      run({ handle, role: 'read', keys, rounds: 300, seed: 14 }),
    ]);
    const reads = results[2]!.reads + results[3]!.reads;
    expect(reads).toBeGreaterThan(0);
    expect(results[2]!.torn + results[3]!.torn).toBe(0);
    verifyStore(store);
  });

  it('the index and arena grow while other threads insert and read', async () => {
    const store = Store.create({ shards: 1 });
    const handle = store.handle();
    const results = await Promise.all([
      run({ handle, role: 'fill', keys: ['fa'], rounds: 20000, seed: 1 }),
      run({ handle, role: 'fill', keys: ['fb'], rounds: 20000, seed: 2 }),
      run({ handle, role: 'read', keys: ['fa:10', 'fb:10', 'fa:19999', 'fb:5000'], rounds: 2000, seed: 3 }),
    ]);
    expect(results[2]!.torn).toBe(0);
    expect(store.dbsize()).toBe(40000);
    expect(store.stats().shards[0]!.indexSlots).toBeGreaterThanOrEqual(65536);
    for (const p of ['fa', 'fb']) for (const r of [0, 777, 19999]) expect(store.get(`${p}:${r}`)!.length).toBe(8 + (r % 300));
    verifyStore(store);
  });

  it('a store attached in another thread sees the data and the growth of the creator', async () => {
    const store = Store.create({ shards: 1 });
    store.set('counter:0', '100');
    await run({ handle: store.handle(), role: 'incr', keys: ['counter:0'], rounds: 10, seed: 3 });
    // Grow the index and the arena from this thread after the first attach, then write there.
    for (let i = 0; i < 20000; i++) store.set(`k${i}`, 'x'.repeat(i % 200));
    store.set('late', '5');
    await run({ handle: store.handle(), role: 'incr', keys: ['counter:0', 'late'], rounds: 1, seed: 4 });
    expect(store.get('counter:0')?.toString()).toBe('111');
    expect(store.get('late')?.toString()).toBe('6');
    expect(store.get('k19999')?.toString()).toBe('x'.repeat(19999 % 200));
  });
});
