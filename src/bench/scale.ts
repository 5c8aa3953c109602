/**
 * `bench scale`: shardcache's throughput as its --threads goes from 1 to the core count, at one
 * fixed load (same tool, clients, pipeline, value size, key space for every point), and one
 * redis-server measured under the same load as the single-process baseline. Runs go round the
 * thread counts in turn (run 1 of every point, then run 2 ...) so drift is spread over all of
 * them; each point reports the median and the spread.
 */
import { availableParallelism } from 'node:os';
import { calibrateRequests, hasBinary, loadKeys, median, startRedis, startShardcache } from './net.ts';
import { benchmarkRun, measureLoad } from './loadgen.ts';
import type { LoadSample, LoadTool } from './loadgen.ts';
import { cpuSeconds } from './procstat.ts';

export interface ScaleOptions {
  /** Server thread counts (default: scaleThreads()). */
  threadsList?: number[];
  tool: LoadTool;
  test: string;
  clients: number;
  pipeline: number;
  size: number;
  keys: number;
  ratio: [number, number];
  /** Our generator's threads. */
  loadgenThreads: number;
  /** redis-benchmark processes side by side (default 1; net.ts benchmark()). */
  benchProcs?: number;
  /** More redis-server options, e.g. ['--io-threads', '4']. */
  redisArgs?: string[];
  /** Servers and redis-benchmark on these taskset CPU lists (bench --pin). */
  pin?: { server: string; load: string } | null;
  seconds: number;
  runs: number;
  maxmemory: string;
  /** Measure redis-server as the baseline (default: when installed). */
  redis?: boolean;
  progress?: (line: string) => void;
}

export interface ScaleSample extends LoadSample {
  server: 'shardcache' | 'redis';
  threads: number;
  run: number;
  /** Server CPU seconds per million operations (= µs per op). */
  cpuPerMillion: number;
}

export interface ScalePoint {
  server: 'shardcache' | 'redis';
  threads: number;
  opsPerSec: number;
  /** max - min ops/s over the runs. */
  spread: number;
  p50: number;
  p99: number;
  cpuPerMillion: number;
  /** opsPerSec / the 1-thread point's. */
  speedup: number;
}

export interface ScaleResult {
  tool: LoadTool;
  fixed: { test: string; clients: number; pipeline: number; size: number; keys: number; ratio: [number, number]; seconds: number; runs: number; loadgenThreads: number; benchProcs?: number; pinned?: { server: string; load: string } };
  samples: ScaleSample[];
  points: ScalePoint[];
  redis: ScalePoint | null;
}

/** 1, 2, ... cores; above 8 cores: powers of two and the core count. */
export function scaleThreads(cores = availableParallelism()): number[] {
  if (cores <= 8) return Array.from({ length: cores }, (_, i) => i + 1);
  const out: number[] = [];
  for (let t = 1; t < cores; t *= 2) out.push(t);
  out.push(cores);
  return out;
}

export { median };

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  const say = o.progress ?? (() => undefined);
  const list = o.threadsList ?? scaleThreads();
  const withRedis = o.redis ?? hasBinary('redis-server');
  const samples: ScaleSample[] = [];
  const pin = o.pin ?? undefined;
  const spec = { test: o.test, clients: o.clients, pipeline: o.pipeline, size: o.size, keys: o.keys, ratio: o.ratio, threads: o.loadgenThreads, benchProcs: o.benchProcs, cpus: pin?.load, seconds: o.seconds };
  // redis-benchmark takes a request count: each target's runs are sized from a calibration run
  // against it, so a run lasts about `seconds` whatever the thread count.
  const requests = new Map<string, number>();
  const targets: { server: 'shardcache' | 'redis'; threads: number }[] = [...list.map((t) => ({ server: 'shardcache' as const, threads: t })), ...(withRedis ? [{ server: 'redis' as const, threads: 1 }] : [])];
  for (let run = 0; run < o.runs; run++) {
    for (const tg of targets) {
      say(`scale ${tg.server} threads ${tg.threads} run ${run + 1}/${o.runs}`);
      const srv = tg.server === 'redis' ? await startRedis(o.maxmemory, o.redisArgs ?? [], pin?.server) : await startShardcache(tg.threads, o.maxmemory, [], undefined, pin?.server);
      try {
        await loadKeys(srv.port, o.keys, o.size);
        const key = `${tg.server}/${tg.threads}`;
        if (o.tool === 'redis-benchmark' && !requests.has(key)) requests.set(key, await calibrateRequests(srv.port, benchmarkRun({ ...spec, port: srv.port }), o.seconds));
        const c0 = cpuSeconds(srv.pid);
        const m = await measureLoad(o.tool, { ...spec, port: srv.port, requests: requests.get(key) });
        const c1 = cpuSeconds(srv.pid);
        samples.push({ ...m, server: tg.server, threads: tg.threads, run, cpuPerMillion: ((c1 - c0) / m.requests) * 1e6 });
      } finally {
        await srv.stop();
      }
    }
  }
  const point = (server: 'shardcache' | 'redis', threads: number): ScalePoint => {
    const xs = samples.filter((s) => s.server === server && s.threads === threads);
    const ops = xs.map((x) => x.opsPerSec);
    return {
      server,
      threads,
      opsPerSec: median(ops),
      spread: Math.max(...ops) - Math.min(...ops),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      cpuPerMillion: median(xs.map((x) => x.cpuPerMillion)),
      speedup: 1,
    };
  };
  const points = list.map((t) => point('shardcache', t));
  const base = points.find((p) => p.threads === 1) ?? points[0];
  for (const p of points) p.speedup = base ? p.opsPerSec / base.opsPerSec : 1;
  const redis = withRedis ? point('redis', 1) : null;
  if (redis && base) redis.speedup = redis.opsPerSec / base.opsPerSec;
  return {
    tool: o.tool,
    fixed: { test: o.test, clients: o.clients, pipeline: o.pipeline, size: o.size, keys: o.keys, ratio: o.ratio, seconds: o.seconds, runs: o.runs, loadgenThreads: o.loadgenThreads, benchProcs: o.benchProcs ?? 1, ...(pin ? { pinned: pin } : {}) },
    samples,
    points,
    redis,
  };
}

/** A Markdown table and a text bar curve of ops/s by thread count. */
export function scaleTable(r: ScaleResult): string {
  const f = (n: number) => Math.round(n).toLocaleString('en-US');
  const max = Math.max(...r.points.map((p) => p.opsPerSec), r.redis?.opsPerSec ?? 0);
  const bar = (v: number) => '█'.repeat(Math.max(1, Math.round((v / max) * 30)));
  const lines = [
    `| server | threads | ops/s (±spread) | speedup vs 1 thread | p50 ms | p99 ms | CPU µs/op | curve |`,
    `|---|--:|--:|--:|--:|--:|--:|---|`,
  ];
  for (const p of [...r.points, ...(r.redis ? [r.redis] : [])]) {
    lines.push(`| ${p.server} | ${p.threads} | ${f(p.opsPerSec)} (±${f(p.spread / 2)}) | ${p.speedup.toFixed(2)}x | ${p.p50.toFixed(3)} | ${p.p99.toFixed(3)} | ${p.cpuPerMillion.toFixed(2)} | \`${bar(p.opsPerSec)}\` |`);
  }
  return lines.join('\n');
}
