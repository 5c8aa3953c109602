import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCountingServer } from '../../src/bench/counting-server.ts';
import type { CountingServer } from '../../src/bench/counting-server.ts';
import { parseRatio, runLoadgen } from '../../src/bench/loadgen.ts';
import { bucketOf, bucketValue, loadCodec, quantile, RespReplyReader, HIST_BUCKETS } from '../../src/bench/loadgen-worker.ts';
import { RawConn, startServer } from '../server/harness.ts';

let server: CountingServer;
beforeAll(async () => {
  server = await startCountingServer();
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => server.reset());

/** GETs among the first n requests of one connection with a get:set cycle. */
function getsOf(n: number, g: number, s: number): number {
  const cycle = g + s;
  return Math.floor(n / cycle) * g + Math.min(n % cycle, g);
}

describe('load generator against a counting server', () => {
  it('timed run: every request it reports is one the server received, per command', async () => {
    const r = await runLoadgen({ port: server.port, clients: 5, threads: 2, pipeline: 7, size: 33, keys: 500, ratio: '3:1', duration: 0.3, warmup: 0.05 });
    const c = server.counts();
    expect(r.errors).toBe(0);
    expect(c.total).toBe(r.gets + r.sets);
    expect(c.byCommand).toEqual({ GET: r.gets, SET: r.sets });
    expect(r.replies).toBe(r.gets + r.sets);
    expect(c.connections).toBe(5);
    expect(c.badKeys).toBe(0);
    expect(c.distinctKeys).toBeLessThanOrEqual(500);
    expect(c.setSizes).toEqual({ 33: r.sets });
    // 3:1 per connection, exact up to the last partial cycle of each of the 5 connections.
    expect(Math.abs(r.gets - 3 * r.sets)).toBeLessThanOrEqual(5 * 3);
    expect(r.measured).toBeGreaterThan(0);
    expect(r.measured).toBeLessThanOrEqual(r.replies);
    expect(r.opsPerSec).toBeGreaterThan(0);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p50).toBeLessThanOrEqual(r.latency.p99);
    expect(r.latency.p99).toBeLessThanOrEqual(r.latency.p999);
    expect(r.latency.min).toBeLessThanOrEqual(r.latency.p50 * 1.01);
    expect(r.cpu.threadBusy).toHaveLength(2);
    expect(r.cpu.processSeconds).toBeGreaterThan(0);
    expect(r.settings.threads).toBe(2);
  });

  it('fixed-count run: the server receives exactly the requests asked for, split as the ratio says', async () => {
    const clients = 5;
    const requests = 1001;
    const r = await runLoadgen({ port: server.port, clients, threads: 2, pipeline: 4, size: 10, keys: 50, ratio: [3, 1], requests });
    const c = server.counts();
    let gets = 0;
    for (let i = 0; i < clients; i++) gets += getsOf(Math.floor(requests / clients) + (i < requests % clients ? 1 : 0), 3, 1);
    expect(c.total).toBe(requests);
    expect(c.byCommand).toEqual({ GET: gets, SET: requests - gets });
    expect(r.gets).toBe(gets);
    expect(r.sets).toBe(requests - gets);
    expect(r.replies).toBe(requests);
    expect(r.measured).toBe(requests);
    expect(c.distinctKeys).toBeLessThanOrEqual(50);
  });

  it('all-GET and all-SET ratios, pipeline deeper than the request share, more threads than clients', async () => {
    const a = await runLoadgen({ port: server.port, clients: 2, threads: 4, pipeline: 64, keys: 10, ratio: '1:0', requests: 30 });
    expect(a.settings.threads).toBe(2);
    expect(server.counts().byCommand).toEqual({ GET: 30 });
    server.reset();
    const b = await runLoadgen({ port: server.port, clients: 3, threads: 1, pipeline: 2, size: 1000, keys: 10, ratio: '0:1', requests: 31 });
    expect(b.sets).toBe(31);
    expect(server.counts().byCommand).toEqual({ SET: 31 });
    expect(server.counts().setSizes).toEqual({ 1000: 31 });
  });

  it('GET replies with large values split across reads are counted once each', async () => {
    // SET 4 keys with 64 KiB values first so the GETs that follow return large bulk strings.
    await runLoadgen({ port: server.port, clients: 1, threads: 1, pipeline: 4, size: 65536, keys: 4, ratio: '0:1', requests: 40 });
    const r = await runLoadgen({ port: server.port, clients: 2, threads: 1, pipeline: 8, keys: 4, ratio: '1:0', requests: 64 });
    expect(r.replies).toBe(64);
    expect(r.bytesIn).toBeGreaterThan(64 * 65536);
    expect(server.counts().byCommand).toEqual({ SET: 40, GET: 64 });
  });

  it('fails cleanly when nothing listens', async () => {
    const dead = await startCountingServer();
    const port = dead.port;
    await dead.close();
    await expect(runLoadgen({ port, clients: 2, threads: 2, requests: 10 })).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('load generator parts', () => {
  it('counts RESP replies fed a byte at a time, nesting and errors included', () => {
    const stream = Buffer.from('+OK\r\n$-1\r\n$5\r\nhe\r\nl\r\n:42\r\n-ERR bad\r\n*2\r\n*2\r\n:1\r\n$1\r\nx\r\n+y\r\n*0\r\n*-1\r\n%1\r\n+k\r\n:2\r\n_\r\n!3\r\nerr\r\n');
    const whole = new RespReplyReader();
    expect(whole.feed(stream)).toBe(11);
    expect(whole.errors).toBe(2);
    const bytewise = new RespReplyReader();
    let n = 0;
    for (const b of stream) n += bytewise.feed(Buffer.from([b]));
    expect(n).toBe(11);
    expect(bytewise.errors).toBe(2);
  });

  it('histogram quantiles are ordered and within a bucket of the truth', () => {
    const h = new Array<number>(HIST_BUCKETS).fill(0);
    for (let us = 1; us <= 10_000; us++) h[bucketOf(us)]!++;
    const p50 = quantile(h, 0.5);
    const p99 = quantile(h, 0.99);
    expect(p50).toBeLessThanOrEqual(p99);
    expect(Math.abs(p50 - 5000) / 5000).toBeLessThan(0.01);
    expect(Math.abs(p99 - 9900) / 9900).toBeLessThan(0.01);
    expect(bucketValue(bucketOf(123.4))).toBeCloseTo(123.4, -1);
  });

  it('parses get:set ratios and rejects bad ones', () => {
    expect(parseRatio(undefined)).toEqual([10, 1]);
    expect(parseRatio('4:1')).toEqual([4, 1]);
    expect(parseRatio('0:1')).toEqual([0, 1]);
    for (const bad of ['0:0', '1', 'a:b', '1:-1', '1.5:1']) expect(() => parseRatio(bad)).toThrow(/ratio/);
  });

  it('unknown protocols are refused by name', async () => {
    expect((await loadCodec('binary')).name).toBe('binary');
    await expect(loadCodec('nope')).rejects.toThrow(/unknown protocol/);
  });
});

describe('load generator over the binary protocol, against a real server', () => {
  it('every request it sends reaches the store: GETs count as hits or misses, SETs create keys', async () => {
    const srv = await startServer([], { threads: 2 });
    const resp = await RawConn.connect(srv.port);
    try {
      const stat = async (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(await resp.request('INFO stats\r\n'))![1]);
      const before = (await stat('keyspace_hits')) + (await stat('keyspace_misses'));
      const r = await runLoadgen({ port: srv.port, clients: 4, threads: 1, pipeline: 8, size: 10, keys: 200, ratio: [1, 0], requests: 2000, protocol: 'binary' });
      expect(r.replies).toBe(2000);
      expect((await stat('keyspace_hits')) + (await stat('keyspace_misses')) - before).toBe(2000);
      const w = await runLoadgen({ port: srv.port, clients: 2, threads: 1, pipeline: 4, size: 10, keys: 50, ratio: [0, 1], requests: 500, protocol: 'binary' });
      expect(w.replies).toBe(500);
      expect(await resp.request('DBSIZE\r\n')).toBe(':50\r\n');
    } finally {
      resp.close();
      await srv.stop();
    }
  });
});
