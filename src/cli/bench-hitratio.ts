/**
 * `shardcache bench hitratio --trace FILE --format F [--policy P] --capacity N [--shards N] [--json]`:
 * one trace through the real store. Every trace at once is the hitratio suite (src/bench/suite.ts).
 */
import { existsSync } from 'node:fs';
import { parsePolicy, replayTrace } from '../bench/hitratio.ts';
import { isTraceFormat } from '../bench/traces.ts';

export interface HitRatioOptions {
  trace: string;
  format?: string;
  policy?: string;
  capacity?: string;
  shards?: string;
  json?: boolean;
}

function positiveInt(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${v ?? 'nothing'})`);
  return n;
}

export async function runHitRatio(o: HitRatioOptions, print: (s: string) => void): Promise<{ requests: number; misses: number; missRatio: number }> {
  if (o.format === undefined || !isTraceFormat(o.format)) throw new Error('--format must be one of arc, lirs, int32, int64, uint32, oracle');
  if (!existsSync(o.trace)) throw new Error(`no such trace file: ${o.trace}`);
  const r = await replayTrace({
    path: o.trace,
    format: o.format,
    policy: parsePolicy(o.policy ?? 'lru'),
    capacity: positiveInt('capacity', o.capacity),
    shards: positiveInt('shards', o.shards, 1),
  });
  const out = { requests: r.requests, misses: r.misses, missRatio: r.missRatio };
  if (o.json) print(JSON.stringify(out));
  else print(`requests ${r.requests}\nmisses ${r.misses}\nmiss ratio ${r.missRatio.toFixed(4)}`);
  return out;
}
