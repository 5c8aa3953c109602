/**
 * Replicas and failover with real server processes.
 *
 * How a replica is modelled until servers replicate themselves: a replica is a second server
 * listed under its primary; the client mirrors every write to it (fire and forget) and reads from
 * it while the primary is down. Killing the primary must leave reads working, mark the primary
 * down after N consecutive failures, and make writes fail fast with SC_CLIENT_PRIMARY_DOWN; a
 * background probe brings a node back once it answers.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test } from 'vitest';
import { ShardcacheClient, ShardcacheClientError } from '../../src/client/index.ts';
import { startServer } from '../server/harness.ts';
import type { TestServer } from '../server/harness.ts';

const servers: TestServer[] = [];
const clients: ShardcacheClient[] = [];

afterAll(async () => {
  for (const c of clients) await c.close();
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(args: string[] = []): Promise<TestServer> {
  const s = await startServer(args, { threads: 1 });
  servers.push(s);
  return s;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function event(c: ShardcacheClient, name: string, id: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (n: string) => {
      if (n !== id) return;
      c.off(name, on);
      resolve();
    };
    c.on(name, on);
  });
}

describe('replicas and failover', () => {
  test('kill a primary: reads fail over to its replica, writes fail fast, the node is marked down', async () => {
    const [a, aReplica, b] = await Promise.all([start(), start(), start()]);
    const aId = `127.0.0.1:${a.port}`;
    const c = new ShardcacheClient({
      nodes: [
        { host: '127.0.0.1', port: a.port, replicas: [`127.0.0.1:${aReplica.port}`] },
        { host: '127.0.0.1', port: b.port },
      ],
      timeout: 500,
      failureThreshold: 3,
      probeInterval: 200,
      l1: false,
    });
    clients.push(c);
    const keys = Array.from({ length: 200 }, (_, i) => `fo:${i}`);
    await Promise.all(keys.map((k) => c.set(k, `v:${k}`)));
    const onA = keys.filter((k) => c.nodeFor(k) === aId);
    expect(onA.length).toBeGreaterThan(40);
    // The mirrored copies are fire and forget: wait until the replica holds them all.
    const direct = new ShardcacheClient({ nodes: [`127.0.0.1:${aReplica.port}`], l1: false });
    clients.push(direct);
    for (let i = 0; i < 50 && (await direct.mget(onA)).some((v) => v === null); i++) await new Promise((r) => setTimeout(r, 20));
    expect((await direct.mget(onA)).map(String)).toEqual(onA.map((k) => `v:${k}`));

    const down = event(c, 'node-down', aId);
    a.proc.kill('SIGKILL');
    await new Promise<void>((r) => (a.proc.exitCode !== null || a.proc.signalCode !== null ? r() : a.proc.once('exit', () => r())));

    // Every read of A's keys still answers, from the replica.
    const got = await Promise.all(onA.map((k) => c.get(k)));
    expect(got.map(String)).toEqual(onA.map((k) => `v:${k}`));
    await down;
    const st = c.stats();
    expect(st.nodes.find((n) => n.id === aId)!.up).toBe(false);
    expect(st.failovers).toBeGreaterThan(0);
    // Reads after the mark-down go to the replica directly.
    expect((await c.get(onA[0]!))!.toString()).toBe(`v:${onA[0]}`);
    expect(await c.exists(onA[1]!)).toBe(true);
    // Writes to the down primary fail fast with a clear code; B is unaffected.
    const t0 = performance.now();
    const err = await c.set(onA[0]!, 'new').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShardcacheClientError);
    expect((err as ShardcacheClientError).code).toBe('SC_CLIENT_PRIMARY_DOWN');
    expect(performance.now() - t0).toBeLessThan(100);
    const onB = keys.find((k) => c.nodeFor(k) !== aId)!;
    expect(await c.set(onB, 'still writable')).toBe(true);
  });

  test('a node that is down is probed in the background and comes back', async () => {
    const port = await freePort();
    const id = `127.0.0.1:${port}`;
    const c = new ShardcacheClient({ nodes: [{ host: '127.0.0.1', port }], timeout: 300, failureThreshold: 2, probeInterval: 100, retries: 0, l1: false });
    clients.push(c);
    const down = event(c, 'node-down', id);
    await expect(c.get('k')).rejects.toMatchObject({ code: 'SC_CLIENT_CONNECT_FAILED' });
    await expect(c.get('k')).rejects.toMatchObject({ code: 'SC_CLIENT_CONNECT_FAILED' });
    await down;
    await expect(c.get('k')).rejects.toMatchObject({ code: 'SC_CLIENT_NODE_DOWN' });
    await expect(c.set('k', 'v')).rejects.toMatchObject({ code: 'SC_CLIENT_PRIMARY_DOWN' });
    const up = event(c, 'node-up', id);
    await start(['--port', String(port)]);
    await up;
    expect(await c.set('k', 'v')).toBe(true);
    expect((await c.get('k'))!.toString()).toBe('v');
  });

  test('pub/sub fails over: a down primary’s channels move to its replica and back when it returns', async () => {
    const port = await freePort();
    const pid = `127.0.0.1:${port}`;
    const [replica, primary] = await Promise.all([start(), start(['--port', String(port)])]);
    const rid = `127.0.0.1:${replica.port}`;
    const make = () => {
      const c = new ShardcacheClient({ nodes: [{ host: '127.0.0.1', port, replicas: [rid] }], timeout: 300, failureThreshold: 2, probeInterval: 100, l1: false });
      clients.push(c);
      return c;
    };
    const sub = make();
    const pub = make();
    const got: string[] = [];
    let arrived: ((m: string) => void) | null = null;
    const next = () => new Promise<string>((resolve) => (arrived = resolve));
    await sub.subscribe('news', (m) => {
      got.push(m.toString());
      arrived?.(m.toString());
    });
    let msg = next();
    expect(await pub.publish('news', 'm1')).toBe(1);
    expect(await msg).toBe('m1');

    const homes = (c: ShardcacheClient, to: string) => new Promise<void>((resolve) => c.on('pubsub-home', (from: string, at: string) => from === pid && at === to && resolve()));
    const moved = homes(sub, rid);
    const downs = Promise.all([event(sub, 'node-down', pid), event(pub, 'node-down', pid)]);
    primary.proc.kill('SIGKILL');
    // Both clients see their connections drop and probe the node until they mark it down.
    await downs;
    await moved;
    msg = next();
    expect(await pub.publish('news', 'm2')).toBe(1);
    expect(await msg).toBe('m2');

    const back = homes(sub, pid);
    const ups = Promise.all([event(sub, 'node-up', pid), event(pub, 'node-up', pid)]);
    await start(['--port', String(port)]);
    await ups;
    await back;
    msg = next();
    expect(await pub.publish('news', 'm3')).toBe(1);
    expect(await msg).toBe('m3');
    // The replica no longer carries the channel.
    const r = new Redis({ port: replica.port, host: '127.0.0.1', lazyConnect: true });
    await r.connect();
    expect(await r.pubsub('NUMSUB', 'news')).toEqual(['news', 0]);
    r.disconnect();
    expect(got).toEqual(['m1', 'm2', 'm3']);
  });
});
