/**
 * Commands with many keys, against redis-server in the same run: MSET, MGET, EXISTS, TOUCH and
 * DEL of N keys in one request, plain, with every keyspace event on (`notify-keyspace-events
 * KEA`) and nobody subscribed, with them on and a PSUBSCRIBE `__key*__:*` listener (`heard`:
 * timed until the listener has had every event, by a PING it sends after the reply), and
 * with a RESP3 client tracking (BCAST, so every write is announced); then one
 * PSUBSCRIBE of 1000 patterns and 1000 pipelined PUBLISHes matched against them. Each server gets
 * the same requests: three unmeasured rounds of the key commands to warm up, then four rounds
 * of each in each mode, the first unmeasured, and one of the pattern steps; the table gives the (median) milliseconds and Redis's time divided by ours. Big
 * requests are where per-key costs that grow with the request (a scan per key, a copy of the
 * whole request per event) show.
 *   node bench/server/multikey.bench.ts [keys] [threads]   (default 20000 keys, 2 threads)
 */
import net from 'node:net';
import { hasBinary, median, startRedis, startShardcache } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';

const N = Number(process.argv[2] ?? 20_000);
const PATTERNS = 1000;
const threads = Number(process.argv[3] ?? 2);

/** One request, answered when `done` says the reply text is complete. */
function request(s: net.Socket, args: string[], done: (text: string) => boolean): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const t0 = performance.now();
    const on = (d: Buffer) => {
      text += d.toString('latin1');
      if (!done(text)) return;
      s.off('data', on);
      resolve(performance.now() - t0);
    };
    s.on('data', on);
    s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

const line = (t: string) => t.endsWith('\r\n');
const open = (port: number) =>
  new Promise<net.Socket>((r) => {
    const s = net.connect(port, '127.0.0.1', () => r(s));
  });
const keys = Array.from({ length: N }, (_, i) => `mk:${i}`);
const commands: [string, string[], (t: string) => boolean][] = [
  ['MSET', ['MSET', ...keys.flatMap((k) => [k, 'v'])], line],
  ['MGET', ['MGET', ...keys], (t) => t.split('\r\n').length >= 2 * N + 2],
  ['EXISTS', ['EXISTS', ...keys], line],
  ['TOUCH', ['TOUCH', ...keys], line],
  ['DEL', ['DEL', ...keys], line],
];
const modes = ['plain', 'events', 'heard', 'tracking'] as const;

async function measure(port: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const w = await open(port);
  // Warm-up: the first rounds of a fresh server run unoptimised code, which would load the
  // first mode's figures.
  for (let r = 0; r < 3; r++) for (const [, args, done] of commands) await request(w, args, done);
  for (const mode of modes) {
    await request(w, ['CONFIG', 'SET', 'notify-keyspace-events', mode === 'events' || mode === 'heard' ? 'KEA' : ''], line);
    let tracker: net.Socket | null = null;
    let listener: net.Socket | null = null;
    if (mode === 'heard') {
      // Every event has a listener (on the other worker, with two): each is built and delivered.
      listener = await open(port);
      await request(listener, ['PSUBSCRIBE', '__key*__:*'], (t) => t.includes('psubscribe'));
    }
    if (mode === 'tracking') {
      tracker = await open(port);
      await request(tracker, ['HELLO', '3'], (t) => t.includes('modules'));
      await request(tracker, ['CLIENT', 'TRACKING', 'on', 'BCAST'], line);
      tracker.on('data', () => undefined);
    }
    // The median of three rounds after one unmeasured round (which warms the JIT up).
    const times = new Map<string, number[]>();
    for (let round = 0; round < 4; round++) {
      for (const [name, args, done] of commands) {
        let ms = await request(w, args, done);
        // Until the listener has every event too: a PING it sends after the reply is answered
        // after the events the command published (Redis: one thread; here: the bus catch-up).
        if (listener !== null) ms += await request(listener, ['PING'], (t) => t.includes('pong'));
        if (round > 0) times.set(name, [...(times.get(name) ?? []), ms]);
      }
    }
    for (const [name, ms] of times) out.set(`${name} ${mode}`, median(ms));
    tracker?.destroy();
    listener?.destroy();
  }
  // Patterns: one PSUBSCRIBE of PATTERNS patterns, then as many PUBLISHes pipelined, each
  // matched against every pattern (pattern matching has no index, in Redis either).
  const sub = await open(port);
  const pats = Array.from({ length: PATTERNS }, (_, i) => `mp:${i}:*`);
  out.set('PSUBSCRIBE patterns', await request(sub, ['PSUBSCRIBE', ...pats], (t) => t.split('psubscribe').length > PATTERNS));
  sub.on('data', () => undefined);
  const publishes = pats.map((_, i) => `*3\r\n$7\r\nPUBLISH\r\n$${`mp:${i}:x`.length}\r\nmp:${i}:x\r\n$1\r\nm\r\n`).join('');
  out.set('PUBLISH patterns', await new Promise<number>((resolve) => {
    let text = '';
    const t0 = performance.now();
    const on = (d: Buffer) => {
      text += d.toString('latin1');
      if (text.split(':1\r\n').length <= PATTERNS) return;
      w.off('data', on);
      resolve(performance.now() - t0);
    };
    w.on('data', on);
    w.write(publishes);
  }));
  sub.destroy();
  w.destroy();
  return out;
}

const servers: [string, Running][] = [['shardcache', await startShardcache(threads, '1gb')]];
try {
  if (hasBinary('redis-server')) servers.push(['redis', await startRedis('1gb')]);
  const results = new Map<string, Map<string, number>>();
  for (const [name, s] of servers) results.set(name, await measure(s.port));
  console.log(`${N} keys per request, shardcache --threads ${threads}${servers.length > 1 ? ' against redis-server' : ' (redis-server not installed)'}`);
  console.log('| command | mode | shardcache ms | redis ms | ratio (redis ÷ ours) |');
  console.log('|---|---|--:|--:|--:|');
  const rows: [string, string, string][] = modes.flatMap((mode) => commands.map(([name]): [string, string, string] => [name, mode, `${name} ${mode}`]));
  rows.push(['PSUBSCRIBE', `${PATTERNS} patterns, one request`, 'PSUBSCRIBE patterns'], ['PUBLISH', `${PATTERNS} pipelined, ${PATTERNS} patterns`, 'PUBLISH patterns']);
  for (const [name, mode, key] of rows) {
    const ours = results.get('shardcache')!.get(key)!;
    const redis = results.get('redis')?.get(key);
    console.log(`| ${name} | ${mode} | ${ours.toFixed(1)} | ${redis?.toFixed(1) ?? '-'} | ${redis === undefined ? '-' : (redis / ours).toFixed(2)} |`);
  }
} finally {
  for (const [, s] of servers) await s.stop();
}
