/**
 * WAIT on a server with no replicas, as a Redis master none of whose replicas acknowledge: 0 at
 * once when no replica is asked for or inside a transaction, else blocked until its timeout,
 * CLIENT UNBLOCK (from either worker) or its connection's end, counted and shown as blocked.
 */
import { describe, expect, it } from 'vitest';
import { enc, oursAndRedis, RawConn } from './harness.ts';

const both = oursAndRedis();
const conn = both.conn;
const field = async (c: RawConn, name: string) => new RegExp(`${name}:(\\d+)`).exec(await c.request(enc('INFO', 'everything')))![1];
/** The CLIENT LIST line of client `id`. */
const line = async (c: RawConn, id: string) => (await c.request(enc('CLIENT', 'LIST', 'ID', id))).split('\n').find((l) => l.includes(`id=${id} `)) ?? '';
const idOf = async (c: RawConn) => /:(\d+)/.exec(await c.request(enc('CLIENT', 'ID')))![1]!;

describe('WAIT', () => {
  it.skipIf(!both.hasRedis)('answers at once as redis-server does when no replica is asked for, inside EXEC, and for bad arguments', async () => {
    const [a, b] = [await conn(), await RawConn.connect(both.redisPort())];
    try {
      for (const argv of [['WAIT', '0', '0'], ['WAIT', '-1', '0'], ['WAIT', '0', '100'], ['WAIT', 'a', '0'], ['WAIT', '0', '-1'], ['WAIT', '0', 'x'], ['WAIT', '1', '99999999999999999999'], ['WAIT', '1'], ['WAIT', '1', '2', '3']]) {
        const req = enc(...argv);
        expect(await a.request(req), argv.join(' ')).toBe(await b.request(req));
      }
      const tx = enc('MULTI') + enc('WAIT', '1', '0') + enc('EXEC');
      expect(await a.request(tx, 3)).toBe(await b.request(tx, 3));
    } finally {
      b.close();
    }
  });

  it('blocks until its timeout, counted and shown as blocked, and its blocked time is not its command time', async () => {
    const [w, watcher] = [await conn(), await conn()];
    expect(await watcher.request(enc('CONFIG', 'SET', 'slowlog-log-slower-than', '50000'))).toBe('+OK\r\n');
    await watcher.request(enc('SLOWLOG', 'RESET'));
    await watcher.request(enc('CONFIG', 'RESETSTAT'));
    const id = await idOf(w);
    const t0 = Date.now();
    w.write(enc('WAIT', '1', '400'));
    await expect.poll(() => line(watcher, id)).toMatch(/ flags=b .* cmd=wait /);
    expect([await field(watcher, 'blocked_clients'), await field(watcher, 'clients_in_timeout_table')]).toEqual(['1', '1']);
    expect(await w.take((x) => x.length > 0)).toBe(':0\r\n');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    expect(await field(watcher, 'blocked_clients')).toBe('0');
    expect(await line(watcher, id)).toMatch(/ flags=N /);
    expect(await watcher.request(enc('SLOWLOG', 'LEN'))).toBe(':0\r\n');
    const usec = Number(/cmdstat_wait:calls=1,usec=(\d+),/.exec(await watcher.request(enc('INFO', 'commandstats')))![1]);
    expect(usec).toBeLessThan(50_000);
    // Requests sent while it was blocked ran after it.
    expect(await w.request(enc('WAIT', '1', '50') + enc('PING'), 2)).toBe(':0\r\n+PONG\r\n');
  });

  it('CLIENT UNBLOCK from either worker ends it: TIMEOUT answers 0, ERROR the UNBLOCKED error', async () => {
    const [w, x, y] = [await conn(), await conn(), await conn()];
    const id = await idOf(w);
    for (const [by, how, reply] of [[x, 'TIMEOUT', ':0\r\n'], [y, 'ERROR', '-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n'], [x, undefined, ':0\r\n']] as const) {
      w.write(enc('WAIT', '2', '0'));
      await expect.poll(() => line(by, id)).toMatch(/ flags=b /);
      expect(await by.request(enc('CLIENT', 'UNBLOCK', id, ...(how === undefined ? [] : [how])))).toBe(':1\r\n');
      expect(await w.take((t) => t.endsWith('\r\n'))).toBe(reply);
    }
    // Not blocked (any more), or no such client: 0.
    expect(await x.request(enc('CLIENT', 'UNBLOCK', id))).toBe(':0\r\n');
    expect(await x.request(enc('CLIENT', 'UNBLOCK', '999999'))).toBe(':0\r\n');
    expect(await x.request(enc('CLIENT', 'UNBLOCK', id, 'maybe'))).toBe('-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n');
  });

  it('a client that leaves while blocked is no longer counted', async () => {
    const [w, watcher] = [await conn(), await conn()];
    w.write(enc('WAIT', '1', '0'));
    await expect.poll(() => field(watcher, 'blocked_clients')).toBe('1');
    // Blocked for good: not in the timeout table.
    expect(await field(watcher, 'clients_in_timeout_table')).toBe('0');
    w.close();
    await expect.poll(() => field(watcher, 'blocked_clients')).toBe('0');
  });
});

describe('ROLE, REPLICAOF, SLAVEOF and FAILOVER', () => {
  it.skipIf(!both.hasRedis)('answer as a redis-server master without replicas does', async () => {
    const [a, b] = [await conn(), await RawConn.connect(both.redisPort())];
    try {
      for (const argv of [
        ['REPLICAOF', 'NO', 'ONE'], ['replicaof', 'no', 'one'], ['SLAVEOF', 'NO', 'ONE'], ['REPLICAOF'], ['REPLICAOF', 'a'], ['REPLICAOF', 'a', 'b', 'c'],
        ['REPLICAOF', '127.0.0.1', 'abc'], ['REPLICAOF', '127.0.0.1', '-1'], ['REPLICAOF', '127.0.0.1', '70000'], ['SLAVEOF', 'h', '1.5'],
        ['FAILOVER'], ['FAILOVER', 'ABORT'], ['FAILOVER', 'TO', '127.0.0.1', '6380'], ['FAILOVER', 'TIMEOUT', '100'], ['FAILOVER', 'FOO'], ['FAILOVER', 'FORCE'],
        ['FAILOVER', 'TIMEOUT', '-1'], ['FAILOVER', 'TO', 'a'], ['FAILOVER', 'ABORT', 'FORCE'], ['FAILOVER', 'TO', 'h', 'x'], ['FAILOVER', 'TIMEOUT'],
        ['FAILOVER', 'TO', 'h', '1', 'TO', 'h', '2'], ['FAILOVER', 'ABORT', 'ABORT'], ['FAILOVER', 'TO', 'h', '1', 'FORCE', 'TIMEOUT', '5'], ['ROLE'], ['ROLE', 'x'],
      ]) {
        const req = enc(...argv);
        expect(await a.request(req), argv.join(' ')).toBe(await b.request(req));
      }
    } finally {
      b.close();
    }
  });

  it('REPLICAOF of a master is refused: this server does not replicate', async () => {
    const c = await conn();
    expect(await c.request(enc('REPLICAOF', '127.0.0.1', '6380'))).toBe('-ERR REPLICAOF is not supported: this server does not replicate\r\n');
    expect(await c.request(enc('ROLE'))).toMatch(/^\*3\r\n\$6\r\nmaster\r\n/);
  });
});
