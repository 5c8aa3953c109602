/**
 * `shardcache bench [suite…]`: the benchmark suite. Suites: micro (the store against lru-cache and
 * Map), net (shardcache against redis-server over TCP), scale (throughput by server --threads),
 * memory (bytes per key against redis-server), hitratio (miss ratios on the shared traces against
 * exact LRU), all (every one). Each run writes bench/results/<timestamp>/ with results.json
 * (machine, Node version, settings, raw samples), results.md (the tables), chart.svg (and
 * chart.png where rsvg-convert is installed), then prints a one-screen summary.
 *
 * Load: redis-benchmark when installed (--loadgen auto), else our own generator
 * (src/bench/loadgen.ts); --loadgen ours forces ours. Without redis-server, every suite measures
 * shardcache alone and says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import { format } from 'node:util';
import { Option } from 'commander';
import type { Command } from 'commander';
import { hasBinary, inTurn, loadKeys, netRows, netTable, pinOrThrow, runNet, startRedis, startShardcache } from './net.ts';
import type { NetRow, NetSample, Running } from './net.ts';
import { defaultLoadgenThreads, loadgenReport, measureLoad, parseRatio, runLoadgen } from './loadgen.ts';
import type { LoadgenCpu, LoadTool } from './loadgen.ts';
import { median, runScale, scaleTable, scaleThreads } from './scale.ts';
import type { ScaleResult } from './scale.ts';
import { cpuSeconds } from './procstat.ts';
import { parsePolicy, POLICIES, replayTrace } from './hitratio.ts';
import type { Policy } from './hitratio.ts';
import { referenceTable } from './trace-reference.ts';
import { listTraces } from './traces.ts';
import { renderChart, svgToPng } from './chart.ts';
import type { MicroResult } from '../../bench/store/micro.ts';
import type { MemoryResult } from '../../bench/store/memory.ts';

export const SUITES = ['micro', 'net', 'scale', 'memory', 'hitratio'] as const;
export type Suite = (typeof SUITES)[number];

const ROOT = new URL('../..', import.meta.url);
const DEFAULT_TRACES = new URL('../shared/traces', ROOT).pathname;

export interface SuiteOptions {
  suites: Suite[];
  /** Results go to <out>/<timestamp>/ (default bench/results under the working directory). */
  out: string;
  /** 'auto': redis-benchmark when installed, else ours. */
  loadgen: 'auto' | LoadTool;
  net: { clients: number; pipelines: number[]; sizes: number[]; keys: number; ratio: [number, number]; tests?: string[]; threads: number; benchProcs?: number; seconds: number; runs: number; serverThreads?: number; maxmemory: string; floor?: boolean; pin?: boolean; loadCpus?: number; redisArgs?: string[] };
  scale: { threadsList: number[]; pipeline: number; size: number; test?: string };
  memory: { keys1k: number; keys16: number };
  micro: { quick: boolean; time?: number };
  hitratio: { traces: string; names?: string[]; maxRequests?: number; policies: Policy[]; shards: number[] };
  /** Progress lines (set only on a TTY outside CI). */
  progress?: (line: string) => void;
  /** Where tables and the summary go. */
  print: (text: string) => void;
  /** Skip the PNG conversion. */
  noPng?: boolean;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  arch: string;
  loadavg1: number;
}

export interface NetSuiteResult {
  tool: LoadTool;
  tests: string[];
  redis: boolean;
  samples: (NetSample & { loadgen?: LoadgenCpu & { saturated: boolean } })[];
  rows: NetRow[];
  /** Where `--pin` ran the servers and the load generator (taskset CPU lists). */
  pinned?: { server: string; load: string };
}

export interface HitRatioSuiteRow {
  trace: string;
  size: '1%' | '10%';
  capacity: number;
  shards: number;
  policy: Policy;
  requests: number;
  misses: number;
  missRatio: number;
  /** Exact LRU from the traces' README, as a ratio, and this row's difference from it. */
  lruReference: number;
  deltaVsLru: number;
  /** lru on one shard: whether the miss count equals the reference exactly. */
  exact: boolean | null;
}

export interface SuiteResults {
  schema: 'shardcache-bench/1';
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  node: string;
  shardcache: string;
  redis: { server: string | null; benchmark: boolean };
  settings: Omit<SuiteOptions, 'progress' | 'print'>;
  suites: {
    micro?: MicroResult & { log: string };
    net?: NetSuiteResult;
    scale?: ScaleResult;
    memory?: MemoryResult & { log: string };
    hitratio?: { traces: string; rows: HitRatioSuiteRow[] } | { skipped: string };
  };
  errors: Partial<Record<Suite, string>>;
  notes: string[];
}

// ---- defaults and the command line -------------------------------------------------------------

export function defaultSuiteOptions(print: (s: string) => void = (s) => process.stdout.write(s + '\n')): SuiteOptions {
  return {
    suites: [...SUITES],
    out: 'bench/results',
    loadgen: 'auto',
    net: { clients: 50, pipelines: [1, 16], sizes: [100, 1024], keys: 100_000, ratio: [10, 1], threads: defaultLoadgenThreads(), seconds: 3, runs: 3, maxmemory: '1gb' },
    scale: { threadsList: scaleThreads(), pipeline: 16, size: 100 },
    memory: { keys1k: 1_000_000, keys16: 10_000_000 },
    micro: { quick: false },
    hitratio: { traces: DEFAULT_TRACES, policies: [...POLICIES], shards: [1] },
    print,
  };
}

function progressOnTty(): ((line: string) => void) | undefined {
  if (!process.stderr.isTTY || process.env.CI) return undefined;
  return (l) => process.stderr.write(`\r\x1b[K${l.slice(0, (process.stderr.columns || 80) - 1)}`);
}

const list = (v: unknown) => String(v).split(',').map((x) => x.trim()).filter(Boolean);
function num(name: string, v: unknown, min = 1): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min} (got ${String(v)})`);
  return n;
}
const ints = (name: string, v: unknown) => list(v).map((x) => Math.floor(num(name, x)));

/** Suite options from the command line's (commander's) option object. */
export function suiteOptionsFromCli(names: string[], o: Record<string, unknown>, print: (s: string) => void): SuiteOptions {
  const d = defaultSuiteOptions(print);
  const want = names.length === 0 || names.includes('all') ? [...SUITES] : names;
  for (const n of want) if (!(SUITES as readonly string[]).includes(n)) throw new Error(`unknown suite ${n} (${[...SUITES, 'all', 'compare', 'loadgen'].join(', ')})`);
  const quick = o.quick === true;
  // --threads: our generator's threads, or how many redis-benchmark processes run side by side.
  const threads = o.threads !== undefined ? num('threads', o.threads) : undefined;
  if (quick) {
    Object.assign(d.net, { keys: 10_000, seconds: 1, runs: 1 });
    d.memory = { keys1k: 20_000, keys16: 200_000 };
    d.micro = { quick: true, time: 100 };
    d.hitratio.maxRequests = 200_000;
  }
  const lg = String(o.loadgen ?? 'auto');
  if (lg !== 'auto' && lg !== 'ours' && lg !== 'redis-benchmark') throw new Error(`--loadgen must be auto, ours or redis-benchmark (got ${lg})`);
  const s: SuiteOptions = {
    ...d,
    suites: SUITES.filter((x) => want.includes(x)),
    out: o.out !== undefined ? String(o.out) : d.out,
    loadgen: lg,
    net: {
      clients: o.clients !== undefined ? num('clients', o.clients) : d.net.clients,
      pipelines: o.pipeline !== undefined ? ints('pipeline', o.pipeline) : d.net.pipelines,
      sizes: o.size !== undefined ? list(o.size).map((x) => Math.floor(num('size', x, 0))) : d.net.sizes,
      keys: o.keys !== undefined ? num('keys', o.keys) : d.net.keys,
      ratio: parseRatio(o.ratio as string | undefined),
      tests: o.tests !== undefined ? list(o.tests).map((t) => t.toLowerCase()) : undefined,
      threads: threads ?? d.net.threads,
      benchProcs: threads ?? 1,
      seconds: (o.duration ?? o.seconds) !== undefined ? num('duration', o.duration ?? o.seconds, 0.05) : d.net.seconds,
      runs: o.runs !== undefined ? num('runs', o.runs) : d.net.runs,
      serverThreads: o.serverThreads !== undefined ? num('server-threads', o.serverThreads) : undefined,
      maxmemory: o.maxmemory !== undefined ? String(o.maxmemory) : d.net.maxmemory,
      floor: o.floor === true,
      pin: o.pin === true,
      loadCpus: o.loadCpus !== undefined ? num('load-cpus', o.loadCpus) : 1,
      redisArgs: o.redisArgs !== undefined ? String(o.redisArgs).trim().split(/\s+/).filter((x) => x !== '') : [],
    },
    scale: {
      threadsList: o.scaleThreads !== undefined ? ints('scale-threads', o.scaleThreads) : d.scale.threadsList,
      pipeline: o.scalePipeline !== undefined ? num('scale-pipeline', o.scalePipeline) : d.scale.pipeline,
      size: o.scaleSize !== undefined ? num('scale-size', o.scaleSize, 0) : d.scale.size,
      test: o.scaleTest !== undefined ? String(o.scaleTest) : undefined,
    },
    memory: {
      keys1k: o.memKeys1k !== undefined ? num('mem-keys-1k', o.memKeys1k) : d.memory.keys1k,
      keys16: o.memKeys16 !== undefined ? num('mem-keys-16', o.memKeys16) : d.memory.keys16,
    },
    micro: { quick: d.micro.quick, time: o.microTime !== undefined ? num('micro-time', o.microTime) : d.micro.time },
    hitratio: {
      traces: o.traces !== undefined ? String(o.traces) : d.hitratio.traces,
      names: o.traceNames !== undefined ? list(o.traceNames) : undefined,
      maxRequests: o.maxRequests !== undefined ? num('max-requests', o.maxRequests) : d.hitratio.maxRequests,
      policies: o.policy !== undefined ? list(o.policy).map(parsePolicy) : d.hitratio.policies,
      shards: o.shards !== undefined ? ints('shards', o.shards) : d.hitratio.shards,
    },
    progress: progressOnTty(),
    noPng: o.png === false,
  };
  return s;
}

// ---- machine -----------------------------------------------------------------------------------------

export function machineInfo(): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${type()} ${release()}`,
    arch: arch(),
    loadavg1: loadavg()[0]!,
  };
}

export function redisVersion(): string | null {
  if (!hasBinary('redis-server')) return null;
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return /v=(\S+)/.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

function machineLine(m: Machine): string {
  return `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${m.os} ${m.arch}`;
}

// ---- suites --------------------------------------------------------------------------------------------

/** Runs fn with console.log/error captured (the store benchmarks print their own reports). */
async function captured<T>(fn: () => Promise<T>, progress?: (l: string) => void): Promise<{ value: T; log: string }> {
  const { log, error } = console;
  const lines: string[] = [];
  console.log = (...a: unknown[]) => void lines.push(format(...a));
  console.error = (...a: unknown[]) => {
    const l = format(...a);
    lines.push(l);
    progress?.(l.trim());
  };
  try {
    return { value: await fn(), log: lines.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

function netTests(tool: LoadTool, tests: string[] | undefined): string[] {
  const t = tests ?? (tool === 'redis-benchmark' ? ['get', 'set'] : ['mix']);
  for (const x of t) {
    if (!['get', 'set', 'mix'].includes(x)) throw new Error(`--tests: unknown test ${x} (get, set, mix)`);
    if (x === 'mix' && tool === 'redis-benchmark') throw new Error('redis-benchmark cannot run a get:set mix: use --loadgen ours, or --tests get,set');
  }
  return t;
}

/** The net suite with our generator: runNet's procedure (alternating runs, medians), our tool. */
export async function runNetOurs(o: SuiteOptions['net'] & { tests: string[]; progress?: (l: string) => void }): Promise<NetSuiteResult> {
  const say = o.progress ?? (() => undefined);
  const withRedis = hasBinary('redis-server');
  const ours = await startShardcache(o.serverThreads, o.maxmemory);
  let redis: Running | null = null;
  const samples: NetSuiteResult['samples'] = [];
  try {
    redis = withRedis ? await startRedis(o.maxmemory, o.redisArgs ?? []) : null;
    const contenders = ([['shardcache', ours], ['redis', redis]] as const).filter((x): x is readonly ['shardcache' | 'redis', Running] => x[1] !== null);
    for (const size of o.sizes) {
      await loadKeys(ours.port, o.keys, size);
      if (redis) await loadKeys(redis.port, o.keys, size);
      for (const pipeline of o.pipelines) {
        for (const test of o.tests) {
          for (let r = 0; r < o.runs; r++) {
            for (const [name, srv] of inTurn(contenders, r)) {
              say(`net ${test} P=${pipeline} ${size}B run ${r + 1}/${o.runs} ${name}`);
              const c0 = cpuSeconds(srv.pid);
              const m = await measureLoad('ours', { port: srv.port, test, clients: o.clients, pipeline, size, keys: o.keys, ratio: o.ratio, threads: o.threads, seconds: o.seconds });
              const c1 = cpuSeconds(srv.pid);
              samples.push({ server: name, test, pipeline, size, requests: m.requests, opsPerSec: m.opsPerSec, p50: m.p50, p99: m.p99, cpuPerMillion: ((c1 - c0) / m.requests) * 1e6, loadgen: m.loadgen });
            }
          }
        }
      }
    }
  } finally {
    await ours.stop();
    await redis?.stop();
  }
  const rows = netRows(samples, o.sizes, o.pipelines, o.tests);
  return { tool: 'ours', tests: o.tests, redis: withRedis, samples, rows };
}

export async function runHitRatioSuite(o: SuiteOptions['hitratio'], progress?: (l: string) => void): Promise<NonNullable<SuiteResults['suites']['hitratio']>> {
  if (!existsSync(o.traces)) return { skipped: `no traces directory at ${o.traces} (give one with --traces)` };
  const refs = new Map(referenceTable().map((r) => [r.trace, r]));
  const rows: HitRatioSuiteRow[] = [];
  for (const f of listTraces(o.traces)) {
    const ref = refs.get(f.name);
    if (ref === undefined) continue;
    if (o.names && !o.names.includes(f.name)) continue;
    if (o.maxRequests !== undefined && ref.requests > o.maxRequests) continue;
    for (const [size, cap, lru] of [['1%', ref.c1, ref.lru1], ['10%', ref.c10, ref.lru10]] as const) {
      for (const shards of o.shards) {
        for (const policy of o.policies) {
          progress?.(`hitratio ${f.name} ${size} ${policy} shards ${shards}`);
          const r = await replayTrace({ path: f.path, format: f.format, policy, capacity: cap, shards });
          const lruReference = lru / ref.requests;
          rows.push({ trace: f.name, size, capacity: cap, shards, policy, requests: r.requests, misses: r.misses, missRatio: r.missRatio, lruReference, deltaVsLru: r.missRatio - lruReference, exact: policy === 'lru' && shards === 1 ? r.misses === lru : null });
        }
      }
    }
  }
  return { traces: o.traces, rows };
}

// ---- tables ----------------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const signed = (n: number, d = 4) => `${n >= 0 ? '+' : '−'}${Math.abs(n).toFixed(d)}`;

export function hitratioTable(rows: HitRatioSuiteRow[]): string {
  const policies = [...new Set(rows.map((r) => r.policy))];
  const groups = new Map<string, HitRatioSuiteRow[]>();
  for (const r of rows) {
    const k = `${r.trace}|${r.size}|${r.shards}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const lines = [`| trace | size | C | shards | exact LRU | ${policies.map((p) => `${p} (Δ)`).join(' | ')} |`, `|---|---|--:|--:|--:|${policies.map(() => '--:|').join('')}`];
  for (const g of groups.values()) {
    const r0 = g[0]!;
    const cells = policies.map((p) => {
      const r = g.find((x) => x.policy === p);
      return r ? `${r.missRatio.toFixed(4)} (${signed(r.deltaVsLru)})${r.exact ? ' =' : ''}` : '-';
    });
    lines.push(`| ${r0.trace} | ${r0.size} | ${r0.capacity} | ${r0.shards} | ${r0.lruReference.toFixed(4)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n\nMiss ratios; Δ = difference from the exact-LRU reference; "=" marks a miss count identical to it.';
}

export function memoryTable(m: MemoryResult): string {
  const lines = ['| scenario | keys | server | config | bytes/key | overhead/key | RSS bytes/key |', '|---|--:|---|---|--:|--:|--:|'];
  for (const r of m.store) lines.push(`| ${r.scenario.name}: ${r.scenario.keyBytes} B keys, ${r.scenario.valueBytes} B values | ${fmt(r.scenario.n)} | shardcache | slab factor ${r.slabGrowthFactor} | ${r.bytesPerKey.toFixed(1)} | ${r.overheadPerKey.toFixed(1)} | ${r.rssPerKey.toFixed(1)} |`);
  for (const r of m.redis) lines.push(`| ${r.scenario.name}: ${r.scenario.keyBytes} B keys, ${r.scenario.valueBytes} B values | ${fmt(r.scenario.n)} | redis ${r.version} | ${r.allocator} | ${r.bytesPerKey.toFixed(1)} | ${r.overheadPerKey.toFixed(1)} | ${r.rssPerKey.toFixed(1)} |`);
  return lines.join('\n');
}

export function microTable(m: MicroResult): string {
  const lines = ['| op | value | impl | ops/s | ns/op | ±% | vs Map |', '|---|--:|---|--:|--:|--:|--:|'];
  for (const r of m.rows) lines.push(`| ${r.op} | ${r.valueBytes} B | ${r.impl} | ${fmt(r.opsPerSec)} | ${r.nsPerOp.toFixed(0)} | ${r.rme.toFixed(1)} | ${r.ratioToMap.toFixed(2)}x |`);
  if (m.threads) lines.push('', `Two worker threads on one store: ${fmt(m.threads.twoThreads.opsPerSec)} ops/s against ${fmt(m.threads.oneThread.opsPerSec)} with one (${m.threads.speedup.toFixed(2)}x).`);
  return lines.join('\n');
}

function loadgenCpuLine(n: NetSuiteResult): string | null {
  const xs = n.samples.filter((s) => s.loadgen);
  if (xs.length === 0) return null;
  const cores = median(xs.map((s) => s.loadgen!.cores));
  const busy = Math.max(...xs.flatMap((s) => s.loadgen!.threadBusy));
  const sat = xs.filter((s) => s.loadgen!.saturated).length;
  return `Load generator (ours): median ${cores.toFixed(2)} cores in use, busiest thread ${Math.round(busy * 100)}%; ${sat === 0 ? 'never saturated' : `SATURATED in ${sat} of ${xs.length} runs (raise --threads)`}.`;
}

/** The redis-server options `--redis-args` added, for the results' load line. */
function redisArgsLine(args: readonly string[] | undefined): string {
  return args === undefined || args.length === 0 ? '' : `redis-server ran with \`${args.join(' ')}\`. `;
}

/** The load generator, as the results' net and scale sections name it. */
function loadTool(tool: string, procs: number | undefined): string {
  if (tool === 'ours') return 'shardcache-loadgen (ours)';
  return (procs ?? 1) > 1 ? `redis-benchmark (${procs} processes side by side)` : 'redis-benchmark';
}

/** How `--pin` placed the processes (taskset), for the results' load line. */
function pinLine(p: { server: string; load: string } | undefined): string {
  return p === undefined ? '' : `Pinned: servers on CPU ${p.server}, redis-benchmark on CPU ${p.load}. `;
}

export function markdown(r: SuiteResults): string {
  const s = r.suites;
  const out = [
    `# shardcache benchmark, ${r.startedAt}`,
    '',
    `Machine: ${machineLine(r.machine)}. Node ${r.node}, shardcache ${r.shardcache}, redis-server ${r.redis.server ?? 'not installed'}${r.redis.benchmark ? ', redis-benchmark installed' : ''}.`,
    ...r.notes.map((n) => `\n> ${n}`),
  ];
  if (s.net) {
    const n = r.settings.net;
    out.push('', '## net', '', `Load: ${loadTool(s.net.tool, n.benchProcs)}, ${n.clients} clients, ${n.keys.toLocaleString('en-US')} keys, ${n.runs} run(s) of ${n.seconds} s per server per setting, alternated; medians, ± half the spread. ${pinLine(s.net.pinned)}${redisArgsLine(n.redisArgs)}${s.net.tests.includes('mix') ? `MIX = get:set ${n.ratio.join(':')}.` : ''}`, '', netTable(s.net.rows));
    const lg = loadgenCpuLine(s.net);
    if (lg) out.push('', lg);
  }
  if (s.scale) {
    const f = s.scale.fixed;
    out.push('', '## scale', '', `Fixed load: ${f.test.toUpperCase()}, ${f.clients} clients, pipeline ${f.pipeline}, ${f.size} B values, from ${loadTool(s.scale.tool, f.benchProcs)}. ${pinLine(f.pinned)}${redisArgsLine(r.settings.net.redisArgs)}`.trimEnd(), '', scaleTable(s.scale));
  }
  if (s.memory) out.push('', '## memory', '', memoryTable(s.memory));
  if (s.hitratio) out.push('', '## hitratio', '', 'skipped' in s.hitratio ? `Skipped: ${s.hitratio.skipped}.` : hitratioTable(s.hitratio.rows));
  if (s.micro) out.push('', '## micro', '', microTable(s.micro));
  for (const [k, v] of Object.entries(r.errors)) out.push('', `**${k} failed:** ${v}`);
  out.push('', '![chart](chart.svg)', '', '## summary', '', '```', summary(r), '```', '');
  return out.join('\n');
}

/** The closing one-screen summary. */
export function summary(r: SuiteResults, dir?: string): string {
  const s = r.suites;
  const L: string[] = [`shardcache bench: ${machineLine(r.machine)}; node ${r.node}; redis ${r.redis.server ?? 'not installed'}`];
  if (s.net) {
    L.push(`net (${s.net.tool}): shardcache ops/s ÷ redis ops/s, and server CPU µs per op ours/redis`);
    for (const x of s.net.rows) {
      const ratio = x.ratio === null ? 'n/a  ' : `${x.ratio.toFixed(2)}x`;
      L.push(`  ${x.test.toUpperCase().padEnd(4)} P=${String(x.pipeline).padEnd(3)} ${String(x.size).padStart(5)} B  ${ratio}  ${fmt(x.ours.opsPerSec).padStart(11)} / ${x.redis ? fmt(x.redis.opsPerSec).padStart(11) : '          -'}   CPU ${x.ours.cpuPerMillion.toFixed(2)} / ${x.redis?.cpuPerMillion.toFixed(2) ?? '-'}`);
    }
    const lg = loadgenCpuLine(s.net);
    if (lg) L.push(`  ${lg}`);
  }
  if (s.scale) {
    const pts = s.scale.points.map((p) => `${p.threads}t ${fmt(p.opsPerSec)} (${p.speedup.toFixed(2)}x)`).join(' · ');
    L.push(`scale (${s.scale.fixed.test.toUpperCase()} P=${s.scale.fixed.pipeline} ${s.scale.fixed.size} B): ${pts}${s.scale.redis ? ` · redis ${fmt(s.scale.redis.opsPerSec)}` : ''}`);
  }
  if (s.memory) {
    const parts = s.memory.store
      .filter((x) => x.slabGrowthFactor === 1.25)
      .map((x) => {
        const rd = s.memory!.redis.find((y) => y.scenario.name === x.scenario.name);
        return `${fmt(x.scenario.n)} × ${x.scenario.keyBytes}+${x.scenario.valueBytes} B: ${x.bytesPerKey.toFixed(0)}${rd ? ` vs redis ${rd.bytesPerKey.toFixed(0)}` : ''}`;
      });
    L.push(`memory (bytes/key): ${parts.join(' · ')}`);
  }
  if (s.hitratio) {
    if ('skipped' in s.hitratio) L.push(`hitratio: skipped (${s.hitratio.skipped})`);
    else {
      const rows = s.hitratio.rows;
      const lru = rows.filter((x) => x.exact !== null);
      const per = [...new Set(rows.map((x) => x.policy))].map((p) => {
        const xs = rows.filter((x) => x.policy === p);
        return `${p} ${signed(xs.reduce((a, x) => a + x.deltaVsLru, 0) / xs.length)}`;
      });
      L.push(`hitratio (mean miss-ratio Δ vs exact LRU over ${new Set(rows.map((x) => `${x.trace}|${x.size}`)).size} trace×size): ${per.join(' · ')}; lru exact ${lru.filter((x) => x.exact).length}/${lru.length}`);
    }
  }
  if (s.micro) {
    const parts = s.micro.rows
      .filter((x) => x.impl === 'shardcache')
      .map((x) => {
        const lru = s.micro!.rows.find((y) => y.impl === 'lru-cache' && y.op === x.op && y.valueBytes === x.valueBytes);
        return `${x.op} ${x.valueBytes} B ${(x.opsPerSec / 1e6).toFixed(2)}M (${x.ratioToMap.toFixed(2)}x Map${lru ? `, ${(x.opsPerSec / lru.opsPerSec).toFixed(2)}x lru-cache` : ''})`;
      });
    L.push(`micro (store ops/s): ${parts.join(' · ')}`);
  }
  for (const [k, v] of Object.entries(r.errors)) L.push(`${k}: FAILED: ${v.split('\n')[0]}`);
  for (const n of r.notes) L.push(`note: ${n}`);
  if (dir) L.push(`results: ${dir}/ (results.json, results.md${existsSync(join(dir, 'chart.svg')) ? ', chart.svg' : ''}${existsSync(join(dir, 'chart.png')) ? ', chart.png' : ''})`);
  return L.join('\n');
}

// ---- the run -----------------------------------------------------------------------------------------------

function stamp(d: Date): string {
  return d.toISOString().slice(0, 19).replace(/:/g, '-') + 'Z';
}

function pkgVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function runSuite(o: SuiteOptions): Promise<{ dir: string; results: SuiteResults }> {
  const say = o.progress;
  const notes: string[] = [];
  const haveRedis = hasBinary('redis-server');
  const haveRb = hasBinary('redis-benchmark');
  if (!haveRedis) notes.push('redis-server is not installed: measuring shardcache alone (apt-get install redis-server for the comparison)');
  let tool: LoadTool = o.loadgen === 'auto' ? (haveRb ? 'redis-benchmark' : 'ours') : o.loadgen;
  if (tool === 'redis-benchmark' && !haveRb) {
    if (o.loadgen === 'redis-benchmark') throw new Error('--loadgen redis-benchmark: redis-benchmark is not installed (apt-get install redis-tools)');
    tool = 'ours';
  }
  if (o.loadgen === 'auto' && !haveRb && (o.suites.includes('net') || o.suites.includes('scale'))) notes.push('redis-benchmark is not installed: load from shardcache-loadgen (ours)');
  for (const n of notes) o.print(n);
  const started = new Date();
  const { progress: _p, print: _q, ...settings } = o;
  const results: SuiteResults = {
    schema: 'shardcache-bench/1',
    startedAt: started.toISOString(),
    finishedAt: '',
    machine: machineInfo(),
    node: process.version,
    shardcache: pkgVersion(),
    redis: { server: redisVersion(), benchmark: haveRb },
    settings: { ...settings, loadgen: tool },
    suites: {},
    errors: {},
    notes,
  };
  const tests = netTests(tool, o.net.tests);
  // Both drive redis-benchmark processes: our generator runs inside this process.
  if (tool !== 'redis-benchmark' && ((o.suites.includes('net') && (o.net.floor || o.net.pin)) || (o.suites.includes('scale') && o.net.pin))) {
    throw new Error(`--floor and --pin need redis-benchmark as the load generator (${o.loadgen === 'ours' ? '--loadgen ours was given' : 'redis-benchmark is not installed'})`);
  }
  const scaleTest = o.scale.test ?? tests[0]!;
  netTests(tool, [scaleTest]);
  for (const suite of o.suites) {
    say?.(`${suite}…`);
    try {
      if (suite === 'micro') {
        const { runMicro } = await import('../../bench/store/micro.ts');
        const { value, log } = await captured(() => runMicro({ quick: o.micro.quick, time: o.micro.time }), say);
        results.suites.micro = { ...value, log };
      } else if (suite === 'net') {
        if (tool === 'redis-benchmark') {
          const n = await runNet({ clients: o.net.clients, pipelines: o.net.pipelines, sizes: o.net.sizes, keys: o.net.keys, tests, runs: o.net.runs, seconds: o.net.seconds, threads: o.net.serverThreads, maxmemory: o.net.maxmemory, floor: o.net.floor, pin: o.net.pin, loadCpus: o.net.loadCpus, benchProcs: o.net.benchProcs, redisArgs: o.net.redisArgs, progress: say });
          results.suites.net = { tool, tests, redis: n.redis, samples: n.samples, rows: n.rows, ...(n.pinned ? { pinned: n.pinned } : {}) };
        } else {
          results.suites.net = await runNetOurs({ ...o.net, tests, progress: say });
        }
      } else if (suite === 'scale') {
        results.suites.scale = await runScale({ threadsList: o.scale.threadsList, tool, test: scaleTest, clients: o.net.clients, pipeline: o.scale.pipeline, size: o.scale.size, keys: o.net.keys, ratio: o.net.ratio, loadgenThreads: o.net.threads, benchProcs: o.net.benchProcs, redisArgs: o.net.redisArgs, pin: o.net.pin ? pinOrThrow(o.net.loadCpus) : null, seconds: o.net.seconds, runs: o.net.runs, maxmemory: o.net.maxmemory, redis: haveRedis, progress: say });
      } else if (suite === 'memory') {
        const { runMemory } = await import('../../bench/store/memory.ts');
        const { value, log } = await captured(() => runMemory({ keys1k: o.memory.keys1k, keys16: o.memory.keys16, redis: haveRedis }), say);
        results.suites.memory = { ...value, log };
      } else if (suite === 'hitratio') {
        results.suites.hitratio = await runHitRatioSuite(o.hitratio, say);
      }
    } catch (e) {
      results.errors[suite] = (e as Error).stack ?? String(e);
    }
  }
  if (say) process.stderr.write('\r\x1b[K');
  results.finishedAt = new Date().toISOString();

  const base = resolve(o.out);
  let dir = join(base, stamp(started));
  for (let i = 2; existsSync(dir); i++) dir = join(base, `${stamp(started)}-${i}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 1) + '\n');
  const svg = renderChart(results);
  if (svg !== null) {
    writeFileSync(join(dir, 'chart.svg'), svg);
    if (!o.noPng) svgToPng(join(dir, 'chart.svg'), join(dir, 'chart.png'));
  }
  writeFileSync(join(dir, 'results.md'), markdown(results).replace('![chart](chart.svg)', svg === null ? '' : '![chart](chart.svg)'));
  return { dir, results };
}

// ---- commander wiring ---------------------------------------------------------------------------------------

/**
 * Adds the suite to the `bench` command: `bench [suite…]` (default all), `bench compare A B` and
 * `bench loadgen`. With --trace, `bench hitratio` replays one trace (runHitRatio), as before.
 */
export function registerBenchSuite(bench: Command, print: (s: string) => void): void {
  // `bench loadgen --clients 5`: without positional options on the program and on bench, bench's
  // own --clients (and --json ...) would take the subcommand's options.
  bench.parent?.enablePositionalOptions();
  bench.enablePositionalOptions();
  bench
    .description('benchmark suites: micro, net, scale, memory, hitratio, all (default); compare; loadgen')
    .argument('[suites...]', 'suites to run: micro net scale memory hitratio all (default all)')
    .option('--quick', 'a small configuration (1 run of 1 s, 10k keys, 20k/200k memory keys, small traces)')
    .option('--loadgen <tool>', 'auto (redis-benchmark when installed) | redis-benchmark | ours', 'auto')
    .option('--clients <n>', 'connections (default 50)')
    .option('--pipeline <list>', 'pipeline depths (default 1,16)')
    .option('--size <list>', 'value sizes in bytes (default 100,1024)')
    .option('--keys <n>', 'key space; keys are loaded first (default 100000)')
    .option('--ratio <get:set>', 'mix of the "mix" test, our generator (default 10:1)')
    .option('--tests <list>', 'get,set (default with redis-benchmark) and/or mix (default with ours)')
    .option('--threads <n>', 'load generator threads: ours (default cores/4), or redis-benchmark processes side by side (default 1)')
    .option('--duration <s>', 'seconds per run (default 3)')
    .addOption(new Option('--seconds <s>', 'the old name of --duration').hideHelp())
    .option('--runs <n>', 'runs per server per setting, alternated (default 3)')
    .option('--server-threads <n>', 'shardcache --threads in net (default: cores)')
    .option('--maxmemory <bytes>', 'memory limit for both servers (default 1gb)')
    .option('--floor', "net: also run Node's socket path alone (src/bench/floor-server.ts) with the same load")
    .option('--pin', 'net and scale: redis-benchmark on the last CPU (or --load-cpus), the servers on the others (taskset), as with clients on another host')
    .option('--load-cpus <n>', '--pin: CPUs for redis-benchmark, the last ones (default 1)')
    .option('--redis-args <args>', 'net and scale: more redis-server options, e.g. "--io-threads 4 --io-threads-do-reads yes"')
    .option('--scale-threads <list>', 'server thread counts for scale (default 1..cores)')
    .option('--scale-pipeline <n>', 'pipeline depth of the scale load (default 16)')
    .option('--scale-size <n>', 'value size of the scale load (default 100)')
    .option('--scale-test <test>', 'get | set | mix (default: the first of --tests)')
    .option('--mem-keys-1k <n>', 'memory: keys with 50 B keys and 1 KiB values (default 1000000)')
    .option('--mem-keys-16 <n>', 'memory: keys with 16 B keys and 16 B values (default 10000000)')
    .option('--micro-time <ms>', 'micro: tinybench time per task (default 1000)')
    .option('--traces <dir>', 'hitratio: traces directory (default ../shared/traces)')
    .option('--trace-names <list>', 'hitratio: only these traces (e.g. lirs/ps,lirs/gli)')
    .option('--max-requests <n>', 'hitratio: skip traces with more requests')
    .option('--policy <list>', 'hitratio: policies (default all)')
    .option('--shards <list>', 'hitratio: store shards (default 1)')
    .option('--trace <file>', 'hitratio: replay this one trace (with --format, --capacity)')
    .option('--format <format>', 'hitratio --trace: arc | lirs | int32 | int64 | uint32 | oracle')
    .option('--capacity <n>', 'hitratio --trace: capacity in entries')
    .option('--out <dir>', 'results directory (default bench/results)')
    .option('--no-png', 'do not convert the chart to PNG')
    .option('--json', 'print results.json instead of the summary')
    .action(async (names: string[], o: Record<string, unknown>) => {
      if (o.trace !== undefined) {
        if (names.join() !== 'hitratio') throw new Error('--trace goes with the hitratio suite alone');
        const { runHitRatio } = await import('../cli/bench-hitratio.ts');
        await runHitRatio({ trace: String(o.trace), format: o.format as string | undefined, policy: o.policy as string | undefined, capacity: o.capacity as string | undefined, shards: o.shards as string | undefined, json: o.json === true }, print);
        return;
      }
      // With --json, stdout carries only the JSON: notes go to stderr.
      const opts = suiteOptionsFromCli(names, o, o.json ? (l) => process.stderr.write(l + '\n') : print);
      const { dir, results } = await runSuite(opts);
      if (o.json) {
        print(JSON.stringify(results));
        return;
      }
      const s = results.suites;
      if (s.net) print('\n' + netTable(s.net.rows));
      if (s.scale) print('\n' + scaleTable(s.scale));
      if (s.memory) print('\n' + memoryTable(s.memory));
      if (s.hitratio && !('skipped' in s.hitratio)) print('\n' + hitratioTable(s.hitratio.rows));
      if (s.micro) print('\n' + microTable(s.micro));
      print('\n' + summary(results, dir));
      const failed = Object.keys(results.errors);
      if (failed.length > 0) throw new Error(`suite(s) failed: ${failed.join(', ')} (details in ${dir}/results.md)`);
    });

  bench
    .command('compare')
    .description('the change per setting between two results (results.json files or their folders)')
    .argument('<a>', 'the earlier results')
    .argument('<b>', 'the later results')
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, o: { json?: boolean }) => {
      const { compareFiles } = await import('./compare.ts');
      const c = compareFiles(a, b);
      print(o.json ? JSON.stringify(c.rows) : c.text);
    });

  bench
    .command('loadgen')
    .description('our load generator against a running server (RESP; ops/s, p50/p99, its own CPU)')
    .option('--host <host>', 'server host', '127.0.0.1')
    .option('--port <port>', 'server port', '6379')
    .option('--clients <n>', 'connections', '50')
    .option('--pipeline <n>', 'requests in flight per connection', '1')
    .option('--size <n>', 'SET value size in bytes', '100')
    .option('--keys <n>', 'key space (key:000000000000 …)', '100000')
    .option('--ratio <get:set>', 'GETs to SETs', '10:1')
    .option('--threads <n>', 'worker threads (default cores/4)')
    .option('--duration <s>', 'seconds of measured load', '5')
    .option('--warmup <s>', 'seconds of unmeasured load first', '1')
    .option('--requests <n>', 'send exactly this many requests instead (no warmup)')
    .option('--protocol <name>', 'resp | binary', 'resp')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string | boolean>) => {
      const r = await runLoadgen({
        host: String(o.host),
        port: num('port', o.port),
        clients: num('clients', o.clients),
        pipeline: num('pipeline', o.pipeline),
        size: num('size', o.size, 0),
        keys: num('keys', o.keys),
        ratio: String(o.ratio),
        threads: o.threads === undefined ? undefined : num('threads', o.threads),
        duration: num('duration', o.duration, 0.01),
        warmup: num('warmup', o.warmup, 0),
        requests: o.requests === undefined ? undefined : num('requests', o.requests, 0),
        protocol: String(o.protocol),
      });
      print(o.json ? JSON.stringify(r) : loadgenReport(r));
    });
}

