/**
 * The client against real servers: the cache API over the binary protocol, errors with their
 * codes, pub/sub, multi-node mget/mset, RESP on the same port, and the hot-key L1 kept coherent
 * by invalidation pushes (binary and RESP writers, on either worker).
 *
 * Placement: the main thread gives each new connection to the worker with the fewest, so
 * connections opened one after another (each answered before the next) alternate workers.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ShardcacheClient, ShardcacheClientError } from '../../src/client/index.ts';
import type { ClientOptions } from '../../src/client/index.ts';
import { startServer } from '../server/harness.ts';
import type { TestServer } from '../server/harness.ts';

let s0: TestServer;
let s1: TestServer;
let s2: TestServer;
const clients: ShardcacheClient<unknown>[] = [];
const redises: Redis[] = [];

function client<V = Buffer>(opts: Partial<ClientOptions> = {}, servers: TestServer[] = [s0]): ShardcacheClient<V> {
  const c = new ShardcacheClient<V>({ nodes: servers.map((s) => `127.0.0.1:${s.port}`), ...opts });
  clients.push(c as ShardcacheClient<unknown>);
  return c;
}

function redis(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1 });
  redises.push(r);
  return r;
}

/** Resolves with ms from now until `c` emits an invalidation of `key`; rejects after `limitMs`. */
function invalidationOf(c: ShardcacheClient<unknown>, key: string, limitMs: number): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('invalidate', on);
      reject(new Error(`no invalidation of ${key} within ${limitMs} ms`));
    }, limitMs);
    const on = (k: string | null) => {
      if (k !== key && k !== null) return;
      clearTimeout(timer);
      c.off('invalidate', on);
      resolve(performance.now() - t0);
    };
    c.on('invalidate', on);
  });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ShardcacheClientError);
    return (e as ShardcacheClientError).code;
  }
  return 'no error';
}

beforeAll(async () => {
  [s0, s1, s2] = await Promise.all([startServer([], { threads: 2 }), startServer([], { threads: 1 }), startServer([], { threads: 1 })]);
});

afterAll(async () => {
  for (const c of clients) await c.close();
  for (const r of redises) r.disconnect();
  await Promise.all([s0?.stop(), s1?.stop(), s2?.stop()]);
});

describe('cache API over the binary protocol', () => {
  test('get / set / delete / exists, strings and Buffers', async () => {
    const c = client();
    expect(await c.set('api:a', 'hello')).toBe(true);
    expect((await c.get('api:a'))!.toString()).toBe('hello');
    expect(await c.get('api:missing')).toBeNull();
    const bin = Buffer.from([0, 255, 1, 254]);
    expect(await c.set(Buffer.from([1, 2, 3]), bin)).toBe(true);
    expect(await c.get(Buffer.from([1, 2, 3]))).toEqual(bin);
    expect(await c.exists('api:a')).toBe(true);
    expect(await c.delete('api:a')).toBe(true);
    expect(await c.delete('api:a')).toBe(false);
    expect(await c.exists('api:a')).toBe(false);
    expect(await c.set('ключ', 'значение')).toBe(true);
    expect((await c.get('ключ'))!.toString()).toBe('значение');
  });

  test('set options: ttl, nx, xx; expire and ttl', async () => {
    const c = client();
    expect(await c.set('opt:k', 'v', { nx: true })).toBe(true);
    expect(await c.set('opt:k', 'w', { nx: true })).toBe(false);
    expect(await c.set('opt:none', 'w', { xx: true })).toBe(false);
    expect(await c.set('opt:k', 'x', { xx: true, ttl: 50_000 })).toBe(true);
    const t = await c.ttl('opt:k');
    expect(t).toBeGreaterThan(49_000);
    expect(t).toBeLessThanOrEqual(50_000);
    expect(await c.expire('opt:k', 100_000)).toBe(true);
    expect(await c.ttl('opt:k')).toBeGreaterThan(99_000);
    expect(await c.ttl('opt:missing')).toBe(-2);
    await c.set('opt:forever', 'v');
    expect(await c.ttl('opt:forever')).toBe(-1);
    expect(await c.expire('opt:missing', 1000)).toBe(false);
    expect(await codeOf(c.set('opt:k', 'v', { ttl: -5 }))).toBe('SC_CLIENT_INVALID_ARG');
  });

  test('increment / decrement, and the server error code on a non-integer', async () => {
    const c = client();
    expect(await c.increment('ctr')).toBe(1);
    expect(await c.increment('ctr', 41)).toBe(42);
    expect(await c.decrement('ctr', 2)).toBe(40);
    expect(await c.decrement('ctr')).toBe(39);
    await c.set('ctr:text', 'abc');
    expect(await codeOf(c.increment('ctr:text'))).toBe('SC_ERR_NOT_INTEGER');
    // Beyond 2^53 the value comes back exactly, as a bigint.
    expect(await c.increment('ctr:big', 2n ** 62n)).toBe(2n ** 62n);
    expect(await c.increment('ctr:big', 1)).toBe(2n ** 62n + 1n);
    expect(await c.decrement('ctr:big', 2n ** 62n)).toBe(1);
  });

  test('pipelining: many requests in one tick, replies matched by id', async () => {
    const c = client();
    const n = 2000;
    await Promise.all(Array.from({ length: n }, (_, i) => c.set(`pipe:${i}`, `v${i}`)));
    const got = await Promise.all(Array.from({ length: n }, (_, i) => c.get(`pipe:${i}`)));
    got.forEach((v, i) => expect(v!.toString()).toBe(`v${i}`));
  });

  test('msgpack codec', async () => {
    const c = client<{ n: number; tags: string[] }>({ codec: 'msgpack' });
    await c.set('mp:1', { n: 7, tags: ['a', 'b'] });
    expect(await c.get('mp:1')).toEqual({ n: 7, tags: ['a', 'b'] });
    const v = await c.getOrLoad('mp:2', () => ({ n: 1, tags: [] }), { ttl: 10_000 });
    expect(v).toEqual({ n: 1, tags: [] });
    expect(await c.getOrLoad('mp:2', () => ({ n: 2, tags: [] }), { ttl: 10_000 })).toEqual({ n: 1, tags: [] });
  });

  test('ping and info', async () => {
    const c = client();
    const rtt = await c.ping();
    expect(Object.keys(rtt)).toEqual([`127.0.0.1:${s0.port}`]);
    const info = (await c.info())[`127.0.0.1:${s0.port}`] as { server: { frameLayoutVersion: number }; store: { keys: number } };
    expect(info.server.frameLayoutVersion).toBe(1);
    expect(typeof info.store.keys).toBe('number');
  });

  test('RESP and the binary protocol share the port and the data', async () => {
    const c = client();
    const r = redis(s0.port);
    await c.set('both:a', 'from-binary');
    expect(await r.get('both:a')).toBe('from-binary');
    await r.set('both:b', 'from-resp');
    expect((await c.get('both:b'))!.toString()).toBe('from-resp');
  });

  test('publish / subscribe, across protocols', async () => {
    const sub = client();
    const pub = client();
    const got: string[] = [];
    let wake: () => void = () => {};
    const s = await sub.subscribe('news', (m, ch) => {
      got.push(`${ch}:${m.toString()}`);
      wake();
    });
    const next = () => new Promise<void>((r) => (wake = r));
    let arrived = next();
    expect(await pub.publish('news', 'one')).toBeGreaterThanOrEqual(1);
    await arrived;
    arrived = next();
    await redis(s0.port).publish('news', 'two');
    await arrived;
    expect(got).toEqual(['news:one', 'news:two']);
    await s.unsubscribe();
    expect(await pub.publish('news', 'three')).toBe(0);
  });
});

describe('several nodes', () => {
  test('keys spread over the ring; mget / mset span nodes', async () => {
    const c = client({}, [s0, s1, s2]);
    const keys = Array.from({ length: 300 }, (_, i) => `multi:${i}`);
    const owners = new Set(keys.map((k) => c.nodeFor(k)));
    expect(owners.size).toBe(3);
    await c.mset(keys.map((k) => [k, `v:${k}`] as const));
    const vals = await c.mget([...keys, 'multi:missing']);
    expect(vals.slice(0, 300).map(String)).toEqual(keys.map((k) => `v:${k}`));
    expect(vals[300]).toBeNull();
    // Each key lives only on its owner.
    const direct = [s0, s1, s2].map((s) => redis(s.port));
    for (const k of keys.slice(0, 30)) {
      const present = await Promise.all(direct.map((r) => r.exists(k)));
      expect(present.filter((x) => x === 1).length).toBe(1);
    }
  });

  test('addNode and removeNode at runtime', async () => {
    const c = client({}, [s0, s1]);
    const keys = Array.from({ length: 3000 }, (_, i) => `topo:${i}`);
    const before = keys.map((k) => c.nodeFor(k));
    c.addNode(`127.0.0.1:${s2.port}`);
    const after = keys.map((k) => c.nodeFor(k));
    const moved = after.filter((n, i) => n !== before[i]);
    expect(moved.every((n) => n === `127.0.0.1:${s2.port}`)).toBe(true);
    expect(moved.length / keys.length).toBeGreaterThan(0.2);
    expect(moved.length / keys.length).toBeLessThan(0.45);
    expect(c.removeNode(`127.0.0.1:${s2.port}`)).toBe(true);
    expect(keys.map((k) => c.nodeFor(k))).toEqual(before);
  });
});

describe('hot keys and the L1', () => {
  test('a hot key is served from the L1 and invalidated within 100 ms of another client’s write', async () => {
    const reader = client({ poolSize: 1, l1: { hotThreshold: 3, ttl: 60_000 } });
    await reader.ping();
    // Writers opened after the reader: the first lands on the other worker, the second beside it.
    const writers = [client({ poolSize: 1, l1: false }), client({ poolSize: 1, l1: false })];
    for (const w of writers) await w.ping();
    const r = redis(s0.port);
    await r.ping();
    const workerOf = async (c: ShardcacheClient<unknown>) => ((await c.info())[`127.0.0.1:${s0.port}`] as { server: { worker: number } }).server.worker;
    const readerWorker = await workerOf(reader as ShardcacheClient<unknown>);
    const writerWorkers = await Promise.all(writers.map((w) => workerOf(w as ShardcacheClient<unknown>)));
    // One writer shares the reader's worker, the other does not: both invalidation paths run.
    expect(new Set(writerWorkers.map((w) => w === readerWorker))).toEqual(new Set([true, false]));
    const writes: [string, (v: string) => Promise<unknown>][] = [
      ['binary writer 1', (v) => writers[0]!.set('hot:1', v)],
      ['binary writer 2', (v) => writers[1]!.set('hot:1', v)],
      ['RESP writer', (v) => r.set('hot:1', v)],
      ['binary delete', () => writers[0]!.delete('hot:1')],
    ];
    await writers[0]!.set('hot:1', 'v0');
    let expected: string | null = 'v0';
    for (const [name, write] of writes) {
      // Warm up: reads until the key is hot and cached.
      for (let i = 0; i < 5; i++) expect((await reader.get('hot:1'))?.toString() ?? null).toBe(expected);
      const hitsBefore = reader.stats().l1.hits;
      expect((await reader.get('hot:1'))?.toString() ?? null).toBe(expected);
      if (expected !== null) expect(reader.stats().l1.hits, name).toBe(hitsBefore + 1);
      const value = `${name}:${Math.random()}`;
      const invalidated = invalidationOf(reader as ShardcacheClient<unknown>, 'hot:1', 100);
      await write(value);
      await invalidated;
      expected = name === 'binary delete' ? null : value;
      expect((await reader.get('hot:1'))?.toString() ?? null, name).toBe(expected);
      if (expected === null) await writers[0]!.set('hot:1', (expected = 'again'));
    }
    const st = reader.stats();
    expect(st.hotKeys[0]!.key).toBe('hot:1');
    expect(st.l1.invalidations).toBeGreaterThanOrEqual(3);
  });

  test('FLUSHALL over RESP clears the L1', async () => {
    const reader = client({ poolSize: 1, l1: { hotThreshold: 2, ttl: 60_000 } });
    await reader.set('hot:flush', 'x');
    for (let i = 0; i < 4; i++) await reader.get('hot:flush');
    expect(reader.stats().l1.entries).toBeGreaterThan(0);
    const all = new Promise<void>((resolve) => reader.on('invalidate', (k) => k === null && resolve()));
    await redis(s0.port).flushall();
    await all;
    expect(reader.stats().l1.entries).toBe(0);
    expect(await reader.get('hot:flush')).toBeNull();
  });

  test('a hot key that expires on the server is invalidated in the L1', async () => {
    const reader = client({ poolSize: 1, l1: { hotThreshold: 2, ttl: 60_000 } });
    const writer = client({ l1: false });
    const keys = ['exp:a', 'exp:b', 'exp:c', 'exp:d'];
    // Active expiry (on whichever worker owns each key's shard) drops them: each is announced.
    const announced = Promise.all(keys.map((k) => invalidationOf(reader as ShardcacheClient<unknown>, k, 5000)));
    for (const key of keys) {
      await writer.set(key, 'short-lived', { ttl: 150 });
      for (let i = 0; i < 4; i++) expect((await reader.get(key))!.toString()).toBe('short-lived');
    }
    expect(reader.stats().l1.entries).toBe(4);
    await announced;
    expect(reader.stats().l1.entries).toBe(0);
    expect(await reader.get('exp:a')).toBeNull();
  });

  test('cold keys never enter the L1', async () => {
    const c = client({ l1: { hotThreshold: 1000 } });
    for (let i = 0; i < 50; i++) await c.get(`cold:${i % 5}`);
    expect(c.stats().l1.entries).toBe(0);
  });

  test('a full L1 admits a key only if it is read more often than the entry it would evict', async () => {
    const { entryCost } = await import('../../src/client/l1.ts');
    // Room for two entries of these sizes, not three.
    const c = client({ poolSize: 1, l1: { maxBytes: entryCost('adm:hot1', 1) * 2 + 10 } });
    for (const k of ['adm:hot1', 'adm:hot2', 'adm:cold']) await c.set(k, 'v');
    // hot1 and hot2 enter the L1 on their second reads, which fills it.
    for (let i = 0; i < 2; i++) {
      await c.get('adm:hot1');
      await c.get('adm:hot2');
    }
    expect(c.stats().l1.entries).toBe(2);
    // adm:cold, read twice, reaches the threshold; its count (2) does not beat the oldest entry's
    // (2), so it is not admitted and the hot keys keep their places.
    await c.get('adm:cold');
    await c.get('adm:cold');
    const st = c.stats().l1;
    expect(st.rejected).toBe(1);
    expect(st.entries).toBe(2);
    const hits = st.hits;
    await c.get('adm:hot1');
    await c.get('adm:hot2');
    expect(c.stats().l1.hits).toBe(hits + 2);
    // Read more often than the oldest entry, it is admitted and the oldest goes.
    for (let i = 0; i < 3; i++) await c.get('adm:cold');
    expect(c.stats().l1.evictions).toBe(1);
    const before = c.stats().l1.hits;
    await c.get('adm:cold');
    expect(c.stats().l1.hits).toBe(before + 1);
  });

  test('by default a key enters the L1 on its second read, and stats keep the 32 hottest', async () => {
    const c = client({ poolSize: 1 });
    await c.set('second:hit', 'v');
    await c.get('second:hit');
    expect(c.stats().l1.entries).toBe(0);
    await c.get('second:hit');
    expect(c.stats().l1.entries).toBe(1);
    const hits = c.stats().l1.hits;
    expect((await c.get('second:hit'))!.toString()).toBe('v');
    expect(c.stats().l1.hits).toBe(hits + 1);
    // 40 missing keys (never cached, so every read is counted) read 2..41 times each: the 32
    // kept are the 32 most-read.
    const counter = client({ poolSize: 1 });
    for (let k = 0; k < 40; k++) for (let i = 0; i < k + 2; i++) await counter.get(`rank:${k}`);
    const kept = counter.stats().hotKeys.map((h) => h.key);
    expect(kept).toHaveLength(32);
    expect(new Set(kept)).toEqual(new Set(Array.from({ length: 32 }, (_, i) => `rank:${39 - i}`)));
  });
});

describe('getOrLoad in one process', () => {
  test('1,000 concurrent calls on a cold key call the loader exactly once', async () => {
    const c = client();
    let calls = 0;
    const results = await Promise.all(
      Array.from({ length: 1000 }, () =>
        c.getOrLoad(
          'stampede:one',
          async () => {
            calls++;
            await new Promise((r) => setTimeout(r, 30));
            return 'loaded';
          },
          { ttl: 30_000 },
        ),
      ),
    );
    expect(calls).toBe(1);
    expect(results.every((v) => v.toString() === 'loaded')).toBe(true);
    const st = c.stats().stampede;
    expect(st.loaderCalls).toBe(1);
    expect(st.singleFlightJoins).toBe(999);
    expect(st.stampedesAvoided).toBe(999);
    // Stored with a jittered TTL of at most 30 s fresh + 30 s stale.
    const ttl = await c.ttl('stampede:one');
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  test('a stale copy is served while the lock holder reloads', async () => {
    const a = client({ l1: false });
    const b = client({ l1: false });
    await a.getOrLoad('stale:k', () => 'v1', { ttl: 50, staleFor: 60_000, jitter: 0, beta: 0 });
    await new Promise((r) => setTimeout(r, 80));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = a.getOrLoad('stale:k', async () => {
      await gate;
      return 'v2';
    }, { ttl: 60_000, beta: 0 });
    // Let a take the lock, then b finds it taken and serves the stale copy without loading.
    await new Promise((r) => setTimeout(r, 50));
    let bCalled = false;
    const fromB = await b.getOrLoad('stale:k', () => ((bCalled = true), 'never'), { ttl: 60_000, beta: 0 });
    expect(fromB.toString()).toBe('v1');
    expect(bCalled).toBe(false);
    expect(b.stats().stampede.staleServed).toBe(1);
    release();
    expect((await slow).toString()).toBe('v2');
    expect((await b.getOrLoad('stale:k', () => 'never', { ttl: 60_000 })).toString()).toBe('v2');
  });

  test('XFetch refreshes a value in the background before it expires', async () => {
    const c = client({ l1: false });
    let loads = 0;
    const loader = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return `v${loads}`;
    };
    // A slow loader (20 ms) and a short TTL: near expiry every read tends to refresh early.
    await c.getOrLoad('xf:k', loader, { ttl: 100, jitter: 0, beta: 50 });
    for (let i = 0; i < 40 && c.stats().stampede.earlyRefreshes === 0; i++) {
      const v = await c.getOrLoad('xf:k', loader, { ttl: 100, jitter: 0, beta: 50 });
      expect(v.toString()).toMatch(/^v\d+$/);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(c.stats().stampede.earlyRefreshes).toBeGreaterThan(0);
  });
});
