/**
 * Limits: maxclients, the output buffer limit on a slow reader, maxmemory with noeviction and
 * with an evicting policy, CONFIG SET in force on every worker when it replies, and exact counts
 * under concurrent INCR from clients on both workers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverPool } from './harness.ts';
import type { TestServer } from './harness.ts';

const pool = serverPool();
afterEach(() => pool.cleanup());
const server = (args: string[] = [], threads = 2) => pool.server(args, threads);
const conn = (s: TestServer) => pool.conn(s);
const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const req = (...a: string[]) => `*${a.length}\r\n${a.map(bulk).join('')}`;

describe('maxclients', () => {
  it('refuses the connection past the limit with Redis error, and accepts again after one leaves', async () => {
    const s = await server(['--maxclients', '3']);
    const cs = [await conn(s), await conn(s), await conn(s)];
    for (const c of cs) expect(await c.request('PING\r\n')).toBe('+PONG\r\n');
    const extra = await conn(s);
    expect(await extra.until((x) => x.length > 0)).toBe('-ERR max number of clients reached\r\n');
    expect(await extra.waitClosed()).toBe(true);
    cs[0]!.close();
    // The slot frees when the worker sees the close; retry until the server has noticed.
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      const again = await conn(s);
      const r = await again.request('PING\r\n');
      ok = r === '+PONG\r\n';
      if (!ok) await new Promise((res) => setTimeout(res, 20));
    }
    expect(ok).toBe(true);
  });
});

describe('client-output-buffer-limit', () => {
  it('closes a client that does not read its replies once the hard limit is passed', async () => {
    const s = await server(['--client-output-buffer-limit', 'normal 1mb 0 0']);
    const c = await conn(s);
    const value = 'x'.repeat(512 * 1024);
    expect(await c.request(req('SET', 'big', value))).toBe('+OK\r\n');
    // Stop reading, then ask for 400 × 512 KiB: kernel buffers fill, the server's queue grows.
    c.socket.pause();
    let sent = '';
    for (let i = 0; i < 400; i++) sent += req('GET', 'big');
    c.write(sent);
    const closedByServer = new Promise<void>((resolve) => c.socket.once('close', () => resolve()));
    await new Promise((r) => setTimeout(r, 300));
    c.socket.resume();
    await closedByServer;
    expect(s.output()).toMatch(/closed ASAP for overcoming of output buffer limits/);
    const other = await conn(s);
    expect(await other.request('PING\r\n')).toBe('+PONG\r\n');
  });
});

describe('backpressure', () => {
  it('a client that reads slowly gets every reply, in order, once it reads', async () => {
    const s = await server([]);
    const c = await conn(s);
    const value = 'y'.repeat(256 * 1024);
    expect(await c.request(req('SET', 'bp', value))).toBe('+OK\r\n');
    const n = 80;
    let expected = '';
    for (let i = 0; i < n; i++) expected += bulk(value) + bulk(String(i));
    // Collect the raw bytes ourselves: RawConn's string view would be rebuilt per chunk.
    const chunks: Buffer[] = [];
    let got = 0;
    const all = new Promise<void>((resolve) => {
      c.socket.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (got >= expected.length) resolve();
      });
    });
    c.socket.pause();
    let sent = '';
    for (let i = 0; i < n; i++) sent += req('GET', 'bp') + req('ECHO', String(i));
    c.write(sent);
    await new Promise((r) => setTimeout(r, 300));
    c.socket.resume();
    await all;
    expect(Buffer.concat(chunks).toString('latin1') === expected).toBe(true);
  });
});

describe('maxmemory', () => {
  it('noeviction: writes fail with the OOM error, data stays readable, deletes free room', async () => {
    const s = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction', '--shards', '1']);
    const c = await conn(s);
    const v = 'v'.repeat(10_000);
    let stored = 0;
    let err = '';
    for (let i = 0; i < 1000; i++) {
      const r = await c.request(req('SET', `k${i}`, v));
      if (r !== '+OK\r\n') {
        err = r;
        break;
      }
      stored++;
    }
    expect(err).toBe("-OOM command not allowed when used memory > 'maxmemory'.\r\n");
    expect(stored).toBeGreaterThan(100);
    expect(await c.request(req('GET', 'k0'))).toBe(bulk(v));
    expect(await c.request(req('DBSIZE'))).toBe(`:${stored}\r\n`);
    let deleted = '';
    for (let i = 0; i < 20; i++) deleted += await c.request(req('DEL', `k${i}`));
    expect(deleted).toBe(':1\r\n'.repeat(20));
    expect(await c.request(req('SET', 'again', v))).toBe('+OK\r\n');
  });

  it('allkeys-lru: writes keep succeeding and the oldest keys go', async () => {
    const s = await server(['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-lru', '--shards', '1']);
    const c = await conn(s);
    const v = 'v'.repeat(10_000);
    let replies = '';
    for (let i = 0; i < 600; i++) replies += await c.request(req('SET', `k${i}`, v));
    expect(replies).toBe('+OK\r\n'.repeat(600));
    expect(await c.request(req('EXISTS', 'k0'))).toBe(':0\r\n');
    expect(await c.request(req('GET', 'k599'))).toBe(bulk(v));
  });
});

describe('CONFIG SET', () => {
  // Redis applies a setting before it replies; here the other workers learn it through the main thread.
  it('is in force on every worker once it replies, alone or in EXEC: a lowered proto-max-bulk-len holds for the next request anywhere', async () => {
    const s = await server();
    const setter = await conn(s);
    const tooLong = '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n';
    const lower = req('CONFIG', 'SET', 'proto-max-bulk-len', '1mb');
    for (let round = 0; round < 40; round++) {
      // New connections go to the worker with the fewest: of two, one is on each.
      const others = [await conn(s), await conn(s)];
      if (round % 2 === 0) expect(await setter.request(lower)).toBe('+OK\r\n');
      else expect(await setter.request(req('MULTI') + lower + req('EXEC'), 3)).toBe('+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n');
      const got = await Promise.all(others.map((c) => c.request(tooLong)));
      expect(got, `round ${round}`).toEqual(['-ERR Protocol error: invalid bulk length\r\n', '-ERR Protocol error: invalid bulk length\r\n']);
      expect(await setter.request(req('CONFIG', 'SET', 'proto-max-bulk-len', '512mb'))).toBe('+OK\r\n');
      for (const c of others) c.close();
    }
  });

  it('CLIENT REPLY applies to its reply as to any other', async () => {
    const s = await server();
    const c = await conn(s);
    expect(await c.request(req('CLIENT', 'REPLY', 'SKIP') + req('CONFIG', 'SET', 'hz', '11') + req('CONFIG', 'GET', 'hz'))).toBe('*2\r\n$2\r\nhz\r\n$2\r\n11\r\n');
    expect(await c.request(req('CLIENT', 'REPLY', 'OFF') + req('CONFIG', 'SET', 'hz', '12') + req('CLIENT', 'REPLY', 'ON'))).toBe('+OK\r\n');
    expect(await c.request(req('MULTI') + req('CONFIG', 'SET', 'hz', '13') + req('CONFIG', 'GET', 'hz') + req('EXEC'), 4)).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n*2\r\n$2\r\nhz\r\n$2\r\n13\r\n');
  });
});

describe('concurrency', () => {
  it('clients on both workers INCR the same keys and no increment is lost', async () => {
    const s = await server([], 2);
    const clients = await Promise.all([0, 1, 2, 3].map(() => conn(s)));
    const rounds = 500;
    const keys = ['c:a', 'c:b', 'c:c', 'c:d'];
    let batch = '';
    for (let r = 0; r < rounds; r++) for (const k of keys) batch += req('INCR', k);
    await Promise.all(clients.map((c) => c.request(batch, rounds * keys.length)));
    const check = await conn(s);
    expect(await check.request(req('MGET', ...keys))).toBe(`*4\r\n${keys.map(() => bulk(String(4 * rounds))).join('')}`);
  });
});
