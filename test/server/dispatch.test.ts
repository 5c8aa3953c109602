/**
 * Pipelined batches (src/server/dispatch.ts, fast-path.ts) under both lock scopes (lock-scope.ts): one worker holds the union of
 * a batch's shards, several workers lock shard by shard per run. Either way a batch must behave as
 * its commands one after another: replies in request order, each command seeing the ones before
 * it, and another connection never seeing a later write of the batch without an earlier one.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import { seeded } from '../seeded.ts';
import { enc, orderingKeys, orderingReader, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';


type Reply = string | number | null | (string | null)[] | Error;

/** What Redis replies to one command of the mix, applied to `db`. */
function model(db: Map<string, string>, cmd: string[]): Reply {
  const [name, k, v] = cmd as [string, string, string];
  // Redis's string2ll: no sign on zero, no leading zeros ("04" is not an integer).
  const int = (s: string | undefined) => (s === undefined ? 0 : /^(0|-?[1-9]\d*)$/.test(s) ? Number(s) : null);
  switch (name) {
    case 'set':
      db.set(k, v);
      return 'OK';
    case 'setex':
    case 'psetex':
      db.set(k, cmd[3]!);
      return 'OK';
    case 'get':
      return db.get(k) ?? null;
    case 'incr':
    case 'decr':
    case 'incrby':
    case 'decrby': {
      const n = int(db.get(k));
      const by = name === 'incr' ? 1 : name === 'decr' ? -1 : (name === 'incrby' ? 1 : -1) * Number(v);
      if (n === null) return new Error('ERR value is not an integer or out of range');
      db.set(k, String(n + by));
      return n + by;
    }
    case 'append':
      db.set(k, (db.get(k) ?? '') + v);
      return db.get(k)!.length;
    case 'del':
      return db.delete(k) ? 1 : 0;
    case 'strlen':
      return db.get(k)?.length ?? 0;
    case 'mget':
      return cmd.slice(1).map((x) => db.get(x) ?? null);
    case 'exists':
      return db.has(k) ? 1 : 0;
    case 'getdel': {
      const old = db.get(k) ?? null;
      db.delete(k);
      return old;
    }
    case 'getset': {
      const old = db.get(k) ?? null;
      db.set(k, v);
      return old;
    }
    case 'setnx':
      if (db.has(k)) return 0;
      db.set(k, v);
      return 1;
    case 'unlink':
      return db.delete(k) ? 1 : 0;
    case 'mset':
      for (let i = 1; i < cmd.length; i += 2) db.set(cmd[i]!, cmd[i + 1]!);
      return 'OK';
    default:
      throw new Error(name);
  }
}

for (const threads of [1, 2]) {
  describe(`pipelined batches, ${threads} worker(s)`, () => {
    let srv: TestServer;
    const conns: Redis[] = [];
    const conn = () => {
      const c = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      conns.push(c);
      return c;
    };
    beforeAll(async () => {
      srv = await startServer([], { threads });
    });
    afterAll(async () => {
      await Promise.all(conns.map((c) => c.quit().catch(() => undefined)));
      await srv.stop();
    });

    it('a random mix of key commands replies as the same commands run one by one', async () => {
      const r = conn();
      const rand = seeded(threads * 7919);
      const keys = Array.from({ length: 40 }, (_, i) => `mix${threads}:${i}`);
      const db = new Map<string, string>();
      for (let round = 0; round < 20; round++) {
        const cmds: string[][] = [];
        for (let i = 0; i < 200; i++) {
          const k = keys[rand(keys.length)]!;
          const kind = ['get', 'get', 'set', 'set', 'setttl', 'setex', 'incr', 'decr', 'incrby', 'decrby', 'append', 'del', 'strlen', 'mget', 'mset', 'exists', 'getdel', 'getset', 'setnx', 'unlink'][rand(20)]!;
          if (kind === 'incrby' || kind === 'decrby') cmds.push([kind, k, String(rand(200) - 100)]);
          else if (kind === 'setttl') cmds.push(['set', k, String(rand(100)), rand(2) === 0 ? 'EX' : 'px', String(1000 + rand(1000) * 1000)]);
          else if (kind === 'setex') cmds.push([rand(2) === 0 ? 'setex' : 'psetex', k, String(1000 + rand(1000) * 1000), String(rand(100))]);
          else if (kind === 'set') cmds.push(['set', k, rand(4) === 0 ? `v${rand(1000)}` : String(rand(100))]);
          else if (kind === 'append') cmds.push(['append', k, String(rand(10))]);
          else if (kind === 'getset' || kind === 'setnx') cmds.push([kind, k, String(rand(100))]);
          else if (kind === 'mget') cmds.push(['mget', k, keys[rand(keys.length)]!, keys[rand(keys.length)]!]);
          else if (kind === 'mset') cmds.push(['mset', k, String(rand(100)), keys[rand(keys.length)]!, `m${rand(100)}`, keys[rand(keys.length)]!, String(rand(9))]);
          else cmds.push([kind, k]);
        }
        const p = r.pipeline();
        for (const c of cmds) p.call(c[0]!, ...c.slice(1));
        const got = (await p.exec())!.map(([e, v]) => (e ? `error: ${(e as Error).message}` : v));
        const want = cmds.map((c) => {
          const m = model(db, c);
          return m instanceof Error ? `error: ${m.message}` : m;
        });
        expect(got).toEqual(want);
      }
    });

    it('another connection never sees a later write of a batch without an earlier one', async () => {
      const writer = conn();
      const { flag, data } = orderingKeys(`ord${threads}`, threads);
      const reading = orderingReader(conn(), flag, data);
      for (let round = 1; round <= 300; round++) {
        const p = writer.pipeline();
        for (const d of data) p.set(d, String(round));
        p.set(flag, String(round));
        await p.exec();
      }
      const { seen, violations } = await reading.stop();
      expect(seen).toBeGreaterThan(0);
      expect(violations).toBe(0);
    });
  });
}

describe.skipIf(!hasBinary('redis-server'))('the fast path on edge keys and values, against redis-server', () => {
  it('empty key, CRLF inside a key, mixed-case names, a 70 KB key, an empty value: the same bytes', async () => {
    const [ours, redis] = await Promise.all([startServer([], { threads: 1 }), startRedis('64mb')]);
    const big = 'k'.repeat(70_000);
    const reqs = [
      ['SET', '', 'empty'], ['GET', ''], ['SET', 'a\r\nb', 'crlf'], ['GET', 'a\r\nb'], ['set', 'mixed', 'Case'], ['gEt', 'mixed'], ['SET', big, 'v'], ['GET', big], ['STRLEN', big], ['GET', 'nokey'], ['SET', 'e', ''], ['GET', 'e'],
      // The INCR family: names in any case, its errors, int64 bounds, and near-misses of its names
      // and arities (which the fast path must leave to the table).
      ['INCR', 'n'], ['incr', 'n'], ['DeCr', 'n'], ['INCRBY', 'n', '-5'], ['decrBY', 'n', '7'], ['INCR', 'e'], ['INCR', 'mixed'], ['INCRBY', 'n', 'x'], ['INCRBY', 'n', ''], ['INCRBY', 'n', '04'],
      ['INCRBY', 'n', '9223372036854775807'], ['SET', 'm', '9223372036854775806'], ['INCR', 'm'], ['INCR', 'm'], ['DECRBY', 'n', '-9223372036854775808'], ['SET', 'lo', '-9223372036854775807'], ['DECR', 'lo'], ['DECR', 'lo'],
      ['INCRBY', big, '3'], ['GET', big], ['INCR', 'n', 'extra'], ['INCRBY', 'n'], ['DECRBY', 'n', '1', '2'], ['INCRBX', 'n', '1'], ['INCX', 'n'], ['ECRBY', 'n'], ['DECRBY', 'n', '100000000000000000000'],
      // SET with EX or PX, SETEX and PSETEX: valid and invalid expiries, and the options the fast
      // path leaves to the table.
      ['SET', 'x', 'v', 'EX', '1000'], ['TTL', 'x'], ['set', 'x', 'v', 'px', '100000'], ['TTL', 'x'], ['SET', 'x', 'v', 'Ex', '0'], ['SET', 'x', 'v', 'EX', '-1'], ['SET', 'x', 'v', 'EX', 'abc'],
      ['SET', 'x', 'v', 'EX', '9223372036854775807'], ['SET', 'x', 'v', 'PX', '9223372036854775807'], ['SET', 'x', 'v', 'EX', '9223372036854775808'], ['SET', 'x', 'v', 'EXX', '1'], ['SET', 'x', 'v', 'E', '1'], ['SET', 'x', 'v', 'NX', 'EX'], ['SET', 'x', 'v', 'XX', 'GET'], ['SET', 'x', 'v', 'KEEPTTL', '1'], ['TTL', 'x'],
      ['SETEX', 'y', '1000', 'w'], ['TTL', 'y'], ['GET', 'y'], ['SETEX', 'y', '0', 'w'], ['setex', 'y', 'x', 'w'], ['PSETEX', 'y', '200000', 'w2'], ['TTL', 'y'], ['GET', 'y'], ['pSeTeX', 'y', '-5', 'w'], ['PSETEX', 'y', '1'], ['SETEX', 'y', '1', 'w', 'extra'], ['SETEX', big, '1000', 'z'], ['TTL', big],
      ['PSETEX', 'y', '9223372036854775807', 'w'], ['SETEX', 'y', '9223372036854775', 'w'],
      // The kinds that run their handler on views: each with its replies and errors, and the
      // argument counts that go to the table instead.
      ['SET', 'h', 'v'], ['EXISTS', 'h'], ['exists', 'nokey'], ['STRLEN', 'h'], ['APPEND', 'h', 'xyz'], ['GETSET', 'h', 'new'], ['SETNX', 'h', 'x'], ['SETNX', 'h2', 'x'],
      ['EXPIRE', 'h', '1000'], ['TTL', 'h'], ['PEXPIRE', 'h', '2000000'], ['TTL', 'h'], ['PERSIST', 'h'], ['PERSIST', 'h'], ['TTL', 'h'], ['EXPIRE', 'h', 'abc'], ['PEXPIRE', 'h', '9223372036854775807'],
      ['GETDEL', 'h'], ['GETDEL', 'h'], ['DEL', 'h2'], ['UNLINK', 'h2'], ['SET', 'h2', 'x'], ['unLINK', 'h2'], ['DEL', 'nokey'], ['TTL', 'nokey'], ['PTTL', 'nokey'], ['EXPIRE', big, '100'], ['TTL', big], ['STRLEN', big],
      ['INCR', 'h3'], ['APPEND', 'h3', '5'], ['INCR', 'h3'], ['EXPIRE', 'h3', '0'], ['EXISTS', 'h3'], ['SET', 'h4', 'v', 'EX', '100'], ['GETSET', 'h4', 'w'], ['TTL', 'h4'],
      ['EXISTS', 'h', 'h2'], ['DEL', 'h4', 'h'], ['EXPIRE', 'y', '10', 'NX'], ['TTL', 'a', 'b'], ['STRLEN'], ['GETDEL', 'a', 'b'], ['APPEND', 'a'], ['SETNX', 'a'],
      // PUBLISH runs its handler unlocked, after the batch before it; nobody listens here.
      ['SET', 'p', '1'], ['PUBLISH', 'ch', 'm'], ['GET', 'p'], ['publish', big, ''], ['PUBLISH', 'ch'], ['PUBLISH', 'ch', 'm', 'x'], ['PUBLISHX', 'ch', 'm'],
    ];
    const wire = reqs.map((a) => enc(...a)).join('');
    const [a, b] = await Promise.all([RawConn.connect(redis.port), RawConn.connect(ours.port)]);
    try {
      const [theirs, got] = await Promise.all([a.request(wire, reqs.length), b.request(wire, reqs.length)]);
      expect(got).toBe(theirs);
    } finally {
      a.close();
      b.close();
      await Promise.all([ours.stop(), redis.stop()]);
    }
  });

  it('PUBLISH pipelined among GETs and SETs: replies, deliveries and their order as Redis gives them', async () => {
    const [ours, redis] = await Promise.all([startServer([], { threads: 1 }), startRedis('64mb')]);
    const conns: RawConn[] = [];
    try {
      const out: string[][] = [];
      for (const port of [redis.port, ours.port]) {
        const [pub, sub, psub] = await Promise.all([RawConn.connect(port), RawConn.connect(port), RawConn.connect(port)]);
        conns.push(pub, sub, psub);
        await sub.request(enc('SUBSCRIBE', 'ch'));
        await psub.request(enc('PSUBSCRIBE', 'c*'));
        const reqs = [['SET', 'k', '1'], ['PUBLISH', 'ch', 'a'], ['GET', 'k'], ['PUBLISH', 'ch', 'b'], ['PUBLISH', 'ch', 'c'], ['INCR', 'k'], ['PUBLISH', 'other', 'd'], ['PUBLISH', 'cx', 'e'], ['GET', 'k']];
        const replies = await pub.request(reqs.map((a) => enc(...a)).join(''), reqs.length);
        // The last message each subscriber hears ends what it is sent.
        const heard = await sub.take((t) => t.includes('$1\r\nc\r\n'));
        const heardByPattern = await psub.take((t) => t.includes('$1\r\ne\r\n'));
        const stats = (await pub.request(enc('INFO', 'commandstats'))).match(/cmdstat_publish:calls=\d+/)?.[0] ?? 'none';
        out.push([replies, heard, heardByPattern, stats]);
      }
      expect(out[1]).toEqual(out[0]);
      expect(out[0]![3]).toBe('cmdstat_publish:calls=5');
    } finally {
      for (const c of conns) c.close();
      await Promise.all([ours.stop(), redis.stop()]);
    }
  });
});
