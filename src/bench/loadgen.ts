/**
 * Our own load generator, for hosts without redis-benchmark or when asked with --loadgen ours.
 * It runs its connections on worker threads (piscina; src/bench/loadgen-worker.ts does the work),
 * speaks RESP (other protocols plug in as a Codec there), and reports ops/s, per-request latency
 * percentiles and its own CPU use, so that a reader can see it was not the bottleneck.
 *
 * Also here: a driver for redis-benchmark with the same result shape, so the suites can use
 * either tool through one call (measureLoad).
 */
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { esmTaskPool } from '../esm-task.ts';
import { benchmark } from './net.ts';
import type { BenchmarkRun } from './net.ts';
import { HIST_BUCKETS, quantile } from './loadgen-worker.ts';
import type { WorkerResult, WorkerTask } from './loadgen-worker.ts';

export interface LoadgenOptions {
  host?: string;
  port: number;
  /** Connections in all (default 50). */
  clients?: number;
  /** Requests in flight per connection (default 1). */
  pipeline?: number;
  /** SET value size in bytes (default 100). */
  size?: number;
  /** Key space: keys key:000000000000 ... (default 100000). */
  keys?: number;
  /** get:set, as "10:1" or a pair (default 10:1). */
  ratio?: string | readonly [number, number];
  /** Worker threads (default: a quarter of the cores, at least 1, at most the clients). */
  threads?: number;
  /** Seconds of measured load (default 5). Ignored with `requests`. */
  duration?: number;
  /** Seconds of unmeasured load before it (default 0). */
  warmup?: number;
  /** Send exactly this many requests in all instead of running for a duration. */
  requests?: number;
  /** 'resp' (default) or a protocol registered in CODEC_MODULES. */
  protocol?: string;
  seed?: number;
}

export interface LoadgenCpu {
  /** CPU seconds of this whole process (all threads) over the run, and the run's wall seconds. */
  processSeconds: number;
  wallSeconds: number;
  /** processSeconds / wallSeconds: how many cores the generator kept busy. */
  cores: number;
  /** CPU time / wall time of each worker thread. */
  threadBusy: number[];
}

export interface LoadgenResult {
  tool: 'shardcache-loadgen';
  settings: Required<Omit<LoadgenOptions, 'requests' | 'ratio'>> & { ratio: [number, number]; requests: number | null };
  gets: number;
  sets: number;
  /** Replies received; equals gets + sets unless the run failed. */
  replies: number;
  errors: number;
  /** Replies to requests sent after the warmup, over `seconds`. */
  measured: number;
  seconds: number;
  opsPerSec: number;
  /** Per-request latency, ms. */
  latency: { p50: number; p90: number; p99: number; p999: number; min: number; max: number; mean: number };
  bytesOut: number;
  bytesIn: number;
  cpu: LoadgenCpu;
  /** True when a generator thread was busy over 90% of the time: it may have limited the rate. */
  saturated: boolean;
}

export function parseRatio(r: string | readonly [number, number] | undefined): [number, number] {
  if (r === undefined) return [10, 1];
  const pair = typeof r === 'string' ? r.split(':').map((x) => Number(x.trim())) : [...r];
  const [g, s] = pair;
  if (pair.length !== 2 || !Number.isSafeInteger(g) || !Number.isSafeInteger(s) || g! < 0 || s! < 0 || g! + s! === 0) {
    throw new Error(`--ratio must be get:set with whole numbers, not both 0 (got ${String(r)})`);
  }
  return [g!, s!];
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number (got ${v})`);
  return v;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer (got ${v})`);
  return v;
}

export function defaultLoadgenThreads(): number {
  return Math.max(1, Math.round(availableParallelism() / 4));
}

export async function runLoadgen(o: LoadgenOptions): Promise<LoadgenResult> {
  const clients = positiveInt('clients', o.clients ?? 50);
  const pipeline = positiveInt('pipeline', o.pipeline ?? 1);
  const size = Math.floor(o.size ?? 100);
  if (!(size >= 0)) throw new Error(`--size must be 0 or more (got ${o.size})`);
  const keys = positiveInt('keys', o.keys ?? 100_000);
  if (keys > 1e12) throw new Error('--keys must be at most 10^12 (12-digit key counters)');
  const [get, set] = parseRatio(o.ratio);
  const threads = Math.min(clients, positiveInt('threads', o.threads ?? defaultLoadgenThreads()));
  const fixed = o.requests !== undefined;
  const requests = fixed ? Math.floor(o.requests!) : null;
  if (requests !== null && !(requests >= 0)) throw new Error(`requests must be 0 or more (got ${o.requests})`);
  const duration = fixed ? 0 : positive('duration', o.duration ?? 5);
  const warmup = fixed ? 0 : Math.max(0, o.warmup ?? 0);
  const protocol = o.protocol ?? 'resp';
  const host = o.host ?? '127.0.0.1';
  const seed = o.seed ?? 0x5eed;

  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const tasks: WorkerTask[] = [];
  let first = 0;
  for (let t = 0; t < threads; t++) {
    const n = Math.floor(clients / threads) + (t < clients % threads ? 1 : 0);
    const perClient = requests === null ? undefined : Array.from({ length: n }, (_, i) => Math.floor(requests / clients) + (first + i < requests % clients ? 1 : 0));
    tasks.push({ host, port: o.port, clients: n, firstClient: first, pipeline, size, keys, get, set, durationMs: duration * 1000, warmupMs: warmup * 1000, requestsPerClient: perClient, protocol, seed, control });
    first += n;
  }

  // Loaded here, not at the top: the CLI imports this module, and `shardcache server` need not load piscina.
  const { Piscina } = await import('piscina');
  const pool = new Piscina<WorkerTask, WorkerResult>({
    ...esmTaskPool(new URL('./loadgen-worker.ts', import.meta.url)),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 1000,
  });
  let results: WorkerResult[];
  let cpu0: NodeJS.CpuUsage;
  let wall0: number;
  let failed = false;
  try {
    const running = Promise.all(tasks.map((t) => pool.run(t)));
    running.catch(() => (failed = true));
    // Start together once every thread has connected (a thread that failed counts as ready).
    while (Atomics.load(ctl, 0) < threads && !failed) await new Promise((r) => setTimeout(r, 2));
    cpu0 = process.cpuUsage();
    wall0 = performance.now();
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 1);
    results = await running;
  } finally {
    Atomics.store(ctl, 1, 1);
    Atomics.notify(ctl, 1);
    await pool.destroy();
  }
  const wallSeconds = (performance.now() - wall0) / 1000;
  const c = process.cpuUsage(cpu0);
  const processSeconds = (c.user + c.system) / 1e6;

  const hist = new Array<number>(HIST_BUCKETS).fill(0);
  let gets = 0, sets = 0, replies = 0, errors = 0, measured = 0, sumUs = 0, bytesOut = 0, bytesIn = 0;
  let minUs = Infinity, maxUs = 0, seconds = 0;
  for (const r of results) {
    for (let i = 0; i < HIST_BUCKETS; i++) hist[i]! += r.hist[i]!;
    gets += r.gets;
    sets += r.sets;
    replies += r.replies;
    errors += r.errors;
    measured += r.measured;
    sumUs += r.sumUs;
    bytesOut += r.bytesOut;
    bytesIn += r.bytesIn;
    if (r.measured > 0) minUs = Math.min(minUs, r.minUs);
    maxUs = Math.max(maxUs, r.maxUs);
    seconds = Math.max(seconds, r.measuredMs / 1000);
  }
  const threadBusy = results.map((r) => (r.wallMs > 0 ? (r.cpuUserMs + r.cpuSystemMs) / r.wallMs : 0));
  const ms = (us: number) => us / 1000;
  return {
    tool: 'shardcache-loadgen',
    settings: { host, port: o.port, clients, pipeline, size, keys, ratio: [get, set], threads, duration, warmup, requests, protocol, seed },
    gets,
    sets,
    replies,
    errors,
    measured,
    seconds,
    opsPerSec: seconds > 0 ? measured / seconds : 0,
    latency: {
      p50: ms(quantile(hist, 0.5)),
      p90: ms(quantile(hist, 0.9)),
      p99: ms(quantile(hist, 0.99)),
      p999: ms(quantile(hist, 0.999)),
      min: ms(minUs === Infinity ? 0 : minUs),
      max: ms(maxUs),
      mean: measured > 0 ? ms(sumUs / measured) : 0,
    },
    bytesOut,
    bytesIn,
    cpu: { processSeconds, wallSeconds, cores: wallSeconds > 0 ? processSeconds / wallSeconds : 0, threadBusy },
    saturated: threadBusy.some((b) => b > 0.9),
  };
}

export function loadgenReport(r: LoadgenResult): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  const s = r.settings;
  return [
    `shardcache-loadgen ${s.protocol} ${s.host}:${s.port}: ${s.clients} clients on ${s.threads} threads, pipeline ${s.pipeline}, ${s.size} B values, ${f(s.keys)} keys, get:set ${s.ratio.join(':')}`,
    `requests ${f(r.gets + r.sets)} (${f(r.gets)} GET, ${f(r.sets)} SET), replies ${f(r.replies)}, errors ${r.errors}`,
    `throughput ${f(r.opsPerSec)} ops/s over ${r.seconds.toFixed(2)} s`,
    `latency ms: p50 ${r.latency.p50.toFixed(3)}  p90 ${r.latency.p90.toFixed(3)}  p99 ${r.latency.p99.toFixed(3)}  p99.9 ${r.latency.p999.toFixed(3)}  max ${r.latency.max.toFixed(3)}`,
    `load generator CPU: ${r.cpu.cores.toFixed(2)} cores; threads busy ${r.cpu.threadBusy.map((b) => `${Math.round(b * 100)}%`).join(' ')}${r.saturated ? '  (SATURATED: the generator may be the bottleneck; add --threads)' : ''}`,
  ].join('\n');
}

// ---- one measurement with either tool ----------------------------------------------------------------

export type LoadTool = 'redis-benchmark' | 'ours';

export interface LoadSpec {
  port: number;
  /** 'get', 'set', or 'mix' (our generator only: --ratio). */
  test: string;
  clients: number;
  pipeline: number;
  size: number;
  keys: number;
  ratio: [number, number];
  /** Our generator's threads. */
  threads: number;
  /** redis-benchmark only: processes side by side (net.ts benchmark()), and a taskset CPU list to run them on. */
  benchProcs?: number;
  cpus?: string;
  /** Target seconds. redis-benchmark takes a request count: `requests` (sized by a calibration run). */
  seconds: number;
  requests?: number;
  warmup?: number;
}

export interface LoadSample {
  requests: number;
  opsPerSec: number;
  /** ms */
  p50: number;
  p99: number;
  /** Our generator only: its CPU use. */
  loadgen?: LoadgenCpu & { saturated: boolean };
}

export function ratioForTest(test: string, ratio: [number, number]): [number, number] {
  if (test === 'get') return [1, 0];
  if (test === 'set') return [0, 1];
  if (test === 'mix') return ratio;
  throw new Error(`unknown test ${test} (get, set, mix)`);
}

/** One measurement: redis-benchmark when tool says so (needs spec.requests), else our generator. */
export async function measureLoad(tool: LoadTool, spec: LoadSpec): Promise<LoadSample> {
  if (tool === 'redis-benchmark') {
    if (spec.test === 'mix') throw new Error('redis-benchmark cannot run a get:set mix; use --loadgen ours or --tests get,set');
    const requests = spec.requests ?? 100_000;
    const b = await benchmark(spec.port, { ...benchmarkRun(spec), requests });
    return { requests, opsPerSec: b.rps, p50: b.p50, p99: b.p99 };
  }
  const r = await runLoadgen({
    port: spec.port,
    clients: spec.clients,
    pipeline: spec.pipeline,
    size: spec.size,
    keys: spec.keys,
    ratio: ratioForTest(spec.test, spec.ratio),
    threads: spec.threads,
    duration: spec.seconds,
    warmup: spec.warmup ?? Math.min(1, spec.seconds / 5),
  });
  if (r.errors > 0) throw new Error(`the server answered ${r.errors} requests with an error`);
  return { requests: r.gets + r.sets, opsPerSec: r.opsPerSec, p50: r.latency.p50, p99: r.latency.p99, loadgen: { ...r.cpu, saturated: r.saturated } };
}

/** A LoadSpec as redis-benchmark's settings, without the request count. */
export function benchmarkRun(spec: LoadSpec): Omit<BenchmarkRun, 'requests'> {
  return { test: spec.test, clients: spec.clients, pipeline: spec.pipeline, size: spec.size, keys: spec.keys, cpus: spec.cpus, procs: spec.benchProcs };
}
