/**
 * Redis Sentinel (redis-sentinel from Debian, Redis 7.0) pointed at shardcache as a master: it
 * sees a master (INFO, ROLE), two sentinels find each other through the hello messages they
 * publish and subscribe to on it (across its workers), ioredis and node-redis reach it through them, and they
 * agree it is down once it stops. Failover needs replicas, which this build does not have.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createSentinel } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, hasBinary } from '../../src/bench/net.ts';
import { serverPool } from './harness.ts';

const pool = serverPool();
const sentinels: { proc: ChildProcess; dir: string; client: Redis }[] = [];
afterEach(async () => {
  for (const s of sentinels.splice(0)) {
    s.client.disconnect();
    if (s.proc.exitCode === null) {
      const gone = new Promise((r) => s.proc.once('exit', r));
      s.proc.kill('SIGTERM');
      await gone;
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
  await pool.cleanup();
});

/** A sentinel on a free port monitoring the master at `port` as `mymaster`, quorum 1. */
async function startSentinel(port: number): Promise<{ port: number; client: Redis }> {
  const own = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sc-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [`port ${own}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor mymaster 127.0.0.1 ${port} 1`, 'sentinel down-after-milliseconds mymaster 1000', ''].join('\n'));
  const proc = spawn('redis-sentinel', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('+monitor master mymaster')) resolve();
    });
    proc.once('exit', (c) => reject(new Error(`redis-sentinel exited ${c}: ${out}`)));
  });
  const client = new Redis({ port: own, lazyConnect: true });
  sentinels.push({ proc, dir, client });
  return { port: own, client };
}

/** SENTINEL MASTER mymaster as a map of its fields. */
async function master(client: Redis): Promise<Map<string, string>> {
  const flat = (await client.call('SENTINEL', 'MASTER', 'mymaster')) as string[];
  const m = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  return m;
}

describe('Redis Sentinel', () => {
  it.skipIf(!hasBinary('redis-sentinel'))('monitors shardcache as a master: discovery over its pub/sub, clients through the sentinels, down when it stops', { timeout: 40_000 }, async () => {
    const s = await pool.server([], 2);
    const [a, b] = [await startSentinel(s.port), await startSentinel(s.port)];
    for (const x of [a, b]) {
      // Hello messages go out every 2 s on each sentinel's command link and arrive on the other's
      // subscription, the two links on either worker.
      await expect
        .poll(async () => {
          const m = await master(x.client);
          return [m.get('flags'), m.get('role-reported'), m.get('num-other-sentinels'), m.get('num-slaves')];
        }, { timeout: 15_000, interval: 500 })
        .toEqual(['master', 'master', '1', '0']);
    }
    expect(await a.client.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster')).toEqual(['127.0.0.1', String(s.port)]);
    // A client that knows only the sentinels.
    const viaSentinels = new Redis({ sentinels: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }], name: 'mymaster' });
    try {
      expect(await viaSentinels.set('through', 'sentinels')).toBe('OK');
      expect(await viaSentinels.info('server')).toContain(`tcp_port:${s.port}`);
    } finally {
      viaSentinels.disconnect();
    }
    // node-redis's sentinel client likewise.
    const nodeRedis = createSentinel({ name: 'mymaster', sentinelRootNodes: [{ host: '127.0.0.1', port: a.port }, { host: '127.0.0.1', port: b.port }] });
    await nodeRedis.connect();
    try {
      expect(await nodeRedis.get('through')).toBe('sentinels');
      expect(await nodeRedis.set('node-redis', 'too')).toBe('OK');
    } finally {
      nodeRedis.destroy();
    }
    const direct = new Redis({ port: s.port });
    expect(await direct.mget('through', 'node-redis')).toEqual(['sentinels', 'too']);
    direct.disconnect();
    await s.stop();
    await expect.poll(async () => (await master(a.client)).get('flags'), { timeout: 10_000, interval: 500 }).toMatch(/s_down,o_down,master/);
  });
});
