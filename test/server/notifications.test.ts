/**
 * Keyspace notifications (notify-keyspace-events KEA, set at startup) across two workers: a
 * PSUBSCRIBE __key*__:* client on one worker receives the keyspace and keyevent messages for
 * writes made on the other worker, in order and in Redis's exact wire form.
 *
 * Placement: two connections opened one after the other (the first answered before the second
 * opens) land on different workers.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
const clients: Redis[] = [];
const raws: RawConn[] = [];
beforeAll(async () => {
  srv = await startServer(['--notify-keyspace-events', 'KEA', '--enable-debug-command', 'yes'], { threads: 2 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
  for (const r of raws) r.close();
  await srv.stop();
});

function ioredis(): Redis {
  const c = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}


/** Collects pmessages; count(n) resolves once n have arrived (rejects after 5 s). */
function collect(sub: Redis): { events: [string, string][]; count(n: number): Promise<[string, string][]> } {
  const events: [string, string][] = [];
  const waiters: (() => void)[] = [];
  sub.on('pmessage', (_pattern: string, channel: string, message: string) => {
    events.push([channel, message]);
    for (const w of waiters.splice(0)) w();
  });
  return {
    events,
    count: (n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${n} events: ${JSON.stringify(events)}`)), 5000);
        const check = () => {
          if (events.length >= n) {
            clearTimeout(timer);
            resolve(events.slice(0, n));
          } else waiters.push(check);
        };
        check();
      }),
  };
}

describe('keyspace notifications across workers', () => {
  it('SET, EXPIRE, DEL and INCRBY on one worker reach a PSUBSCRIBE __key*__:* client on the other', async () => {
    const sub = ioredis();
    expect(await sub.psubscribe('__key*__:*')).toBe(1);
    const writer = ioredis();
    const got = collect(sub);
    expect(await writer.set('nk', 'v')).toBe('OK');
    expect(await writer.expire('nk', 100)).toBe(1);
    expect(await writer.del('nk')).toBe(1);
    expect(await writer.incrby('nn', 5)).toBe(5);
    expect(await got.count(8)).toEqual([
      ['__keyspace@0__:nk', 'set'],
      ['__keyevent@0__:set', 'nk'],
      ['__keyspace@0__:nk', 'expire'],
      ['__keyevent@0__:expire', 'nk'],
      ['__keyspace@0__:nk', 'del'],
      ['__keyevent@0__:del', 'nk'],
      ['__keyspace@0__:nn', 'incrby'],
      ['__keyevent@0__:incrby', 'nn'],
    ]);
  });

  it("with 'n', created keys signal 'new' before the command's own event, in Redis's order", async () => {
    const writer = ioredis();
    expect(await writer.config('SET', 'notify-keyspace-events', 'KEAn')).toBe('OK');
    try {
      const sub = ioredis();
      await sub.psubscribe('__keyevent@*__:*');
      const got = collect(sub);
      // As redis-server 7.0 sends them for the same commands (compared by hand, event by event).
      await writer.mset('ev:d', '1', 'ev:e', '2');
      await writer.rename('ev:d', 'ev:f');
      await writer.set('ev:k', 'v', 'EX', 100);
      await writer.decr('ev:v');
      await writer.set('ev:u', 'v');
      await writer.move('ev:u', 1);
      await writer.set('ev:e', 'again');
      const want: [string, string][] = [
        ['__keyevent@0__:new', 'ev:d'],
        ['__keyevent@0__:set', 'ev:d'],
        ['__keyevent@0__:new', 'ev:e'],
        ['__keyevent@0__:set', 'ev:e'],
        ['__keyevent@0__:new', 'ev:f'],
        ['__keyevent@0__:rename_from', 'ev:d'],
        ['__keyevent@0__:rename_to', 'ev:f'],
        ['__keyevent@0__:new', 'ev:k'],
        ['__keyevent@0__:set', 'ev:k'],
        ['__keyevent@0__:expire', 'ev:k'],
        ['__keyevent@0__:new', 'ev:v'],
        ['__keyevent@0__:incrby', 'ev:v'],
        ['__keyevent@0__:new', 'ev:u'],
        ['__keyevent@0__:set', 'ev:u'],
        ['__keyevent@1__:new', 'ev:u'],
        ['__keyevent@0__:move_from', 'ev:u'],
        ['__keyevent@1__:move_to', 'ev:u'],
        ['__keyevent@0__:set', 'ev:e'],
      ];
      expect(await got.count(want.length)).toEqual(want);
    } finally {
      await writer.config('SET', 'notify-keyspace-events', 'KEA');
    }
  });

  it('a RESP2 subscriber gets the exact pmessage frames', async () => {
    const sub = await RawConn.connect(srv.port);
    raws.push(sub);
    expect(await sub.request(enc('PSUBSCRIBE', '__key*__:*'))).toBe('*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n');
    const writer = await RawConn.connect(srv.port);
    raws.push(writer);
    expect(await writer.request(enc('SET', 'raw:k', '1'))).toBe('+OK\r\n');
    expect(await sub.request('', 2)).toBe(
      '*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$20\r\n__keyspace@0__:raw:k\r\n$3\r\nset\r\n' +
        '*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$5\r\nraw:k\r\n',
    );
  });
});

describe('keys the store drops by itself', () => {
  it('expired: the active expiry cycle emits `expired` on every worker', async () => {
    const sub = ioredis();
    const ev = collect(sub);
    await sub.psubscribe('__keyevent@0__:expired');
    const w = ioredis();
    await w.set('exp:a', '1', 'PX', 30);
    const [first] = await ev.count(1);
    expect(first).toEqual(['__keyevent@0__:expired', 'exp:a']);
  });

  it('expired: a lazy expiry on access emits it too', async () => {
    const w = ioredis();
    await w.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    try {
      const sub = ioredis();
      const ev = collect(sub);
      await sub.psubscribe('__keyevent@0__:expired');
      await w.set('exp:lazy', '1', 'PX', 1);
      await new Promise((r) => setTimeout(r, 5));
      expect(await w.get('exp:lazy')).toBeNull();
      expect((await ev.count(1))[0]).toEqual(['__keyevent@0__:expired', 'exp:lazy']);
    } finally {
      await w.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
    }
  });

  it('evicted: keys evicted under maxmemory emit `evicted`', async () => {
    const s2 = await startServer(['--notify-keyspace-events', 'Ee', '--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru', '--shards', '1'], { threads: 2 });
    const sub = new Redis({ port: s2.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const w = new Redis({ port: s2.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    try {
      const ev = collect(sub);
      await sub.psubscribe('__keyevent@0__:evicted');
      const v = 'v'.repeat(10_000);
      for (let i = 0; i < 400; i++) await w.set(`ev:${i}`, v);
      const [first] = await ev.count(1);
      expect(first).toEqual(['__keyevent@0__:evicted', 'ev:0']);
    } finally {
      await sub.quit();
      await w.quit();
      await s2.stop();
    }
  });
});

describe('tracking and expiry', () => {
  it('a key read by a tracking client is invalidated when it expires', async () => {
    const t = await RawConn.connect(srv.port);
    raws.push(t);
    await t.request(enc('HELLO', '3'));
    expect(await t.request(enc('CLIENT', 'TRACKING', 'on'))).toBe('+OK\r\n');
    const w = ioredis();
    // Long enough for the GET below to find it on a loaded machine.
    await w.set('trk:exp', 'v', 'PX', 400);
    expect(await t.request(enc('GET', 'trk:exp'))).toBe('$1\r\nv\r\n');
    const push = '>2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\ntrk:exp\r\n';
    expect(await t.until((s) => s.includes(push), 5000)).toContain(push);
  });
});
