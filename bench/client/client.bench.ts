/**
 * Client benchmark: the binary-protocol ShardcacheClient against ioredis and node-redis (RESP),
 * all against the same shardcache server, then a Zipf(0.99) read workload with the hot-key L1 on
 * and off.
 *
 *   node bench/client/client.bench.ts [--quick] [--seconds s] [--threads n] [--runs n] [--port p] [--only ops|zipf] [--l1-bytes n]
 *
 * GET/SET: `c` in flight (1, 16, 256), each an async loop awaiting one request at a time, for a
 * fixed time; 10,000 preloaded keys of 100-byte values, picked uniformly. Every client gets one
 * connection (the binary client with poolSize 1, L1 off, so the table compares protocols and
 * clients, not caches). ioredis runs twice: as configured by default, and with its
 * enableAutoPipelining (what our client and node-redis do by default). CPU per op is this
 * process's user+system time (process.cpuUsage) divided by ops: the client's cost, not the
 * server's. Runs of the same setting are repeated `--runs` times and the median reported.
 *
 * Zipf: 100,000 keys, reads drawn from Zipf(0.99) (one pre-drawn sequence shared by both runs),
 * binary client at 16 and 256 in flight, with the L1 off and on at its defaults (L1_DEFAULTS).
 * A Zipf run lasts at least three L1 TTLs, so the refills that each expiry costs are in it.
 *
 * The server runs as a child process (`--threads`, default 1: the machine's cores are shared
 * with this client) unless --port points at one already running.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { L1_DEFAULTS, ShardcacheClient } from '../../src/client/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Args {
  quick: boolean;
  seconds: number;
  threads: number;
  runs: number;
  port: number;
  /** Run one part only: the GET/SET table (ops) or the Zipf L1 table (zipf). */
  only: 'ops' | 'zipf' | null;
  /** The L1's byte bound in the Zipf runs (default: the client's). */
  l1Bytes: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  return {
    quick,
    seconds: Number(get('seconds') ?? (quick ? 0.5 : 2)),
    threads: Number(get('threads') ?? 1),
    runs: Number(get('runs') ?? 1),
    port: Number(get('port') ?? 0),
    only: ((o) => (o === 'ops' || o === 'zipf' ? o : null))(get('only')),
    l1Bytes: get('l1-bytes') === undefined ? undefined : Number(get('l1-bytes')),
  };
}

async function startServer(threads: number): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['src/cli/main.ts', 'server', '--port', '0', '--threads', String(threads), '--save', ''], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const on = (d: Buffer) => {
      out += d.toString();
      const m = /ready: port (\d+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', on);
    proc.stderr!.on('data', on);
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out}`)));
  });
  return { port, proc };
}

/** The operations every client provides, shaped the same way. */
interface Driver {
  name: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: Buffer): Promise<unknown>;
  close(): Promise<void>;
}

async function binaryDriver(port: number, name: string, opts: { l1: boolean; poolSize: number; l1Bytes?: number }): Promise<Driver & { client: ShardcacheClient }> {
  const c = new ShardcacheClient({ nodes: [`127.0.0.1:${port}`], poolSize: opts.poolSize, l1: opts.l1 ? { maxBytes: opts.l1Bytes } : false, timeout: 10_000 });
  await c.ping();
  return { name, client: c, get: (k) => c.get(k), set: (k, v) => c.set(k, v), close: () => c.close() };
}

async function ioredisDriver(port: number, autoPipelining: boolean): Promise<Driver> {
  const r = new Redis({ port, host: '127.0.0.1', enableAutoPipelining: autoPipelining, maxRetriesPerRequest: 1 });
  await r.ping();
  return {
    name: autoPipelining ? 'ioredis (autopipelining)' : 'ioredis',
    get: (k) => r.get(k),
    set: (k, v) => r.set(k, v),
    close: async () => {
      r.disconnect();
    },
  };
}

async function nodeRedisDriver(port: number): Promise<Driver> {
  const r = createClient({ socket: { port, host: '127.0.0.1' } });
  await r.connect();
  return {
    name: 'node-redis',
    get: (k) => r.get(k),
    set: (k, v) => r.set(k, v),
    close: async () => {
      r.destroy();
    },
  };
}

interface Measure {
  ops: number;
  seconds: number;
  opsPerSec: number;
  cpuUsPerOp: number;
}

/** `inflight` loops, each awaiting `op(i)` one at a time, until `seconds` pass. */
async function measure(inflight: number, seconds: number, op: (i: number) => Promise<unknown>): Promise<Measure> {
  let ops = 0;
  let seq = 0;
  const end = performance.now() + seconds * 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const loop = async (): Promise<void> => {
    // Check the clock every 64 ops: performance.now() is not free at a million ops/s.
    for (;;) {
      for (let i = 0; i < 64; i++) {
        await op(seq++);
        ops++;
      }
      if (performance.now() >= end) return;
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { ops, seconds: elapsed, opsPerSec: ops / elapsed, cpuUsPerOp: (cpu.user + cpu.system) / ops };
}

function median(xs: Measure[]): Measure {
  const s = [...xs].sort((a, b) => a.opsPerSec - b.opsPerSec);
  return s[Math.floor(s.length / 2)]!;
}

/** Zipf(s) over n ranks by inverse CDF: one pre-drawn sequence of indexes. */
function zipfSequence(n: number, s: number, count: number): Uint32Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  // Ranks map to keys through a fixed shuffle, so hot keys are spread over the key space.
  const perm = Uint32Array.from({ length: n }, (_, i) => i);
  let seed = 12345;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const out = new Uint32Array(count);
  for (let k = 0; k < count; k++) {
    const u = rnd();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    out[k] = perm[lo]!;
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export async function runClientBench(args: Args): Promise<void> {
  const own = args.port === 0 ? await startServer(args.threads) : null;
  const port = own?.port ?? args.port;
  const stopServer = () => own?.proc.kill('SIGTERM');
  process.once('exit', stopServer);
  try {
    console.log(`client benchmark: server port ${port}${own !== null ? ` (threads ${args.threads})` : ''}, ${cpus().length} cores, ${args.seconds}s per run, ${args.runs} run(s), node ${process.version}`);
    const KEYS = args.quick ? 2000 : 10_000;
    const keys = Array.from({ length: KEYS }, (_, i) => `bench:key:${String(i).padStart(6, '0')}`);
    const value = Buffer.alloc(100, 0x78);
    const loader = await binaryDriver(port, 'loader', { l1: false, poolSize: 1 });
    for (let i = 0; i < KEYS; i += 1000) await Promise.all(keys.slice(i, i + 1000).map((k) => loader.set(k, value)));

    const makers: (() => Promise<Driver>)[] = [
      () => binaryDriver(port, 'shardcache binary', { l1: false, poolSize: 1 }),
      () => ioredisDriver(port, false),
      () => ioredisDriver(port, true),
      () => nodeRedisDriver(port),
    ];
    const rows: { client: string; op: string; inflight: number; m: Measure }[] = [];
    const rand = (i: number) => keys[(Math.imul(i, 2654435761) >>> 0) % KEYS]!;
    for (const inflight of args.only === 'zipf' ? [] : [1, 16, 256]) {
      for (const op of ['GET', 'SET'] as const) {
        for (const make of makers) {
          const runs: Measure[] = [];
          let name = '';
          for (let r = 0; r < args.runs; r++) {
            const d = await make();
            name = d.name;
            const fn = op === 'GET' ? (i: number) => d.get(rand(i)) : (i: number) => d.set(rand(i), value);
            await measure(inflight, Math.min(0.2, args.seconds / 4), fn); // warm-up: JIT, connections
            runs.push(await measure(inflight, args.seconds, fn));
            await d.close();
          }
          rows.push({ client: name, op, inflight, m: median(runs) });
        }
      }
    }

    if (args.only !== 'zipf') console.log('');
    if (args.only !== 'zipf') console.log(`${pad('client', 26)} ${pad('op', 4)} ${lpad('in flight', 9)} ${lpad('ops/s', 12)} ${lpad('client CPU µs/op', 17)} ${lpad('vs ioredis', 10)}`);
    for (const r of rows) {
      const base = rows.find((x) => x.client === 'ioredis' && x.op === r.op && x.inflight === r.inflight)!;
      console.log(`${pad(r.client, 26)} ${pad(r.op, 4)} ${lpad(String(r.inflight), 9)} ${lpad(fmt(r.m.opsPerSec), 12)} ${lpad(r.m.cpuUsPerOp.toFixed(2), 17)} ${lpad((r.m.opsPerSec / base.m.opsPerSec).toFixed(2) + '×', 10)}`);
    }

    if (args.only === 'ops') {
      await loader.close();
      return;
    }
    // Zipf(0.99) reads with the L1 off and on.
    const zipfSeconds = args.quick ? args.seconds : Math.max(args.seconds, (3 * L1_DEFAULTS.ttlMs) / 1000);
    const ZKEYS = args.quick ? 20_000 : 100_000;
    const zkeys = Array.from({ length: ZKEYS }, (_, i) => `zipf:${String(i).padStart(6, '0')}`);
    for (let i = 0; i < ZKEYS; i += 2000) await Promise.all(zkeys.slice(i, i + 2000).map((k) => loader.set(k, value)));
    await loader.close();
    const seq = zipfSequence(ZKEYS, 0.99, 1 << 20);
    const mask = seq.length - 1;
    console.log('');
    console.log(`Zipf(0.99) reads over ${fmt(ZKEYS)} keys, binary client, ${zipfSeconds} s a run, L1 threshold ${L1_DEFAULTS.hotThreshold}, TTL ${L1_DEFAULTS.ttlMs} ms, ${((args.l1Bytes ?? L1_DEFAULTS.maxBytes) / 1048576).toFixed(0)} MiB`);
    console.log(`${lpad('in flight', 9)} ${lpad('L1 off ops/s', 14)} ${lpad('L1 on ops/s', 14)} ${lpad('speed-up', 9)} ${lpad('L1 hit rate', 12)} ${lpad('CPU µs/op off/on', 17)}`);
    for (const inflight of [16, 256]) {
      const res: Record<'off' | 'on', Measure> = {} as never;
      let hitRate = 0;
      for (const mode of ['off', 'on'] as const) {
        const runs: Measure[] = [];
        for (let r = 0; r < args.runs; r++) {
          const d = await binaryDriver(port, `l1 ${mode}`, { l1: mode === 'on', poolSize: 2, l1Bytes: args.l1Bytes });
          const fn = (i: number) => d.get(zkeys[seq[i & mask]!]!);
          await measure(inflight, Math.min(0.3, args.seconds / 4), fn);
          const before = d.client.stats().l1;
          runs.push(await measure(inflight, zipfSeconds, fn));
          const after = d.client.stats().l1;
          if (mode === 'on') hitRate = (after.hits - before.hits) / Math.max(1, after.hits - before.hits + after.misses - before.misses);
          await d.close();
        }
        res[mode] = median(runs);
      }
      console.log(
        `${lpad(String(inflight), 9)} ${lpad(fmt(res.off.opsPerSec), 14)} ${lpad(fmt(res.on.opsPerSec), 14)} ${lpad((res.on.opsPerSec / res.off.opsPerSec).toFixed(2) + '×', 9)} ${lpad((hitRate * 100).toFixed(1) + '%', 12)} ${lpad(`${res.off.cpuUsPerOp.toFixed(2)} / ${res.on.cpuUsPerOp.toFixed(2)}`, 17)}`,
      );
    }
  } finally {
    stopServer();
    process.off('exit', stopServer);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runClientBench(parseArgs(process.argv.slice(2)));
}
