/**
 * The benchmark's process hygiene: servers it started go when the process that started them
 * exits, even when nothing stopped them (a test's timeout abandons its run mid-way).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasBinary } from '../../src/bench/net.ts';

const NET = fileURLToPath(new URL('../../src/bench/net.ts', import.meta.url));

/** Whether `pid` is a live process: present in /proc and not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

describe('bench processes', () => {
  it('a shardcache and a redis-server left running die with the process that started them', async () => {
    const withRedis = hasBinary('redis-server');
    const script = `
      const net = await import(${JSON.stringify(NET)});
      const ours = await net.startShardcache(1, '64mb');
      const redis = ${withRedis} ? await net.startRedis('64mb') : null;
      console.log(JSON.stringify([ours.pid, redis?.pid ?? 0]));
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    const pids = (JSON.parse(out.trim().split('\n').pop()!) as number[]).filter((p) => p > 0);
    try {
      expect(pids.length).toBe(withRedis ? 2 : 1);
      for (const pid of pids) expect(await until(() => !alive(pid), 5000)).toBe(true);
    } finally {
      // Should the servers have outlived their parent, this test still stops them.
      for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
