/**
 * maxmemory-clients, client eviction as Redis 7 does it, on a two-worker server: clients whose
 * query buffer, queued MULTI or unread replies take all clients together over the limit are
 * closed without a reply, largest first and only until the total is under; CLIENT NO-EVICT
 * clients count but stay, and the clients of the other worker go when this one has none left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serverPool } from './harness.ts';
import type { RawConn, TestServer } from './harness.ts';

const pool = serverPool();
afterEach(() => pool.cleanup());
const server = (args: string[] = []) => pool.server(args, 2);
const conn = (s: TestServer) => pool.conn(s);
const bulk = (s: string) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
const req = (...a: string[]) => `*${a.length}\r\n${a.map(bulk).join('')}`;
/** The start of a request whose one argument is `of` bytes long, of which `sent` are sent. */
const partial = (of: number, sent: number) => `*1\r\n$${of}\r\n${'v'.repeat(sent)}`;
const evictedClients = async (c: RawConn) => Number(/evicted_clients:(\d+)/.exec(await c.request('INFO stats\r\n'))![1]);
/** A connection that can watch the others and is never evicted itself. */
async function control(s: TestServer): Promise<RawConn> {
  const c = await conn(s);
  expect(await c.request('CLIENT NO-EVICT on\r\n')).toBe('+OK\r\n');
  return c;
}
/** tot-mem of each client CLIENT LIST shows, by name. */
async function totMem(c: RawConn): Promise<Map<string, number>> {
  const list = await c.request('CLIENT LIST\r\n');
  return new Map([...list.matchAll(/name=(\S*) .*?tot-mem=(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}
async function named(s: TestServer, name: string): Promise<RawConn> {
  const c = await conn(s);
  expect(await c.request(req('CLIENT', 'SETNAME', name))).toBe('+OK\r\n');
  return c;
}

describe('maxmemory-clients', () => {
  it('a query buffer that takes the clients over the limit closes that client with no reply; a NO-EVICT one stays and pushes the others out, on both workers', async () => {
    const s = await server(['--maxmemory-clients', '1mb']);
    const ctl = await control(s);
    const a = await conn(s);
    // Under the limit: a half-sent 300 kB argument is kept.
    a.write(partial(600_000, 300_000));
    await expect.poll(async () => (await totMem(ctl)).get('') ?? 0).toBeGreaterThan(300_000);
    expect(a.closed).toBe(false);
    a.write('v'.repeat(1_200_000));
    expect(await a.waitClosed()).toBe(true);
    expect(await a.until(() => true)).toBe('');
    expect(await evictedClients(ctl)).toBe(1);

    // Idle clients, one per worker at least, then a NO-EVICT client holding more than the limit.
    const idle = [await conn(s), await conn(s), await conn(s)];
    for (const c of idle) expect(await c.request('PING\r\n')).toBe('+PONG\r\n');
    const big = await named(s, 'big');
    expect(await big.request('CLIENT NO-EVICT on\r\n')).toBe('+OK\r\n');
    big.write(partial(3_000_000, 1_500_000));
    for (const c of idle) expect(await c.waitClosed()).toBe(true);
    expect([big.closed, ctl.closed]).toEqual([false, false]);
    expect((await totMem(ctl)).get('big')).toBeGreaterThan(1024 * 1024);
    expect(await evictedClients(ctl)).toBe(4);
    // It finishes its request and is answered.
    big.write('v'.repeat(1_500_000) + '\r\n');
    expect(await big.until((x) => x.includes('\r\n'))).toMatch(/^-ERR unknown command/);
    expect(await ctl.request('CONFIG RESETSTAT\r\n')).toBe('+OK\r\n');
    expect(await evictedClients(ctl)).toBe(0);
  });

  it('CLIENT NO-EVICT off on a client holding more than the limit closes it', async () => {
    const s = await server(['--maxmemory-clients', '1mb']);
    const ctl = await control(s);
    const z = await named(s, 'z');
    expect(await z.request('CLIENT NO-EVICT on\r\n')).toBe('+OK\r\n');
    // A request of many short arguments leaves its query buffer grown, until idle for 2 s.
    const pairs = Array.from({ length: 1500 }, (_, i) => [`m${i}`, 'w'.repeat(1000)]).flat();
    expect(await z.request(req('MSET', ...pairs))).toBe('+OK\r\n');
    expect((await totMem(ctl)).get('z')).toBeGreaterThan(1024 * 1024);
    expect(await evictedClients(ctl)).toBe(0);
    z.write('CLIENT NO-EVICT off\r\n');
    expect(await z.waitClosed()).toBe(true);
    expect(await evictedClients(ctl)).toBe(1);
  });

  it('unread replies and a long MULTI count too', async () => {
    const s = await server(['--maxmemory-clients', '1mb']);
    const ctl = await control(s);
    expect(await ctl.request(req('SET', 'k', 'x'.repeat(200_000)))).toBe('+OK\r\n');
    const reader = await conn(s);
    // Two replies of 200 kB fit; then it stops reading and asks for many more.
    expect(await reader.request(req('GET', 'k') + req('GET', 'k'), 2)).toHaveLength(2 * 200_011);
    reader.socket.pause();
    reader.write(req('GET', 'k').repeat(60));
    await expect.poll(async () => (await totMem(ctl)).size, { timeout: 5000 }).toBe(1);
    expect(await evictedClients(ctl)).toBe(1);

    const tx = await conn(s);
    expect(await tx.request('MULTI\r\n')).toBe('+OK\r\n');
    expect(await tx.request(req('SET', 'k', 'y'.repeat(150_000)))).toBe('+QUEUED\r\n');
    expect(await tx.request(req('SET', 'k', 'y'.repeat(150_000)))).toBe('+QUEUED\r\n');
    tx.write(req('SET', 'k', 'y'.repeat(150_000)).repeat(5));
    expect(await tx.waitClosed()).toBe(true);
    expect(await evictedClients(ctl)).toBe(2);
    // Nothing it queued ran.
    expect(await ctl.request('STRLEN k\r\n')).toBe(':200000\r\n');
  });

  it('a query buffer grown for a large request is given back once idle, and stops counting', async () => {
    const s = await server(['--maxmemory-clients', '1mb']);
    const ctl = await control(s);
    const x = await named(s, 'x');
    expect(await x.request(req('SET', 'k', 'v'.repeat(300_000)))).toBe('+OK\r\n');
    expect((await totMem(ctl)).get('x')).toBeGreaterThanOrEqual(512 * 1024);
    await expect.poll(async () => (await totMem(ctl)).get('x'), { timeout: 6000, interval: 250 }).toBe(32 * 1024);
    // Counted at 512 kB still, x and this one would be over the limit together.
    const y = await named(s, 'y');
    y.write(partial(1_000_000, 450_000));
    await expect.poll(async () => (await totMem(ctl)).get('y') ?? 0).toBeGreaterThanOrEqual(512 * 1024);
    expect([x.closed, y.closed, await evictedClients(ctl)]).toEqual([false, false, 0]);
  });

  it('a lower limit evicts at once, largest first and only until under; 0 turns it off', async () => {
    const s = await server();
    const ctl = await control(s);
    const cs: RawConn[] = [];
    // Query buffers of different sizes (each grows by doubling): 25 kB to 400 kB.
    for (let i = 0; i < 6; i++) {
      const c = await named(s, `c${i}`);
      c.write(partial(1_000_000, 25_000 * 2 ** (i - 1) + 5_000));
      cs.push(c);
    }
    await expect.poll(async () => [...(await totMem(ctl)).values()].filter((m) => m > 400_000).length).toBe(1);
    // Off: 800 kB of query buffers are fine.
    expect(cs.some((c) => c.closed)).toBe(false);
    const before = await totMem(ctl);
    const total = [...before.values()].reduce((x, y) => x + y, 0);
    // A limit a little under the total: the largest client alone brings it under.
    expect(await ctl.request(req('CONFIG', 'SET', 'maxmemory-clients', String(total - 1000)))).toBe('+OK\r\n');
    expect(await cs[5]!.waitClosed()).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(cs.slice(0, 5).map((c) => c.closed)).toEqual([false, false, false, false, false]);
    expect(await evictedClients(ctl)).toBe(1);
    // The percentage form: 10 % of 4 MB is under what the five left hold.
    expect(await ctl.request('CONFIG SET maxmemory 4mb\r\n')).toBe('+OK\r\n');
    expect(await ctl.request('CONFIG SET maxmemory-clients 10%\r\n')).toBe('+OK\r\n');
    await expect.poll(() => cs.filter((c) => c.closed).length, { timeout: 5000 }).toBeGreaterThan(1);
    const left = [...(await totMem(ctl)).values()].reduce((x, y) => x + y, 0);
    expect(left).toBeLessThanOrEqual(0.1 * 4 * 1024 * 1024);
    // Off again: a client may hold any amount.
    expect(await ctl.request('CONFIG SET maxmemory-clients 0\r\n')).toBe('+OK\r\n');
    const free = await conn(s);
    free.write(partial(4_000_000, 2_000_000));
    await expect.poll(async () => Math.max(...(await totMem(ctl)).values())).toBeGreaterThan(2_000_000);
    expect(free.closed).toBe(false);
  });
});
