/**
 * `shardcache bench compare A B`: the change per setting between two suite results (results.json
 * files, or the folders holding them). For each setting both runs measured: the value in A, in B,
 * and the change. Throughput and bytes per key change by a percentage; miss ratios by an absolute
 * difference. It warns when the two ran on different machines or Node versions.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { SuiteResults } from './suite.ts';

export interface CompareRow {
  suite: string;
  setting: string;
  metric: string;
  a: number;
  b: number;
  /** (b - a) / a, or b - a for ratios in [0,1] (absolute: true). */
  change: number;
  absolute: boolean;
  /** Whether larger is better for this metric. */
  higherIsBetter: boolean;
}

export function loadResults(path: string): SuiteResults {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'results.json') : path;
  if (!existsSync(file)) throw new Error(`no results at ${file}`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as SuiteResults;
  if (r.schema !== 'shardcache-bench/1') throw new Error(`${file} is not a shardcache bench results file`);
  return r;
}

type Metric = { suite: string; setting: string; metric: string; value: number; absolute?: boolean; higherIsBetter: boolean };

function metrics(r: SuiteResults): Metric[] {
  const out: Metric[] = [];
  const s = r.suites;
  if (s.net) {
    for (const x of s.net.rows) {
      const k = `${s.net.tool} ${x.test.toUpperCase()} P=${x.pipeline} ${x.size} B`;
      out.push({ suite: 'net', setting: k, metric: 'shardcache ops/s', value: x.ours.opsPerSec, higherIsBetter: true });
      out.push({ suite: 'net', setting: k, metric: 'shardcache p99 ms', value: x.ours.p99, higherIsBetter: false });
      out.push({ suite: 'net', setting: k, metric: 'shardcache CPU µs/op', value: x.ours.cpuPerMillion, higherIsBetter: false });
      if (x.redis) out.push({ suite: 'net', setting: k, metric: 'redis ops/s', value: x.redis.opsPerSec, higherIsBetter: true });
      if (x.ratio !== null) out.push({ suite: 'net', setting: k, metric: 'ratio to redis', value: x.ratio, higherIsBetter: true });
    }
  }
  if (s.scale) {
    const f = s.scale.fixed;
    for (const p of s.scale.points) out.push({ suite: 'scale', setting: `${s.scale.tool} ${f.test.toUpperCase()} P=${f.pipeline} ${f.size} B, ${p.threads} threads`, metric: 'ops/s', value: p.opsPerSec, higherIsBetter: true });
    if (s.scale.redis) out.push({ suite: 'scale', setting: `${s.scale.tool} ${f.test.toUpperCase()} P=${f.pipeline} ${f.size} B, redis`, metric: 'ops/s', value: s.scale.redis.opsPerSec, higherIsBetter: true });
  }
  if (s.memory) {
    for (const x of s.memory.store) out.push({ suite: 'memory', setting: `${x.scenario.n} × ${x.scenario.keyBytes}+${x.scenario.valueBytes} B, slab ${x.slabGrowthFactor}`, metric: 'shardcache bytes/key', value: x.bytesPerKey, higherIsBetter: false });
    for (const x of s.memory.redis) out.push({ suite: 'memory', setting: `${x.scenario.n} × ${x.scenario.keyBytes}+${x.scenario.valueBytes} B`, metric: 'redis bytes/key', value: x.bytesPerKey, higherIsBetter: false });
  }
  if (s.hitratio && !('skipped' in s.hitratio)) {
    for (const x of s.hitratio.rows) out.push({ suite: 'hitratio', setting: `${x.trace} ${x.size} shards ${x.shards}`, metric: `${x.policy} miss ratio`, value: x.missRatio, absolute: true, higherIsBetter: false });
  }
  if (s.micro) {
    for (const x of s.micro.rows) out.push({ suite: 'micro', setting: `${x.op} ${x.valueBytes} B`, metric: `${x.impl} ops/s`, value: x.opsPerSec, higherIsBetter: true });
    if (s.micro.threads) out.push({ suite: 'micro', setting: '2 threads vs 1', metric: 'speedup', value: s.micro.threads.speedup, higherIsBetter: true });
  }
  return out;
}

export function compareResults(a: SuiteResults, b: SuiteResults): { rows: CompareRow[]; warnings: string[]; onlyA: number; onlyB: number } {
  const key = (m: Metric) => `${m.suite}|${m.setting}|${m.metric}`;
  const mb = new Map(metrics(b).map((m) => [key(m), m]));
  const ma = metrics(a);
  const rows: CompareRow[] = [];
  for (const x of ma) {
    const y = mb.get(key(x));
    if (y === undefined) continue;
    const absolute = x.absolute ?? false;
    rows.push({ suite: x.suite, setting: x.setting, metric: x.metric, a: x.value, b: y.value, change: absolute ? y.value - x.value : x.value === 0 ? NaN : (y.value - x.value) / x.value, absolute, higherIsBetter: x.higherIsBetter });
  }
  const warnings: string[] = [];
  if (a.machine.cpuModel !== b.machine.cpuModel || a.machine.cores !== b.machine.cores) warnings.push(`different machines: ${a.machine.cpuModel} × ${a.machine.cores} vs ${b.machine.cpuModel} × ${b.machine.cores}`);
  if (a.node !== b.node) warnings.push(`different Node versions: ${a.node} vs ${b.node}`);
  if (a.redis.server !== b.redis.server) warnings.push(`different redis-server: ${a.redis.server} vs ${b.redis.server}`);
  return { rows, warnings, onlyA: ma.length - rows.length, onlyB: mb.size - rows.length };
}

function fmtValue(v: number, metric: string): string {
  if (metric.includes('ops/s')) return Math.round(v).toLocaleString('en-US');
  if (metric.includes('miss ratio')) return v.toFixed(4);
  return v.toFixed(2);
}

export function compareText(c: ReturnType<typeof compareResults>, aName: string, bName: string): string {
  const lines = [`A: ${aName}`, `B: ${bName}`, ...c.warnings.map((w) => `warning: ${w}`), ''];
  lines.push('| suite | setting | metric | A | B | change |', '|---|---|---|--:|--:|--:|');
  for (const r of c.rows) {
    const ch = Number.isNaN(r.change) ? 'n/a' : r.absolute ? `${r.change >= 0 ? '+' : '−'}${Math.abs(r.change).toFixed(4)}` : `${r.change >= 0 ? '+' : '−'}${Math.abs(r.change * 100).toFixed(1)}%`;
    const better = r.change === 0 || Number.isNaN(r.change) ? '' : r.change > 0 === r.higherIsBetter ? ' ▲' : ' ▼';
    lines.push(`| ${r.suite} | ${r.setting} | ${r.metric} | ${fmtValue(r.a, r.metric)} | ${fmtValue(r.b, r.metric)} | ${ch}${better} |`);
  }
  if (c.rows.length === 0) lines.push('| - | no setting measured in both | - | - | - | - |');
  lines.push('', `▲ better, ▼ worse. ${c.onlyA} measurement(s) only in A, ${c.onlyB} only in B.`);
  return lines.join('\n');
}

export function compareFiles(a: string, b: string): { rows: CompareRow[]; text: string } {
  const c = compareResults(loadResults(a), loadResults(b));
  return { rows: c.rows, text: compareText(c, a, b) };
}
