/**
 * Each suite in a tiny configuration (short runs, small key counts, the small traces), checking
 * the shape and sanity of the results it writes. The whole file stays well under 30 s on 2 cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { compareFiles, compareResults } from '../../src/bench/compare.ts';
import { niceTicks, renderChart } from '../../src/bench/chart.ts';
import { referenceTable } from '../../src/bench/trace-reference.ts';
import { defaultSuiteOptions, runSuite, suiteOptionsFromCli, summary } from '../../src/bench/suite.ts';
import { benchmark, pinCpus, pinOrThrow, startShardcache } from '../../src/bench/net.ts';
import type { SuiteOptions, SuiteResults } from '../../src/bench/suite.ts';
import { RawConn } from '../server/harness.ts';

const OUT = mkdtempSync(join(tmpdir(), 'shardcache-bench-'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

const has = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const HAVE_REDIS = has('redis-server');
const HAVE_RB = has('redis-benchmark');
const TRACES = fileURLToPath(new URL('../../../shared/traces', import.meta.url));
const HAVE_TRACES = existsSync(join(TRACES, 'README.md'));
const SMALL_TRACES = ['lirs/gli', 'lirs/ps', 'lirs/multi2'];

/** The tiniest configuration of everything; tests override what they exercise. */
function tiny(suites: SuiteOptions['suites'], over: Partial<SuiteOptions> = {}): SuiteOptions {
  const d = defaultSuiteOptions(() => undefined);
  return {
    ...d,
    suites,
    out: OUT,
    loadgen: 'ours',
    net: { ...d.net, clients: 4, pipelines: [1, 4], sizes: [100], keys: 500, threads: 1, seconds: 0.3, runs: 1, maxmemory: '64mb' },
    scale: { threadsList: [1, 2], pipeline: 4, size: 100 },
    memory: { keys1k: 1000, keys16: 2000 },
    micro: { quick: true, time: 25 },
    hitratio: { traces: TRACES, names: SMALL_TRACES, policies: ['lru', 'fifo', 's3fifo'], shards: [1] },
    noPng: true,
    ...over,
  };
}

function readBack(dir: string): SuiteResults {
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as SuiteResults;
}

function checkCommon(r: SuiteResults): void {
  expect(r.schema).toBe('shardcache-bench/1');
  expect(r.machine.cores).toBeGreaterThan(0);
  expect(r.machine.memoryBytes).toBeGreaterThan(0);
  expect(typeof r.machine.cpuModel).toBe('string');
  expect(r.node).toBe(process.version);
  expect(Date.parse(r.finishedAt)).toBeGreaterThanOrEqual(Date.parse(r.startedAt));
  expect(r.errors).toEqual({});
}

function checkNet(r: SuiteResults, redis: boolean): void {
  const n = r.suites.net!;
  expect(n.redis).toBe(redis);
  expect(n.rows.length).toBe(r.settings.net.pipelines.length * r.settings.net.sizes.length * n.tests.length);
  expect(n.samples.length).toBe(n.rows.length * r.settings.net.runs * ((redis ? 2 : 1) + (r.settings.net.floor ? 1 : 0)));
  for (const s of n.samples) {
    expect(s.opsPerSec).toBeGreaterThan(0);
    expect(s.requests).toBeGreaterThan(0);
    expect(s.p50).toBeLessThanOrEqual(s.p99);
    expect(s.cpuPerMillion).toBeGreaterThan(0);
  }
  for (const row of n.rows) {
    expect(row.ours.opsPerSec).toBeGreaterThan(0);
    expect(row.ours.p50).toBeLessThanOrEqual(row.ours.p99);
    if (redis) {
      expect(row.redis!.opsPerSec).toBeGreaterThan(0);
      expect(row.redis!.p50).toBeLessThanOrEqual(row.redis!.p99);
      expect(row.ratio).toBeCloseTo(row.ours.opsPerSec / row.redis!.opsPerSec, 9);
    } else {
      expect(row.redis).toBeNull();
      expect(row.ratio).toBeNull();
    }
  }
}

describe('bench suites, tiny configurations', () => {
  let netDir = '';

  it('net with our load generator: JSON, Markdown, chart, summary', async () => {
    const { dir, results } = await runSuite(tiny(['net']));
    netDir = dir;
    const r = readBack(dir);
    expect(r).toEqual(JSON.parse(JSON.stringify(results)));
    checkCommon(r);
    expect(r.settings.loadgen).toBe('ours');
    expect(r.suites.net!.tool).toBe('ours');
    expect(r.suites.net!.tests).toEqual(['mix']);
    checkNet(r, HAVE_REDIS);
    for (const s of r.suites.net!.samples) {
      expect(s.loadgen!.cores).toBeGreaterThan(0);
      expect(s.loadgen!.threadBusy).toHaveLength(1);
    }
    const md = readFileSync(join(dir, 'results.md'), 'utf8');
    expect(md).toContain('## net');
    expect(md).toContain('| MIX | 4 | 100 B |');
    expect(md).toContain('Load generator (ours)');
    const svg = readFileSync(join(dir, 'chart.svg'), 'utf8');
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).toContain('MIX: ops/s by value size and pipeline depth');
    expect((svg.match(/<rect /g) ?? []).length).toBeGreaterThanOrEqual(2 * (HAVE_REDIS ? 2 : 1));
    const text = summary(r, dir);
    expect(text).toMatch(/net \(ours\)/);
    expect(text.split('\n').length).toBeLessThan(25);
  });

  it.skipIf(!HAVE_RB || !HAVE_REDIS)('net with redis-benchmark', async () => {
    // --pin where this machine allows it: every process above runs under taskset.
    const pin = pinCpus();
    const { dir } = await runSuite(tiny(['net'], { loadgen: 'redis-benchmark', net: { ...tiny([]).net, pipelines: [1], tests: ['get', 'set'], floor: true, pin: pin !== null } }));
    const r = readBack(dir);
    checkCommon(r);
    expect(r.suites.net!.tool).toBe('redis-benchmark');
    checkNet(r, true);
    expect(r.suites.net!.rows.map((x) => x.test)).toEqual(['get', 'set']);
    // --floor: Node's socket path alone ran the same load, and the table shows it.
    for (const row of r.suites.net!.rows) {
      expect(row.floor!.opsPerSec).toBeGreaterThan(0);
      expect(row.floor!.cpuPerMillion).toBeGreaterThan(0);
    }
    expect(r.suites.net!.samples.filter((x) => x.server === 'floor')).toHaveLength(2);
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('| floor ops/s | floor/redis |');
    // The load generator's own CPU, from this process's reaped children: redis-benchmark is one thread.
    for (const x of r.suites.net!.samples) expect(x.loadCores).toBeGreaterThan(0);
    for (const x of r.suites.net!.samples) expect(x.loadCores).toBeLessThan(1.5);
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('| load gen. cores ours/redis/floor |');
    if (pin !== null) expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain(`Pinned: servers on CPU ${pin.server}, redis-benchmark on CPU ${pin.load}.`);
  });

  it('without redis-server: says so and measures shardcache alone', async () => {
    // A PATH holding only sh: neither redis-server nor redis-benchmark can be found.
    const bin = join(OUT, 'bin-sh-only');
    mkdirSync(bin);
    symlinkSync(spawnSync('sh', ['-c', 'command -v sh'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'sh'));
    const path = process.env.PATH;
    const printed: string[] = [];
    process.env.PATH = bin;
    try {
      const { dir } = await runSuite(tiny(['net'], { loadgen: 'auto', print: (s) => printed.push(s), net: { ...tiny([]).net, pipelines: [2] } }));
      const r = readBack(dir);
      checkCommon(r);
      expect(r.redis).toEqual({ server: null, benchmark: false });
      expect(r.suites.net!.tool).toBe('ours');
      checkNet(r, false);
      expect(printed.join('\n')).toMatch(/redis-server is not installed: measuring shardcache alone/);
      expect(printed.join('\n')).toMatch(/redis-benchmark is not installed/);
      expect(summary(r)).toMatch(/redis not installed/);
    } finally {
      process.env.PATH = path;
    }
  });

  it('scale: one point per thread count, ordered percentiles, speedups against 1 thread', async () => {
    const { dir } = await runSuite(tiny(['scale']));
    const r = readBack(dir);
    checkCommon(r);
    const s = r.suites.scale!;
    expect(s.points.map((p) => p.threads)).toEqual([1, 2]);
    expect(s.points[0]!.speedup).toBe(1);
    for (const p of [...s.points, ...(s.redis ? [s.redis] : [])]) {
      expect(p.opsPerSec).toBeGreaterThan(0);
      expect(p.p50).toBeLessThanOrEqual(p.p99);
      expect(p.cpuPerMillion).toBeGreaterThan(0);
    }
    expect(s.redis !== null).toBe(HAVE_REDIS);
    expect(s.samples.length).toBe(2 + (HAVE_REDIS ? 1 : 0));
    expect(readFileSync(join(dir, 'chart.svg'), 'utf8')).toContain('Scaling: ops/s by shardcache --threads');
    expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('## scale');
  });

  it.skipIf(!HAVE_RB)('scale with redis-benchmark: processes side by side, pinned where this machine allows', async () => {
    const pin = pinCpus();
    const redisArgs = ['--hz', '20', '--databases', '4'];
    const { dir } = await runSuite(tiny(['scale'], { loadgen: 'redis-benchmark', net: { ...tiny([]).net, benchProcs: 2, pin: pin !== null, redisArgs }, scale: { threadsList: [1], pipeline: 4, size: 100, test: 'get' } }));
    const r = readBack(dir);
    checkCommon(r);
    const s = r.suites.scale!;
    expect(s.tool).toBe('redis-benchmark');
    expect(s.fixed.benchProcs).toBe(2);
    for (const x of s.samples) expect(x.opsPerSec).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'results.md'), 'utf8');
    expect(md).toContain('values, from redis-benchmark (2 processes side by side).');
    // --redis-args reached a redis-server that started (it refuses options it does not know).
    if (HAVE_REDIS) {
      expect(md).toContain('redis-server ran with `--hz 20 --databases 4`.');
      expect(s.redis!.opsPerSec).toBeGreaterThan(0);
    }
    if (pin !== null) {
      expect(s.fixed.pinned).toEqual(pin);
      expect(md).toContain(`Pinned: servers on CPU ${pin.server}, redis-benchmark on CPU ${pin.load}.`);
    }
  });

  it.skipIf(!HAVE_RB)('redis-benchmark processes side by side share the clients and requests exactly', async () => {
    const srv = await startShardcache(1, '64mb');
    try {
      const r = await benchmark(srv.port, { test: 'set', clients: 3, requests: 1001, pipeline: 1, size: 10, keys: 10, procs: 2 });
      expect(r.rps).toBeGreaterThan(0);
      expect(r.p50).toBeLessThanOrEqual(r.p99);
      const conn = await RawConn.connect(srv.port);
      const info = await conn.request('INFO commandstats\r\nINFO stats\r\n', 2);
      conn.close();
      expect(info).toMatch(/cmdstat_set:calls=1001,/);
      // Two processes, each opening one connection first to read the server's settings (two
      // CONFIG GETs), then three benchmark connections between them, then the one that asks.
      expect(info).toMatch(/cmdstat_config\|get:calls=4,/);
      expect(info).toMatch(/total_connections_received:6\r\n/);
    } finally {
      await srv.stop();
    }
  });

  it('memory: bytes per key above the payload for both servers', async () => {
    const { dir } = await runSuite(tiny(['memory']));
    const r = readBack(dir);
    checkCommon(r);
    const m = r.suites.memory!;
    expect(m.store.map((x) => [x.scenario.n, x.slabGrowthFactor])).toEqual([[1000, 1.25], [1000, 1.125], [2000, 1.25], [2000, 1.125]]);
    for (const x of m.store) expect(x.bytesPerKey).toBeGreaterThan(x.scenario.keyBytes + x.scenario.valueBytes);
    expect(m.redis.length).toBe(HAVE_REDIS ? 2 : 0);
    for (const x of m.redis) expect(x.bytesPerKey).toBeGreaterThan(x.scenario.keyBytes + x.scenario.valueBytes);
    expect(existsSync(join(dir, 'chart.svg'))).toBe(false);
    expect(summary(r)).toMatch(/memory \(bytes\/key\)/);
  });

  it.skipIf(!HAVE_TRACES)('hitratio: miss ratios in [0,1], exact LRU equal to the README reference', async () => {
    const { dir } = await runSuite(tiny(['hitratio']));
    const r = readBack(dir);
    checkCommon(r);
    const h = r.suites.hitratio!;
    if ('skipped' in h) throw new Error(h.skipped);
    const refs = new Map(referenceTable().map((x) => [x.trace, x]));
    expect(new Set(h.rows.map((x) => x.trace))).toEqual(new Set(SMALL_TRACES));
    expect(h.rows.length).toBe(SMALL_TRACES.length * 2 * 3);
    for (const x of h.rows) {
      expect(x.missRatio).toBeGreaterThanOrEqual(0);
      expect(x.missRatio).toBeLessThanOrEqual(1);
      expect(x.lruReference).toBeGreaterThanOrEqual(0);
      expect(x.lruReference).toBeLessThanOrEqual(1);
      const ref = refs.get(x.trace)!;
      expect(x.requests).toBe(ref.requests);
      expect(x.capacity).toBe(x.size === '1%' ? ref.c1 : ref.c10);
      expect(x.deltaVsLru).toBeCloseTo(x.missRatio - x.lruReference, 12);
      if (x.policy === 'lru') {
        expect(x.misses).toBe(x.size === '1%' ? ref.lru1 : ref.lru10);
        expect(x.exact).toBe(true);
        expect(x.deltaVsLru).toBe(0);
      }
      if (x.policy === 'fifo') expect(x.misses).toBe(x.size === '1%' ? ref.fifo1 : ref.fifo10);
    }
    expect(summary(r)).toMatch(/lru exact 6\/6/);
  });

  it('hitratio without traces is skipped, not failed', async () => {
    const { results } = await runSuite(tiny(['hitratio'], { hitratio: { traces: join(OUT, 'none'), policies: ['lru'], shards: [1] } }));
    expect(results.suites.hitratio).toEqual({ skipped: expect.stringMatching(/no traces directory/) });
    expect(results.errors).toEqual({});
  });

  it('micro: every implementation, op and size has ops/s', async () => {
    const { dir } = await runSuite(tiny(['micro']));
    const r = readBack(dir);
    checkCommon(r);
    const m = r.suites.micro!;
    expect(m.rows.length).toBe(3 * 2 * 2);
    for (const x of m.rows) {
      expect(x.opsPerSec).toBeGreaterThan(0);
      expect(x.ratioToMap).toBeGreaterThan(0);
    }
    expect(m.threads!.speedup).toBeGreaterThan(0);
    expect(m.log).toContain('shardcache micro');
  });

  it('compare: no change against itself; the change per setting against another run', async () => {
    const same = compareFiles(netDir, join(netDir, 'results.json'));
    expect(same.rows.length).toBeGreaterThan(0);
    for (const row of same.rows) expect(row.change === 0 || Number.isNaN(row.change)).toBe(true);
    const a = readBack(netDir);
    const b = structuredClone(a);
    b.suites.net!.rows[0]!.ours.opsPerSec = a.suites.net!.rows[0]!.ours.opsPerSec * 1.5;
    const c = compareResults(a, b);
    const row = c.rows.find((x) => x.metric === 'shardcache ops/s')!;
    expect(row.change).toBeCloseTo(0.5, 9);
    expect(row.higherIsBetter).toBe(true);
    expect(same.text).toMatch(/\| net \| ours MIX P=1 100 B \| shardcache ops\/s \|/);
    expect(() => compareFiles(join(OUT, 'missing.json'), netDir)).toThrow(/no results/);
  });
});

describe('suite options and chart helpers', () => {
  it('reads suites and options from the command line', () => {
    const all = suiteOptionsFromCli([], {}, () => undefined);
    expect(all.suites).toEqual(['micro', 'net', 'scale', 'memory', 'hitratio']);
    expect(suiteOptionsFromCli(['all'], {}, () => undefined).suites).toEqual(all.suites);
    const o = suiteOptionsFromCli(['scale', 'net'], { pipeline: '1,8,32', size: '64', ratio: '4:1', loadgen: 'ours', threads: '3', duration: '2', quick: true }, () => undefined);
    expect(o.suites).toEqual(['net', 'scale']);
    expect(o.net).toMatchObject({ pipelines: [1, 8, 32], sizes: [64], ratio: [4, 1], threads: 3, seconds: 2, runs: 1, keys: 10_000, pin: false });
    expect(suiteOptionsFromCli(['net'], { pin: true }, () => undefined).net.pin).toBe(true);
    // --threads is redis-benchmark's process count only when given; --load-cpus defaults to one.
    expect(suiteOptionsFromCli(['scale'], {}, () => undefined).net).toMatchObject({ benchProcs: 1, loadCpus: 1 });
    expect(suiteOptionsFromCli(['scale'], { threads: '8', pin: true, loadCpus: '8' }, () => undefined).net).toMatchObject({ benchProcs: 8, threads: 8, loadCpus: 8, redisArgs: [] });
    expect(suiteOptionsFromCli(['net'], { redisArgs: ' --io-threads  4 ' }, () => undefined).net.redisArgs).toEqual(['--io-threads', '4']);
    expect(() => suiteOptionsFromCli(['nope'], {}, () => undefined)).toThrow(/unknown suite/);
    expect(() => suiteOptionsFromCli([], { loadgen: 'x' }, () => undefined)).toThrow(/--loadgen/);
    expect(() => suiteOptionsFromCli([], { ratio: '0:0' }, () => undefined)).toThrow(/ratio/);
  });

  it('--floor and --pin with our load generator are refused before anything starts', async () => {
    for (const [suite, flag] of [['net', 'floor'], ['net', 'pin'], ['scale', 'pin']]) {
      const o = suiteOptionsFromCli([suite!], { loadgen: 'ours', [flag!]: true, quick: true }, () => undefined);
      await expect(runSuite(o)).rejects.toThrow('--floor and --pin need redis-benchmark as the load generator (--loadgen ours was given)');
    }
  });

  it('--pin gives redis-benchmark the last --load-cpus CPUs and the servers the rest', () => {
    const n = availableParallelism();
    const pin = pinCpus(1);
    if (pin === null) return expect(n < 2 || !has('taskset')).toBe(true);
    expect(pin).toEqual({ server: n === 2 ? '0' : `0-${n - 2}`, load: String(n - 1) });
    expect(pinCpus(n)).toBeNull();
    expect(() => pinOrThrow(n)).toThrow(`--pin needs more CPUs than --load-cpus (${n}), and taskset (util-linux)`);
    if (n >= 4) expect(pinCpus(2)).toEqual({ server: `0-${n - 3}`, load: `${n - 2}-${n - 1}` });
  });

  it('nice ticks cover the maximum; no chart without net or scale', () => {
    for (const m of [1, 7, 99, 1234, 987_654, 3.2e6]) {
      const t = niceTicks(m);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]!).toBeGreaterThanOrEqual(m);
      expect(t.length).toBeLessThanOrEqual(8);
    }
    expect(renderChart({ suites: {} } as SuiteResults)).toBeNull();
  });
});
