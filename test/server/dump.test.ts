/**
 * DUMP and RESTORE as Redis 7.0 writes and reads them: payload bytes equal to redis-server's,
 * values moved both ways (Redis's LZF-compressed strings included), Redis's MIGRATE into this
 * server, and RESTORE's options and errors compared with redis-server's.
 */
import { describe, expect, it } from 'vitest';
import { enc as text, oursAndRedis, RawConn, request } from './harness.ts';

const both = oursAndRedis();
/** A request of byte strings (latin1): payloads hold any byte. */
const enc = (...argv: string[]) => request(argv);
/** A bulk reply's bytes (latin1), or null for a nil. */
const bulkOf = (t: string): string | null => {
  if (t.startsWith('$-1')) return null;
  const nl = t.indexOf('\r\n');
  return t.slice(nl + 2, nl + 2 + Number(t.slice(1, nl)));
};
const random = (n: number, seed: number) => {
  let x = seed;
  return Array.from({ length: n }, () => String.fromCharCode(33 + (((x = (x * 1103515245 + 12345) >>> 0) >>> 16) % 94))).join('');
};

describe('DUMP and RESTORE', () => {
  const values = ['0', '1', '-1', '127', '-128', '128', '32767', '-32768', '32768', '2147483647', '-2147483648', '2147483648', '12345678901', '-0', '007', '', 'hello', 'a'.repeat(20), '\x00\r\n binary', random(60, 7)];

  it.skipIf(!both.hasRedis)('DUMP gives redis-server\'s bytes for integers, short strings and strings LZF does not shrink', async () => {
    const [a, b] = [await both.conn(), await RawConn.connect(both.redisPort())];
    try {
      for (const v of values) {
        for (const c of [a, b]) await c.request(enc('SET', 'd', v));
        const req = enc('DUMP', 'd');
        expect(await a.request(req), JSON.stringify(v.slice(0, 20))).toBe(await b.request(req));
      }
      expect(await a.request(enc('DUMP', 'nosuch'))).toBe(await b.request(enc('DUMP', 'nosuch')));
    } finally {
      b.close();
    }
  });

  it.skipIf(!both.hasRedis)('values move both ways, Redis\'s compressed strings included, and Redis\'s MIGRATE moves keys here', async () => {
    const [a, b] = [await both.conn(), await RawConn.connect(both.redisPort())];
    try {
      const all = [...values, random(5000, 9), 'x'.repeat(1000), 'abcabcabd'.repeat(20_000), `${'y'.repeat(40)}${random(100, 3)}${'y'.repeat(40)}`];
      for (const [from, to] of [[b, a], [a, b]] as const) {
        for (const v of all) {
          await from.request(enc('SET', 'src', v));
          const payload = bulkOf(await from.request(enc('DUMP', 'src')))!;
          expect(await to.request(enc('RESTORE', 'dst', '0', payload, 'REPLACE'))).toBe('+OK\r\n');
          expect(bulkOf(await to.request(enc('GET', 'dst'))), JSON.stringify(v.slice(0, 20))).toBe(v);
        }
      }
      // Redis's own LZF encoding for a long repetitive string: a payload far shorter than the value.
      await b.request(enc('SET', 'long', 'abcabcabd'.repeat(20_000)));
      expect(bulkOf(await b.request(enc('DUMP', 'long')))!.length).toBeLessThan(10_000);
      // MIGRATE from redis-server to this server: one key, then several with COPY and REPLACE.
      const port = String(both.ours().port);
      await a.request(enc('FLUSHALL'));
      await b.request(text('SET', 'm1', 'one') + text('SET', 'm2', 'two') + text('SET', 'm3', '3') + text('PEXPIRE', 'm3', '100000'), 4);
      expect(await b.request(enc('MIGRATE', '127.0.0.1', port, 'm1', '0', '5000'))).toBe('+OK\r\n');
      expect(await b.request(enc('EXISTS', 'm1'))).toBe(':0\r\n');
      expect(await a.request(enc('GET', 'm1'))).toBe('$3\r\none\r\n');
      await a.request(enc('SET', 'm2', 'old'));
      expect(await b.request(enc('MIGRATE', '127.0.0.1', port, '', '0', '5000', 'COPY', 'REPLACE', 'KEYS', 'm2', 'm3'))).toBe('+OK\r\n');
      expect(await a.request(enc('MGET', 'm2', 'm3'))).toBe('*2\r\n$3\r\ntwo\r\n$1\r\n3\r\n');
      const pttl = Number((await a.request(enc('PTTL', 'm3'))).slice(1));
      expect(pttl).toBeGreaterThan(90_000);
      expect(pttl).toBeLessThanOrEqual(100_000);
      expect(await b.request(enc('EXISTS', 'm2', 'm3'))).toBe(':2\r\n');
      // Without REPLACE, an existing key refuses it, as it would on Redis.
      expect(await b.request(enc('MIGRATE', '127.0.0.1', port, 'm2', '0', '5000', 'COPY'))).toMatch(/^-(ERR Target instance replied with error: )?BUSYKEY/);
    } finally {
      b.close();
    }
  });

  it.skipIf(!both.hasRedis)('RESTORE\'s options and errors as redis-server gives them', async () => {
    const [a, b] = [await both.conn(), await RawConn.connect(both.redisPort())];
    try {
      await b.request(enc('SET', 'src', 'payload-value'));
      const good = bulkOf(await b.request(enc('DUMP', 'src')))!;
      const bad = good.slice(0, -1) + String.fromCharCode(good.charCodeAt(good.length - 1) ^ 1);
      const future = good.slice(0, -10) + '\x0b\x00' + good.slice(-8);
      await b.request(enc('RPUSH', 'list', 'a', 'b'));
      const list = bulkOf(await b.request(enc('DUMP', 'list')))!;
      const now = Date.now();
      for (const c of [a, b]) await c.request(text('FLUSHDB') + text('SET', 'exists', 'v'), 2);
      for (const argv of [
        ['RESTORE', 'k', '0', 'abc'], ['RESTORE', 'k', '-1', good], ['RESTORE', 'k', 'x', good], ['RESTORE', 'k', '0', good, 'FOO'],
        ['RESTORE', 'k', '0', good, 'IDLETIME', '-1'], ['RESTORE', 'k', '0', good, 'FREQ', '256'], ['RESTORE', 'k', '0', good, 'IDLETIME', '5', 'FREQ', '5'],
        ['RESTORE', 'k', '0', good, 'IDLETIME'], ['RESTORE', 'k', '0', bad], ['RESTORE', 'k', '0', future],
        ['RESTORE', 'exists', '0', good], ['RESTORE', 'exists', '-1', 'abc'], ['RESTORE', 'k', '0', good], ['GET', 'k'], ['RESTORE', 'k', '0', good],
        ['RESTORE', 'k', '0', good, 'REPLACE'], ['RESTORE', 'past', String(now - 1000), good, 'ABSTTL'], ['EXISTS', 'past'],
        ['RESTORE', 'exists', String(now - 1000), good, 'ABSTTL', 'REPLACE'], ['EXISTS', 'exists'], ['RESTORE', 'later', String(now + 100_000), good, 'ABSTTL'],
        ['PEXPIRETIME', 'later'], ['RESTORE', 'wrap', '9223372036854000000', good], ['EXISTS', 'wrap'], ['RESTORE', 'idle', '0', good, 'IDLETIME', '1000'], ['RESTORE', 'f', '0', good, 'FREQ', '7'], ['RESTORE', 'k', '0', good, 'REPLACE', 'ABSTTL', 'REPLACE'],
      ]) {
        const req = enc(...argv);
        expect(await a.request(req), argv.map((x) => x.slice(0, 12)).join(' ')).toBe(await b.request(req));
      }
      // A value of a type this server does not store: refused (Redis would restore the list).
      expect(await a.request(enc('RESTORE', 'l', '0', list))).toBe('-ERR Bad data format\r\n');
      // IDLETIME: what OBJECT IDLETIME reads (allkeys-lru here: not LFU); a relative TTL.
      expect(Number((await a.request(enc('OBJECT', 'IDLETIME', 'idle'))).slice(1))).toBeGreaterThanOrEqual(1000);
      expect(await a.request(enc('RESTORE', 'rel', '5000', good))).toBe('+OK\r\n');
      const pttl = Number((await a.request(enc('PTTL', 'rel'))).slice(1));
      expect(pttl).toBeGreaterThan(4000);
      expect(pttl).toBeLessThanOrEqual(5000);
    } finally {
      b.close();
    }
  });

  it('FREQ sets the LFU counter under an LFU policy, and a restore is a keyspace event', async () => {
    const c = await both.conn();
    const payload = bulkOf(await c.request(text('SET', 'x', 'v') + text('DUMP', 'x'), 2).then((t) => t.slice(5)))!;
    expect(await c.request(enc('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'))).toBe('+OK\r\n');
    try {
      expect(await c.request(enc('RESTORE', 'hot', '0', payload, 'FREQ', '200'))).toBe('+OK\r\n');
      expect(await c.request(enc('OBJECT', 'FREQ', 'hot'))).toBe(':200\r\n');
    } finally {
      await c.request(enc('CONFIG', 'SET', 'maxmemory-policy', 'noeviction'));
    }
    const sub = await both.conn();
    await c.request(enc('CONFIG', 'SET', 'notify-keyspace-events', 'Eg'));
    try {
      await sub.request(enc('SUBSCRIBE', '__keyevent@0__:restore'));
      expect(await c.request(enc('RESTORE', 'ev', '0', payload))).toBe('+OK\r\n');
      expect(await sub.take((t) => t.endsWith('ev\r\n'))).toContain('__keyevent@0__:restore');
    } finally {
      await c.request(enc('CONFIG', 'SET', 'notify-keyspace-events', ''));
    }
  });
});
