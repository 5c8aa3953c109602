/**
 * One client process of the cross-process stampede test: connects, says "ready", waits for "go"
 * on stdin, then fires 1,000 concurrent getOrLoad calls on one cold key and prints a JSON summary.
 */
import { ShardcacheClient } from '../../src/client/index.ts';

const [port, key] = process.argv.slice(2) as [string, string];
const c = new ShardcacheClient({ nodes: [`127.0.0.1:${port}`], l1: false, lockTtl: 5000 });
await c.ping();
process.stdout.write('ready\n');
await new Promise((r) => process.stdin.once('data', r));
let calls = 0;
const results = await Promise.all(
  Array.from({ length: 1000 }, () =>
    c.getOrLoad(
      key,
      async () => {
        calls++;
        await c.increment(`${key}:loads`);
        await new Promise((r) => setTimeout(r, 300));
        return `loaded-by-${process.pid}`;
      },
      { ttl: 60_000 },
    ),
  ),
);
process.stdout.write(JSON.stringify({ pid: process.pid, calls, values: [...new Set(results.map(String))], stats: c.stats().stampede }) + '\n');
await c.close();
process.stdin.destroy();
