/**
 * Real clients, unmodified: ioredis and node-redis against a two-worker server.
 */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
const open: { quit(): Promise<unknown> }[] = [];
beforeAll(async () => {
  srv = await startServer([], { threads: 2 });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.quit().catch(() => undefined)));
  await srv.stop();
});

function ioredis(opts: Record<string, unknown> = {}): Redis {
  const c = new Redis({ port: srv.port, host: '127.0.0.1', lazyConnect: false, maxRetriesPerRequest: 1, ...opts });
  open.push(c);
  return c;
}

async function nodeRedis(opts: Record<string, unknown> = {}) {
  const c = createClient({ socket: { port: srv.port, host: '127.0.0.1' }, ...opts });
  c.on('error', () => undefined);
  await c.connect();
  open.push({ quit: () => c.quit() });
  return c;
}

describe('ioredis', () => {
  it('basic commands, TTLs and errors', async () => {
    const r = ioredis();
    expect(await r.set('io:a', 'hello', 'EX', 100)).toBe('OK');
    expect(await r.get('io:a')).toBe('hello');
    expect(await r.ttl('io:a')).toBe(100);
    expect(await r.incrby('io:n', 5)).toBe(5);
    expect(await r.incrbyfloat('io:f', '1.5')).toBe('1.5');
    expect(await r.mget('io:a', 'io:none')).toEqual(['hello', null]);
    await expect(r.incr('io:a')).rejects.toThrow('ERR value is not an integer or out of range');
    expect(await r.getBuffer('io:a')).toEqual(Buffer.from('hello'));
    expect(await r.exists('io:a', 'io:n', 'zz')).toBe(2);
  });

  it('pipelines 1000 commands and gets every reply in order', async () => {
    const r = ioredis();
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`io:p${i}`, String(i));
    for (let i = 0; i < 1000; i++) p.get(`io:p${i}`);
    const res = (await p.exec())!;
    expect(res.slice(0, 1000).every(([e, v]) => e === null && v === 'OK')).toBe(true);
    expect(res.slice(1000).map(([, v]) => v)).toEqual(Array.from({ length: 1000 }, (_, i) => String(i)));
  });

  it('MULTI/EXEC, and WATCH aborting on a write from another connection', async () => {
    const r = ioredis();
    const other = ioredis();
    expect(await r.multi().set('io:t', '1').incr('io:t').get('io:t').exec()).toEqual([
      [null, 'OK'],
      [null, 2],
      [null, '2'],
    ]);
    await r.watch('io:w');
    await other.set('io:w', 'changed');
    expect(await r.multi().set('io:w', 'mine').exec()).toBeNull();
    expect(await r.get('io:w')).toBe('changed');
    await r.watch('io:w');
    expect(await r.multi().set('io:w', 'mine').exec()).toEqual([[null, 'OK']]);
  });

  it('WATCH is per key and database: writes of other keys, and of the key in another database, leave EXEC free', async () => {
    const r = ioredis({ db: 2 });
    const other = ioredis();
    await r.watch('io:wk');
    await other.set('io:wk', 'db 0');
    // 100,000 writes: over 6,000 in each of the 16 shards, every one tracked while io:wk is watched.
    for (let batch = 0; batch < 10; batch++) {
      const p = other.pipeline();
      for (let i = 0; i < 10_000; i++) p.set(`io:wk:${i}`, String(batch));
      await p.exec();
    }
    expect(await r.multi().set('io:wk', 'mine').exec()).toEqual([[null, 'OK']]);
    await r.watch('io:wk');
    await other.select(2);
    await other.set('io:wk', 'theirs');
    expect(await r.multi().set('io:wk', 'mine').exec()).toBeNull();
    expect(await r.get('io:wk')).toBe('theirs');
  });

  it('a queued error aborts EXEC (EXECABORT)', async () => {
    const r = ioredis();
    await r.call('MULTI');
    await expect(r.call('SET', 'x')).rejects.toThrow("ERR wrong number of arguments for 'set' command");
    await expect(r.call('EXEC')).rejects.toThrow('EXECABORT Transaction discarded because of previous errors.');
  });

  it('pub/sub reaches subscribers on every worker', async () => {
    const subs = [ioredis(), ioredis(), ioredis()];
    const pub = ioredis();
    const got = subs.map(
      (s) =>
        new Promise<[string, string]>((resolve) => {
          s.on('message', (ch: string, msg: string) => resolve([ch, msg]));
        }),
    );
    for (const s of subs) await s.subscribe('io:chan');
    const psub = ioredis();
    const pgot = new Promise<string[]>((resolve) => psub.on('pmessage', (p: string, ch: string, m: string) => resolve([p, ch, m])));
    await psub.psubscribe('io:ch*');
    // Pattern subscriptions are announced to other workers asynchronously; wait until counted.
    for (let i = 0; i < 100 && (await pub.publish('io:nobody', 'x')) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await pub.publish('io:chan', 'hi')).toBe(4);
    expect(await Promise.all(got)).toEqual([
      ['io:chan', 'hi'],
      ['io:chan', 'hi'],
      ['io:chan', 'hi'],
    ]);
    expect(await pgot).toEqual(['io:ch*', 'io:chan', 'hi']);
    expect(await pub.pubsub('NUMSUB', 'io:chan')).toEqual(['io:chan', 3]);
    expect(await pub.pubsub('NUMPAT')).toBe(1);
    expect((await pub.pubsub('CHANNELS', 'io:*')) as string[]).toEqual(['io:chan']);
  });

  it('shard channels (SSUBSCRIBE, SPUBLISH) reach subscribers on every worker and stay apart from channels', async () => {
    const subs = [ioredis(), ioredis(), ioredis()];
    const plain = ioredis();
    const pub = ioredis();
    const got = subs.map((s) => {
      const seen: string[] = [];
      s.on('smessage', (ch: string, msg: string) => seen.push(`${ch}:${msg}`));
      s.on('message', (ch: string, msg: string) => seen.push(`plain ${ch}:${msg}`));
      return seen;
    });
    const plainGot: string[] = [];
    plain.on('message', (ch: string, msg: string) => plainGot.push(`${ch}:${msg}`));
    plain.on('pmessage', (_p: string, ch: string, msg: string) => plainGot.push(`p ${ch}:${msg}`));
    for (const s of subs) expect(await s.ssubscribe('io:shard', 'io:other')).toBe(2);
    await plain.subscribe('io:shard');
    await plain.psubscribe('io:*');
    expect(await pub.spublish('io:shard', 'one')).toBe(3);
    // A PUBLISH of the same name reaches the channel's subscriber and the pattern's, not the shard channel's.
    await expect.poll(() => pub.publish('io:shard', 'two')).toBe(2);
    expect(await pub.pubsub('SHARDNUMSUB', 'io:shard', 'io:other', 'io:none')).toEqual(['io:shard', 3, 'io:other', 3, 'io:none', 0]);
    expect(await pub.pubsub('NUMSUB', 'io:shard', 'io:other')).toEqual(['io:shard', 1, 'io:other', 0]);
    expect(((await pub.pubsub('SHARDCHANNELS', 'io:*')) as string[]).sort()).toEqual(['io:other', 'io:shard']);
    expect(await pub.pubsub('CHANNELS', 'io:sh*')).toEqual(['io:shard']);
    expect(await pub.info('stats')).toMatch(/pubsubshard_channels:2\r\n/);
    // A PING through each subscriber orders it after every message sent to it.
    await Promise.all([...subs, plain].map((s) => s.ping()));
    for (const seen of got) expect(seen).toEqual(['io:shard:one']);
    expect(plainGot.sort()).toEqual(['io:shard:two', 'p io:shard:two']);
    // The last subscriber of each leaves: the counts follow.
    for (const s of subs) await s.sunsubscribe();
    expect(await pub.spublish('io:shard', 'three')).toBe(0);
    expect(await pub.pubsub('SHARDNUMSUB', 'io:shard')).toEqual(['io:shard', 0]);
    expect(await pub.info('stats')).toMatch(/pubsubshard_channels:0\r\n/);
  });

  it('PUBLISH and PUBSUB NUMSUB count subscribers of any channel name', async () => {
    // Names whose second hash has its top bit set, which a signed comparison once missed.
    const names = ['foo', 'a', 'c', 'dd1', 'news'];
    const sub = ioredis();
    await sub.subscribe(...names);
    const pub = ioredis();
    for (const ch of names) {
      expect(await pub.pubsub('NUMSUB', ch)).toEqual([ch, 1]);
      expect(await pub.publish(ch, 'x')).toBe(1);
    }
    await sub.unsubscribe(...names);
    for (const ch of names) expect(await pub.pubsub('NUMSUB', ch)).toEqual([ch, 0]);
  });

  it('SELECT isolates databases; SWAPDB and MOVE', async () => {
    const r = ioredis({ db: 3 });
    await r.set('io:db', 'three');
    const r0 = ioredis();
    expect(await r0.get('io:db')).toBeNull();
    expect(await r.move('io:db', 4)).toBe(1);
    const r4 = ioredis({ db: 4 });
    expect(await r4.get('io:db')).toBe('three');
    await r0.swapdb(4, 5);
    expect(await r4.get('io:db')).toBeNull();
    expect(await ioredis({ db: 5 }).get('io:db')).toBe('three');
  });
});

describe('node-redis', () => {
  it('RESP2: commands, pipelining and transactions', async () => {
    const c = await nodeRedis();
    expect(await c.set('nr:a', 'x', { PX: 5000 })).toBe('OK');
    expect(await c.get('nr:a')).toBe('x');
    const [a, b, d] = await Promise.all([c.incr('nr:n'), c.incr('nr:n'), c.get('nr:n')]);
    expect([a, b, d]).toEqual([1, 2, '2']);
    expect(await c.multi().set('nr:m', '1').incrBy('nr:m', 41).exec()).toEqual(['OK', 42]);
    const { cursor, keys } = await c.scan('0', { MATCH: 'nr:*', COUNT: 100 });
    expect(Number(cursor)).toBeGreaterThanOrEqual(0);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('RESP3 after HELLO 3', async () => {
    const c = await nodeRedis({ RESP: 3 });
    expect(await c.set('nr3:k', 'v')).toBe('OK');
    expect(await c.get('nr3:k')).toBe('v');
    expect(await c.get('nr3:none')).toBeNull();
    const hello = (await c.sendCommand(['HELLO', '3'])) as Record<string, unknown> | unknown[];
    const h = hello instanceof Map ? Object.fromEntries(hello) : Array.isArray(hello) ? Object.fromEntries(chunk(hello)) : hello;
    expect(h['proto']).toBe(3);
    expect(h['server']).toBe('redis');
  });

  it('pub/sub across workers', async () => {
    const sub = await nodeRedis();
    const pub = await nodeRedis();
    const got = new Promise<string>((resolve) => void sub.subscribe('nr:chan', (m: string) => resolve(m)));
    await new Promise((r) => setTimeout(r, 50));
    await pub.publish('nr:chan', 'hello');
    expect(await got).toBe('hello');
  });

  it('shard pub/sub in RESP3: sSubscribe hears sPublish from another worker as a push', async () => {
    const sub = await nodeRedis({ RESP: 3 });
    const pub = await nodeRedis();
    const got = new Promise<string>((resolve) => void sub.sSubscribe('nr:shard', (m: string) => resolve(m)));
    await expect.poll(() => pub.sendCommand(['PUBSUB', 'SHARDNUMSUB', 'nr:shard'])).toEqual(['nr:shard', 1]);
    expect(await pub.sPublish('nr:shard', 'hello')).toBe(1);
    expect(await Promise.race([got, new Promise((r) => setTimeout(r, 5000, 'no message in 5 s'))])).toBe('hello');
    // The subscriber's connection still answers commands in RESP3 while subscribed.
    expect(await sub.ping()).toBe('PONG');
  });
});

function chunk(a: unknown[]): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (let i = 0; i < a.length; i += 2) out.push([String(a[i]), a[i + 1]]);
  return out;
}
