/**
 * `shardcache bench net`: shardcache against redis-server on this machine, both driven by
 * redis-benchmark with the same settings, runs alternated so drift hits both alike. Reports ops/s,
 * p50/p99 latency, server CPU-seconds per million operations and the ratio to Redis. With
 * `floor`, a third process runs beside them: floor-server.ts, Node's socket path with no server
 * behind it, so the table shows how much of a gap to Redis the platform leaves.
 */
import { performance } from 'node:perf_hooks';
import { execFile, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { childrenCpuSeconds, cpuSeconds } from './procstat.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface NetOptions {
  clients: number;
  pipelines: number[];
  sizes: number[];
  keys: number;
  tests: string[];
  runs: number;
  seconds: number;
  threads?: number;
  maxmemory: string;
  /** Also measure floor-server.ts (Node's socket path alone) with the same load. */
  floor?: boolean;
  /** Servers and load generator on CPUs of their own (pinCpus), as with clients on another host. */
  pin?: boolean;
  /** With `pin`: how many CPUs, the last ones, the load generator gets (default 1). */
  loadCpus?: number;
  /** redis-benchmark processes side by side (default 1; benchmark()). */
  benchProcs?: number;
  /** More redis-server options, e.g. ['--io-threads', '4']. */
  redisArgs?: string[];
  progress?: (line: string) => void;
}

export interface NetSample {
  server: 'shardcache' | 'redis' | 'floor';
  test: string;
  pipeline: number;
  size: number;
  requests: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  cpuPerMillion: number;
  /** The load generator's CPU over the run, in cores (absent from older results). */
  loadCores?: number;
}

/** One server's medians over the runs of a setting, and the spread of its ops/s. */
export interface NetStats {
  opsPerSec: number;
  p50: number;
  p99: number;
  cpuPerMillion: number;
  spread: number;
  /** Median load generator CPU in cores, when the samples have it. */
  loadCores?: number;
}

export interface NetRow {
  test: string;
  pipeline: number;
  size: number;
  ours: NetStats;
  redis: NetStats | null;
  /** floor-server.ts under the same load, when measured. */
  floor?: NetStats;
  ratio: number | null;
  cpuRatio: number | null;
}

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

export interface Running {
  port: number;
  pid: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
}

function waitExit(p: ChildProcess): Promise<void> {
  return p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', () => r()));
}

/**
 * CPU lists for `bench --pin`: the load generator on the last `loadCpus` CPUs, the servers on all
 * the others, so neither steals the other's time slices. Null without more CPUs than that, or
 * without taskset.
 */
export function pinCpus(loadCpus = 1): { server: string; load: string } | null {
  const n = availableParallelism();
  if (loadCpus < 1 || n <= loadCpus || !hasBinary('taskset')) return null;
  const span = (a: number, b: number) => (a === b ? String(a) : `${a}-${b}`);
  return { server: span(0, n - loadCpus - 1), load: span(n - loadCpus, n - 1) };
}

/**
 * The processes this module started that have not exited: killed when this process exits, so a
 * run cut short (a test's timeout, an exception past the caller's cleanup) leaves none behind.
 */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of children) p.kill('SIGKILL');
});
function tracked<T extends ChildProcess>(p: T): T {
  children.add(p);
  p.once('exit', () => children.delete(p));
  return p;
}

/** `cmd args` run on the CPUs `cpus` (taskset execs the command: the pid stays the program's). */
function onCpus(cmd: string, args: string[], cpus: string | undefined): [string, string[]] {
  return cpus === undefined ? [cmd, args] : ['taskset', ['-c', cpus, cmd, ...args]];
}

/** Starts the server of the checkout at `root` (this one by default) on a free port. */
export function startShardcache(threads: number | undefined, maxmemory: string, extra: string[] = [], root = ROOT, cpus?: string): Promise<Running> {
  const args = ['src/cli/main.ts', 'server', '--port', '0', '--maxmemory', maxmemory, '--maxmemory-policy', 'allkeys-lru', ...(threads ? ['--threads', String(threads)] : []), ...extra];
  return startNode('shardcache', args, root, cpus);
}

/** Runs a Node program that prints `ready: port N` once it listens on the free port N. */
async function startNode(name: string, args: string[], cwd: string, cpus?: string): Promise<Running> {
  const proc = tracked(spawn(...onCpus(process.execPath, args, cpus), { cwd, stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready: port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (c) => reject(new Error(`${name} exited ${c}: ${out}`)));
  });
  return { port, pid: proc.pid!, proc, stop: async () => { proc.kill('SIGTERM'); await waitExit(proc); } };
}

/**
 * `--dir` of a new empty directory for a redis-server, and its removal: redis-server loads the
 * dump.rdb (or appendonlydir) of its directory at start, so one left in the caller's working
 * directory would otherwise join the measurement or the test.
 */
export function redisScratchDir(): { args: string[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'shardcache-redis-'));
  return { args: ['--dir', dir], remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function startRedis(maxmemory: string, extra: string[] = [], cpus?: string): Promise<Running> {
  const port = await freePort();
  const scratch = redisScratchDir();
  const args = ['--port', String(port), '--bind', '127.0.0.1', ...scratch.args, '--save', '', '--appendonly', 'no', '--maxmemory', maxmemory, '--maxmemory-policy', 'allkeys-lru', ...extra];
  const proc = tracked(spawn(...onCpus('redis-server', args, cpus), { stdio: ['ignore', 'pipe', 'pipe'] }));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    proc.once('exit', (c) => {
      scratch.remove();
      reject(new Error(`redis-server exited ${c}: ${out}`));
    });
  });
  const stop = async () => {
    proc.kill('SIGTERM');
    await waitExit(proc);
    scratch.remove();
  };
  return { port, pid: proc.pid!, proc, stop };
}

/** floor-server.ts on a free port, answering GETs with `size`-byte values. */
export function startFloor(threads: number | undefined, size: number, cpus?: string): Promise<Running> {
  const args = ['src/bench/floor-server.ts', '--port', '0', '--size', String(size), '--threads', String(threads ?? availableParallelism())];
  return startNode('floor-server', args, ROOT, cpus);
}

/** Loads key:000000000000 … as redis-benchmark names them (-r), so GETs hit. */
export async function loadKeys(port: number, keys: number, size: number): Promise<void> {
  const value = 'x'.repeat(size);
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => {
    sock.once('connect', () => r());
    sock.once('error', j);
  });
  let replies = 0;
  const done = new Promise<void>((resolve) => {
    sock.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) replies++;
      if (replies >= keys) resolve();
    });
  });
  const chunk: string[] = [];
  for (let i = 0; i < keys; i++) {
    const k = `key:${String(i).padStart(12, '0')}`;
    chunk.push(`*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${size}\r\n${value}\r\n`);
    if (chunk.length === 1000 || i === keys - 1) {
      if (!sock.write(chunk.join(''))) await new Promise((r) => sock.once('drain', r));
      chunk.length = 0;
    }
  }
  await done;
  sock.destroy();
}

/**
 * One redis-benchmark run's settings: `cpus` a taskset CPU list, `procs` how many redis-benchmark
 * processes share the clients and requests.
 */
export interface BenchmarkRun {
  test: string;
  clients: number;
  requests: number;
  pipeline: number;
  size: number;
  keys: number;
  cpus?: string;
  procs?: number;
}

/**
 * One redis-benchmark run. `loadCores` is the CPU it used over its wall time: near its process
 * count means the load generator, not the server, set the pace.
 *
 * More load than one redis-benchmark process gives (a server on many cores) comes from several
 * processes side by side, not from its --threads, whose runs end on a 250 ms tick (a 3 s run
 * reads up to 8 % slow). Their rate is all their requests over the longest one's time, p50 the
 * median of theirs and p99 the highest.
 */
export async function benchmark(port: number, b: BenchmarkRun): Promise<{ rps: number; p50: number; p99: number; loadCores: number }> {
  const c0 = childrenCpuSeconds();
  const t0 = performance.now();
  const procs = Math.max(1, Math.min(b.procs ?? 1, b.clients));
  const parts = await Promise.all(
    Array.from({ length: procs }, async (_, i) => {
      const clients = Math.floor(b.clients / procs) + (i < b.clients % procs ? 1 : 0);
      const requests = Math.floor(b.requests / procs) + (i < b.requests % procs ? 1 : 0);
      const args = ['-p', String(port), '-c', String(clients), '-n', String(requests), '-P', String(b.pipeline), '-d', String(b.size), '-r', String(b.keys), '-t', b.test, '--csv'];
      const running = run(...onCpus('redis-benchmark', args, b.cpus), { timeout: 600_000 });
      tracked(running.child);
      const { stdout } = await running;
      const line = stdout.trim().split('\n').find((l) => l.startsWith(`"${b.test.toUpperCase()}"`));
      if (line === undefined) throw new Error(`redis-benchmark printed no ${b.test} line:\n${stdout}`);
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const f = line.split(',').map((x) => Number(x.replace(/"/g, '')));
      return { requests, rps: f[1]!, p50: f[4]!, p99: f[6]! };
    }),
  );
  const loadCores = (childrenCpuSeconds() - c0) / ((performance.now() - t0) / 1000);
  const seconds = Math.max(...parts.map((x) => x.requests / x.rps));
  return { rps: b.requests / seconds, p50: median(parts.map((x) => x.p50)), p99: Math.max(...parts.map((x) => x.p99)), loadCores };
}

/**
 * Requests for about `seconds` of redis-benchmark load, from a short calibration run. A run of a
 * few ms reads slow (connecting, a cold JIT), so one under a quarter second is followed by one
 * sized for about half a second, whose rate is used.
 */
export async function calibrateRequests(port: number, b: Omit<BenchmarkRun, 'requests'>, seconds: number): Promise<number> {
  const first = Math.max(2000, b.clients * b.pipeline * 20);
  let cal = await benchmark(port, { ...b, requests: first });
  if (first / cal.rps < 0.25) cal = await benchmark(port, { ...b, requests: Math.max(first, Math.round(cal.rps / 2)) });
  return Math.max(1000, Math.round(cal.rps * seconds));
}

/**
 * `items` rotated by `run`: the order of one round of back-to-back runs, so no contender always
 * goes first (the first of a pair of back-to-back runs measured about 5 % faster here).
 */
export function inTurn<T>(items: readonly T[], run: number): T[] {
  const k = run % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** pinCpus(loadCpus), or the error `--pin` gets where it cannot be done. */
export function pinOrThrow(loadCpus = 1): { server: string; load: string } {
  const pin = pinCpus(loadCpus);
  if (pin === null) throw new Error(`--pin needs more CPUs than --load-cpus (${loadCpus}), and taskset (util-linux)`);
  return pin;
}

export async function runNet(o: NetOptions): Promise<{ samples: NetSample[]; rows: NetRow[]; redis: boolean; pinned: { server: string; load: string } | null }> {
  const say = o.progress ?? (() => undefined);
  const withRedis = hasBinary('redis-server');
  const pin = o.pin === true ? pinOrThrow(o.loadCpus) : null;
  const ours = await startShardcache(o.threads, o.maxmemory, [], ROOT, pin?.server);
  const redis = withRedis ? await startRedis(o.maxmemory, o.redisArgs ?? [], pin?.server) : null;
  const samples: NetSample[] = [];
  let floor: Running | null = null;
  try {
    for (const size of o.sizes) {
      await loadKeys(ours.port, o.keys, size);
      if (redis) await loadKeys(redis.port, o.keys, size);
      await floor?.stop();
      floor = o.floor ? await startFloor(o.threads, size, pin?.server) : null;
      const contenders = ([['shardcache', ours], ['redis', redis], ['floor', floor]] as const).filter((x): x is readonly [NetSample['server'], Running] => x[1] !== null);
      for (const pipeline of o.pipelines) {
        for (const test of o.tests) {
          // Size each run for about `seconds` from a short calibration run on our server.
          const run: Omit<BenchmarkRun, 'requests'> = { test, clients: o.clients, pipeline, size, keys: o.keys, cpus: pin?.load, procs: o.benchProcs };
          const requests = await calibrateRequests(ours.port, run, o.seconds);
          // An unmeasured quarter run on every server first: the first measured run of a setting
          // would otherwise carry our JIT compiling the paths it takes (in V8's background
          // threads, on the same two cores), and every server's first page faults.
          for (const [name, srv] of contenders) {
            say(`net ${test} P=${pipeline} ${size}B warm-up ${name}`);
            await benchmark(srv.port, { ...run, requests: Math.max(1000, Math.round(requests / 4)) });
          }
          for (let r = 0; r < o.runs; r++) {
            for (const [name, srv] of inTurn(contenders, r)) {
              say(`net ${test} P=${pipeline} ${size}B run ${r + 1}/${o.runs} ${name}`);
              const c0 = cpuSeconds(srv.pid);
              const b = await benchmark(srv.port, { ...run, requests });
              const c1 = cpuSeconds(srv.pid);
              samples.push({ server: name, test, pipeline, size, requests, opsPerSec: b.rps, p50: b.p50, p99: b.p99, cpuPerMillion: ((c1 - c0) / requests) * 1e6, loadCores: b.loadCores });
            }
          }
        }
      }
    }
  } finally {
    await ours.stop();
    await redis?.stop();
    await floor?.stop();
  }
  const rows = netRows(samples, o.sizes, o.pipelines, o.tests);
  return { samples, rows, redis: withRedis, pinned: pin };
}

/** Medians of each server's samples per setting, with the spread, and our ratio to Redis. */
export function netRows(samples: readonly NetSample[], sizes: readonly number[], pipelines: readonly number[], tests: readonly string[]): NetRow[] {
  const agg = (xs: NetSample[]): NetStats | null => {
    if (xs.length === 0) return null;
    const ops = xs.map((x) => x.opsPerSec);
    const load = xs.flatMap((x) => (x.loadCores === undefined ? [] : [x.loadCores]));
    return {
      opsPerSec: median(ops),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      cpuPerMillion: median(xs.map((x) => x.cpuPerMillion)),
      spread: Math.max(...ops) - Math.min(...ops),
      ...(load.length > 0 ? { loadCores: median(load) } : {}),
    };
  };
  const rows: NetRow[] = [];
  for (const size of sizes) {
    for (const pipeline of pipelines) {
      for (const test of tests) {
        const pick = (srv: string) => samples.filter((s) => s.server === srv && s.size === size && s.pipeline === pipeline && s.test === test);
        const a = agg(pick('shardcache'))!;
        const b = agg(pick('redis'));
        const fl = agg(pick('floor'));
        rows.push({ test, pipeline, size, ours: a, redis: b, ...(fl ? { floor: fl } : {}), ratio: b ? a.opsPerSec / b.opsPerSec : null, cpuRatio: b ? a.cpuPerMillion / b.cpuPerMillion : null });
      }
    }
  }
  return rows;
}

export function netTable(rows: NetRow[]): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  const withFloor = rows.some((r) => r.floor);
  const withLoad = rows.some((r) => r.ours.loadCores !== undefined);
  const cores = (x: NetStats | null | undefined) => (x?.loadCores === undefined ? '-' : x.loadCores.toFixed(2));
  const lines = [
    `| test | P | size | shardcache ops/s (±spread) | redis ops/s (±spread) | ratio | p50 ms ours/redis | p99 ms ours/redis | CPU s per 1M ops ours/redis | CPU ratio |${withFloor ? ' floor ops/s | floor/redis | floor CPU s per 1M ops |' : ''}${withLoad ? ` load gen. cores ours/redis${withFloor ? '/floor' : ''} |` : ''}`,
    `|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|${withFloor ? '--:|--:|--:|' : ''}${withLoad ? '--:|' : ''}`,
  ];
  for (const r of rows) {
    const rd = r.redis;
    const fl = r.floor;
    const floorCells = !withFloor ? '' : fl ? ` ${f(fl.opsPerSec)} | ${rd ? (fl.opsPerSec / rd.opsPerSec).toFixed(2) : 'n/a'} | ${fl.cpuPerMillion.toFixed(2)} |` : ' - | - | - |';
    lines.push(
      `| ${r.test.toUpperCase()} | ${r.pipeline} | ${r.size} B | ${f(r.ours.opsPerSec)} (±${f(r.ours.spread / 2)}) | ${rd ? `${f(rd.opsPerSec)} (±${f(rd.spread / 2)})` : 'n/a'} | ${r.ratio?.toFixed(2) ?? 'n/a'} | ${r.ours.p50.toFixed(3)} / ${rd?.p50.toFixed(3) ?? '-'} | ${r.ours.p99.toFixed(3)} / ${rd?.p99.toFixed(3) ?? '-'} | ${r.ours.cpuPerMillion.toFixed(2)} / ${rd?.cpuPerMillion.toFixed(2) ?? '-'} | ${r.cpuRatio?.toFixed(2) ?? 'n/a'} |${floorCells}${withLoad ? ` ${cores(r.ours)} / ${cores(rd)}${withFloor ? ` / ${cores(fl)}` : ''} |` : ''}`,
    );
  }
  return lines.join('\n');
}
