/**
 * The binary and its main thread: configuration sources and errors, --help/--version, the
 * startup line, graceful signals, and a crashed worker being replaced with the data intact.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { NODE, RawConn, ROOT, serverPool, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

const run = promisify(execFile);
const pool = serverPool();
afterEach(() => pool.cleanup());
const server = (args: string[] = [], threads = 2) => pool.server(args, threads);
const conn = (s: TestServer) => pool.conn(s);
/**
 * A two-worker server that allows DEBUG, and n connections to it: the main thread hands each to
 * the worker with fewer, so even ones sit on one worker and odd ones on the other.
 */
async function debugServer(n: number): Promise<{ s: TestServer; cs: RawConn[] }> {
  const s = await server(['--enable-debug-command', 'local'], 2);
  const cs: RawConn[] = [];
  for (let i = 0; i < n; i++) cs.push(await conn(s));
  return { s, cs };
}
const cliRun = (...args: string[]) =>
  run(NODE, ['src/cli/main.ts', ...args], { cwd: ROOT }).then(
    (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
  );

describe('command line', () => {
  it('--version and --help', async () => {
    const v = await cliRun('--version');
    expect(v.code).toBe(0);
    expect(v.out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await cliRun('server', '--help');
    expect(h.code).toBe(0);
    for (const opt of ['--port', '--bind', '--threads', '--shards', '--maxmemory', '--maxmemory-policy', '--requirepass', '--databases', '--maxclients', '--timeout', '--config']) expect(h.out).toContain(opt);
  });

  it('bad configuration: one clear line, exit code 1, no stack trace', async () => {
    for (const args of [['--port', 'abc'], ['--maxmemory', 'lots'], ['--maxmemory-policy', 'sometimes'], ['--shards', '3'], ['--nosuchflag', '1'], ['--slab-growth-factor', '3'], ['/nonexistent/redis.conf']]) {
      const r = await cliRun('server', ...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err.trim().split('\n').length, r.err).toBe(1);
      expect(r.err).not.toMatch(/\s+at\s/);
    }
  });

  it('a redis.conf file supplies settings and the command line overrides it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-conf-'));
    const file = join(dir, 'redis.conf');
    writeFileSync(file, '# test\nmaxmemory 64mb\nmaxmemory-policy allkeys-lfu\ndatabases 4\nrequirepass "sec ret"\ntimeout 0\n');
    const s = await server(['--config', file, '--maxmemory', '32mb']);
    expect(s.output()).toMatch(/maxmemory 33554432 bytes \(allkeys-lfu\)/);
    const c = await conn(s);
    expect(await c.request('PING\r\n')).toBe('-NOAUTH Authentication required.\r\n');
    expect(await c.request('AUTH "sec ret"\r\n')).toBe('+OK\r\n');
    expect(await c.request('SELECT 4\r\n')).toBe('-ERR DB index is out of range\r\n');
    expect(await c.request('CONFIG GET maxmemory\r\n')).toBe('*2\r\n$9\r\nmaxmemory\r\n$8\r\n33554432\r\n');
  });
});

describe('main thread', () => {
  it('prints one startup line with version, port, threads, shards and memory limit', async () => {
    const s = await server(['--shards', '32', '--maxmemory', '100mb'], 2);
    const line = s.output().split('\n').find((l) => l.includes('ready'))!;
    expect(line).toMatch(new RegExp(`^shardcache \\d+\\.\\d+\\.\\d+ ready: port ${s.port}, threads 2, shards 32, maxmemory 104857600 bytes`));
  });

  it('SIGINT and SIGTERM shut down cleanly with exit code 0', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const s = await startServer([], { threads: 2 });
      const c = await RawConn.connect(s.port);
      expect(await c.request('PING\r\n')).toBe('+PONG\r\n');
      expect(await s.stop(sig)).toBe(0);
      expect(await c.waitClosed()).toBe(true);
    }
  });

  it('a crashed worker is replaced; data survives; other connections are unaffected', async () => {
    const s = await server(['--enable-debug-command', 'local'], 2);
    // Open connections until both workers hold some (the main thread balances by count).
    const cs = await Promise.all([0, 1, 2, 3].map(() => conn(s)));
    expect(await cs[0]!.request('SET survivor yes\r\n')).toBe('+OK\r\n');
    cs[1]!.write('DEBUG PANIC\r\n');
    expect(await cs[1]!.waitClosed()).toBe(true);
    await expect.poll(() => s.output(), { timeout: 10_000 }).toMatch(/worker \d exited .* starting a replacement/);
    // Every surviving connection on the other worker still works, and new ones do too.
    let alive = 0;
    for (const c of [cs[0]!, cs[2]!, cs[3]!]) if (!c.closed && (await c.request('PING\r\n')) === '+PONG\r\n') alive++;
    expect(alive).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 4; i++) {
      const fresh = await conn(s);
      expect(await fresh.request('GET survivor\r\n')).toBe('$3\r\nyes\r\n');
    }
  });

  it('a worker that dies holding a shard lock: the main thread takes the lock back, checks the shard, and its keys stay served', async () => {
    const { s, cs } = await debugServer(4);
    expect(await cs[0]!.request('SET held yes\r\n')).toBe('+OK\r\n');
    cs[1]!.write('DEBUG PANIC-LOCKED held\r\n');
    expect(await cs[1]!.waitClosed()).toBe(true);
    await expect.poll(() => s.output(), { timeout: 10_000 }).toMatch(/worker \d died holding the lock of shard \d+; the shard checked consistent and is released/);
    // Without the recovery, this read would wait on the lock for good (the other worker serves it).
    expect(await cs[0]!.request('GET held\r\n')).toBe('$3\r\nyes\r\n');
    expect(await cs[0]!.request('SET held again\r\n')).toBe('+OK\r\n');
    const fresh = await conn(s);
    expect(await fresh.request('GET held\r\n')).toBe('$5\r\nagain\r\n');
  });

  it('a worker that dies holding the channel table lock mid-SUBSCRIBE: the table is rebuilt and counts only live subscribers', async () => {
    const { s, cs } = await debugServer(4);
    expect(await cs[2]!.request('SUBSCRIBE news\r\n')).toContain('subscribe');
    expect(await cs[1]!.request('SUBSCRIBE news\r\n')).toContain('subscribe');
    expect(await cs[1]!.request('PSUBSCRIBE n*\r\n')).toContain('psubscribe');
    await expect.poll(() => cs[0]!.request('PUBLISH news x\r\n'), { timeout: 5000 }).toBe(':3\r\n');
    cs[3]!.write('DEBUG PANIC-LOCKED-CHANNEL news\r\n');
    await expect.poll(() => s.output(), { timeout: 10_000 }).toMatch(/worker \d died holding the lock of the channel table; the table was rebuilt/);
    await expect.poll(() => s.output(), { timeout: 10_000 }).toMatch(/worker \d exited .* starting a replacement/);
    expect([cs[1]!.closed, cs[3]!.closed, cs[2]!.closed]).toEqual([true, true, false]);
    // Only the subscriber still connected counts: not the dead worker's, nor its unreported
    // half-count, nor its pattern (which the other worker hears of by message).
    await expect.poll(() => cs[0]!.request('PUBLISH news x\r\n'), { timeout: 5000 }).toBe(':1\r\n');
    expect(await cs[0]!.request('PUBSUB NUMSUB news\r\n')).toBe('*2\r\n$4\r\nnews\r\n:1\r\n');
    expect(await cs[0]!.request('PUBSUB NUMPAT\r\n')).toBe(':0\r\n');
    // The lock is free: subscribing, on either worker, works and counts.
    const fresh = [await conn(s), await conn(s)];
    for (const f of fresh) expect(await f.request('SUBSCRIBE news\r\n')).toContain('subscribe');
    expect(await cs[0]!.request('PUBLISH news x\r\n')).toBe(':3\r\n');
  });

  it('subscription counts stay exact through worker deaths amid subscribe churn on both workers', async () => {
    const { s } = await debugServer(0);
    const CHANNELS = Array.from({ length: 8 }, (_, i) => `ch${i}`);
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % n;
    /** A connection subscribing and unsubscribing at random until stopped or closed; its subscriptions as the server acknowledged them. */
    const churner = async () => {
      const c = await conn(s);
      // RESP3, where a subscribed connection may still send DEBUG.
      await c.request('HELLO 3\r\n');
      const mine = new Set<string>();
      let stop = false;
      const done = (async () => {
        while (!stop && !c.closed) {
          const ch = CHANNELS[rand(CHANNELS.length)]!;
          const sub = !mine.has(ch) || rand(3) === 0;
          c.write(`${sub ? 'SUBSCRIBE' : 'UNSUBSCRIBE'} ${ch}\r\n`);
          const got = await c.take((t) => /:\d+\r\n$/.test(t), 5000).catch(() => '');
          if (got === '') break;
          if (sub) mine.add(ch);
          else mine.delete(ch);
        }
      })();
      return { c, mine, stop: async () => ((stop = true), await done) };
    };
    const all: Awaited<ReturnType<typeof churner>>[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 6; i++) all.push(await churner());
      await new Promise((r) => setTimeout(r, 300));
      // One churning connection's worker dies mid-churn; the other worker's keeps going.
      const victim = all[all.length - 1]!;
      await victim.stop();
      victim.c.write('DEBUG PANIC\r\n');
      await expect.poll(() => (s.output().match(/starting a replacement/g) ?? []).length, { timeout: 10_000 }).toBe(round + 1);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const x of all) await x.stop();
    // What the live connections hold, counted from their acknowledged replies.
    const live = all.filter((x) => !x.c.closed);
    expect(live.length).toBeGreaterThan(0);
    expect(live.length).toBeLessThan(all.length);
    const expected = CHANNELS.map((ch) => live.filter((x) => x.mine.has(ch)).length);
    const checker = await conn(s);
    const numsub = await checker.request(`PUBSUB NUMSUB ${CHANNELS.join(' ')}\r\n`);
    expect([...numsub.matchAll(/:(\d+)\r\n/g)].map((m) => Number(m[1]))).toEqual(expected);
    for (const [i, ch] of CHANNELS.entries()) expect(await checker.request(`PUBLISH ${ch} x\r\n`), ch).toBe(`:${expected[i]}\r\n`);
  });

  it("a crashed worker's subscriptions leave the shared counts with it", async () => {
    const { s, cs } = await debugServer(6);
    expect(await cs[1]!.request('SUBSCRIBE gone\r\n')).toContain('subscribe');
    expect(await cs[3]!.request('PSUBSCRIBE gone*\r\n')).toContain('psubscribe');
    expect(await cs[2]!.request('SUBSCRIBE stays\r\n')).toContain('subscribe');
    expect(await cs[1]!.request('SSUBSCRIBE gone\r\n')).toContain('ssubscribe');
    await expect.poll(() => cs[0]!.request('PUBLISH gone x\r\n'), { timeout: 5000 }).toBe(':2\r\n');
    expect(await cs[0]!.request('SPUBLISH gone x\r\n')).toBe(':1\r\n');
    cs[5]!.write('DEBUG PANIC\r\n');
    await expect.poll(() => s.output(), { timeout: 10_000 }).toMatch(/worker \d exited .* starting a replacement/);
    expect([cs[1]!, cs[3]!, cs[5]!].map((c) => c.closed)).toEqual([true, true, true]);
    expect(cs[2]!.closed).toBe(false);
    // The counts are those of the subscribers still connected.
    expect(await cs[0]!.request('PUBLISH gone x\r\n')).toBe(':0\r\n');
    expect(await cs[0]!.request('PUBSUB NUMSUB gone stays\r\n')).toBe('*4\r\n$4\r\ngone\r\n:0\r\n$5\r\nstays\r\n:1\r\n');
    expect(await cs[0]!.request('PUBSUB NUMPAT\r\n')).toBe(':0\r\n');
    expect(await cs[0]!.request('PUBSUB SHARDNUMSUB gone\r\n')).toBe('*2\r\n$4\r\ngone\r\n:0\r\n');
    expect(await cs[0]!.request('SPUBLISH gone x\r\n')).toBe(':0\r\n');
    expect(await cs[0]!.request('PUBLISH stays x\r\n')).toBe(':1\r\n');
  });
});
