/**
 * Embedded mode: an application's piscina pool shares one store across its threads.
 */
import { Piscina } from 'piscina';
import { afterAll, expect, it } from 'vitest';
import { esmTaskPool } from '../../src/esm-task.ts';
import { Store } from '../../src/store/store.ts';

const pool = new Piscina({ ...esmTaskPool(new URL('./piscina-task.ts', import.meta.url)), minThreads: 2, maxThreads: 2 });
afterAll(async () => {
  await pool.destroy();
});

it('pool threads attach to the same store and their writes add up', async () => {
  const store = Store.create({ shards: 4 });
  const handle = store.handle();
  const results = await Promise.all(Array.from({ length: 20 }, () => pool.run({ handle, key: 'hits', times: 500 })));
  expect(store.get('hits')?.toString()).toBe(String(20 * 500));
  expect(Math.max(...results.map((r: { last: number }) => r.last))).toBe(20 * 500);
  const threads = new Set(results.map((r: { thread: number }) => r.thread));
  expect(threads.size).toBe(2);
  for (const t of threads) expect(store.get(`seen:${t}`)?.toString()).toBe('1');
});
