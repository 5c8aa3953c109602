/**
 * PUBLISH throughput with subscribers, against redis-server in the same run: two subscribers of
 * one channel (so with `--threads 2` one sits on each worker and every message crosses the bus),
 * and redis-benchmark sending `PUBLISH ch hello` pipelined. Runs alternate between the servers;
 * it prints each run's ops/s and the medians' ratio.
 *   node bench/server/pubsub.bench.ts [runs] [threads] [pipeline]   (default 3, 2, 16)
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { hasBinary, inTurn, median, startRedis, startShardcache } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';

const runs = Number(process.argv[2] ?? 3);
const threads = Number(process.argv[3] ?? 2);
const pipeline = Number(process.argv[4] ?? 16);
const REQUESTS = 500_000;
const run = promisify(execFile);

/** A subscriber of `ch` that reads and drops every message. */
function subscriber(port: number): Promise<net.Socket> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n'));
    let text = '';
    const first = (d: Buffer) => {
      text += d.toString('latin1');
      if (!text.endsWith(':1\r\n')) return;
      s.off('data', first);
      s.on('data', () => undefined);
      resolve(s);
    };
    s.on('data', first);
  });
}

async function publishRate(port: number): Promise<number> {
  const { stdout } = await run('redis-benchmark', ['-p', String(port), '-n', String(REQUESTS), '-P', String(pipeline), '-c', '10', '--csv', 'PUBLISH', 'ch', 'hello'], { timeout: 300_000 });
  const line = stdout.trim().split('\n').find((l) => l.startsWith('"PUBLISH'));
  if (line === undefined) throw new Error(`redis-benchmark printed no PUBLISH line:\n${stdout}`);
  return Number(line.split(',')[1]!.replace(/"/g, ''));
}

if (!hasBinary('redis-benchmark')) {
  console.error('needs redis-benchmark (apt-get install redis-tools)');
  process.exit(1);
}
const servers: [string, Running][] = [['shardcache', await startShardcache(threads, '1gb')]];
const subs: net.Socket[] = [];
try {
  if (hasBinary('redis-server')) servers.push(['redis', await startRedis('1gb')]);
  for (const [, s] of servers) for (let i = 0; i < 2; i++) subs.push(await subscriber(s.port));
  const rates = new Map<string, number[]>(servers.map(([name]) => [name, []]));
  for (let r = 0; r < runs; r++) {
    for (const [name, s] of inTurn(servers, r)) {
      const rate = await publishRate(s.port);
      rates.get(name)!.push(rate);
      console.log(`${name}: ${Math.round(rate).toLocaleString('en-US')} PUBLISH/s`);
    }
  }
  const ours = median(rates.get('shardcache')!);
  const redis = rates.has('redis') ? median(rates.get('redis')!) : NaN;
  console.log(`median: shardcache --threads ${threads} ${Math.round(ours).toLocaleString('en-US')}, redis ${Number.isNaN(redis) ? '-' : Math.round(redis).toLocaleString('en-US')}, ratio ${Number.isNaN(redis) ? '-' : (ours / redis).toFixed(2)} (P=${pipeline}, 2 subscribers)`);
} finally {
  for (const s of subs) s.destroy();
  for (const [, s] of servers) await s.stop();
}
