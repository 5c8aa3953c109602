/**
 * Stampede defence across processes: three client processes, 1,000 concurrent getOrLoad calls
 * each on the same cold key, released together. The loader must run once in all. (The
 * single-process case is in client.test.ts.)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ShardcacheClient } from '../../src/client/index.ts';
import { NODE, ROOT, startServer } from '../server/harness.ts';
import type { TestServer } from '../server/harness.ts';

let s: TestServer;
beforeAll(async () => {
  s = await startServer([], { threads: 2 });
});
afterAll(async () => {
  await s?.stop();
});

interface Summary {
  pid: number;
  calls: number;
  values: string[];
  stats: { loaderCalls: number; lockWaits: number; singleFlightJoins: number };
}

test('1,000 concurrent getOrLoad in each of 3 processes call the loader once in all', async () => {
  const script = fileURLToPath(new URL('./stampede-child.ts', import.meta.url));
  const key = `xproc:${Date.now()}`;
  const kids = Array.from({ length: 3 }, () => spawn(NODE, [script, String(s.port), key], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] }));
  const outputs = kids.map((k) => {
    let out = '';
    let err = '';
    k.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    k.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const ready = new Promise<void>((resolve, reject) => {
      k.stdout!.on('data', () => out.includes('ready\n') && resolve());
      k.once('exit', (code) => reject(new Error(`child exited with ${code} before ready: ${err}`)));
    });
    const done = new Promise<Summary>((resolve, reject) => {
      k.once('exit', (code) => {
        if (code !== 0) return reject(new Error(`child exited with ${code}: ${err}`));
        resolve(JSON.parse(out.split('\n').find((l) => l.startsWith('{'))!) as Summary);
      });
    });
    return { ready, done };
  });
  try {
    await Promise.all(outputs.map((o) => o.ready));
    for (const k of kids) k.stdin!.write('go\n');
    const sums = await Promise.all(outputs.map((o) => o.done));
    expect(sums.reduce((n, x) => n + x.calls, 0)).toBe(1);
    const values = new Set(sums.flatMap((x) => x.values));
    expect(values.size).toBe(1);
    // The two processes that did not load waited for the one that did.
    expect(sums.filter((x) => x.calls === 0 && x.stats.lockWaits === 1).length).toBe(2);
    const c = new ShardcacheClient({ nodes: [`127.0.0.1:${s.port}`] });
    expect((await c.get(`${key}:loads`))!.toString()).toBe('1');
    await c.close();
  } finally {
    for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  }
});
