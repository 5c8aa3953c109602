/**
 * `shardcache bench hitratio`: one trace (--trace) or every trace under --traces, through the
 * real store, with the exact-LRU/FIFO references beside the results.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { POLICIES, replayTrace } from '../bench/hitratio.ts';
import type { Policy } from '../bench/hitratio.ts';
import { referenceTable } from '../bench/trace-reference.ts';
import { isTraceFormat, listTraces } from '../bench/traces.ts';

export const DEFAULT_TRACES = fileURLToPath(new URL('../../../shared/traces', import.meta.url));

export interface HitRatioOptions {
  trace?: string;
  traces?: string;
  format?: string;
  policy?: string;
  capacity?: string;
  shards?: string;
  json?: boolean;
}

export interface HitRatioRow {
  trace: string;
  capacityLabel: string;
  capacity: number;
  shards: number;
  policy: Policy;
  requests: number;
  misses: number;
  missRatio: number;
  referenceLruMisses: number | null;
  referenceFifoMisses: number | null;
}

function positiveInt(name: string, v: string | undefined, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got ${v ?? 'nothing'})`);
  return n;
}

function policyOf(p: string): Policy {
  if (!(POLICIES as readonly string[]).includes(p)) throw new Error(`--policy must be one of ${POLICIES.join(', ')} (got ${p})`);
  return p as Policy;
}

export async function runHitRatio(o: HitRatioOptions, print: (s: string) => void): Promise<HitRatioRow[] | { requests: number; misses: number; missRatio: number }> {
  if (o.trace !== undefined) {
    if (o.format === undefined || !isTraceFormat(o.format)) throw new Error('--format must be one of arc, lirs, int32, int64, uint32, oracle');
    if (!existsSync(o.trace)) throw new Error(`no such trace file: ${o.trace}`);
    const r = await replayTrace({
      path: o.trace,
      format: o.format,
      policy: policyOf(o.policy ?? 'lru'),
      capacity: positiveInt('capacity', o.capacity),
      shards: positiveInt('shards', o.shards, 1),
    });
    const out = { requests: r.requests, misses: r.misses, missRatio: r.missRatio };
    if (o.json) print(JSON.stringify(out));
    else print(`requests ${r.requests}\nmisses ${r.misses}\nmiss ratio ${r.missRatio.toFixed(4)}`);
    return out;
  }
  const dir = o.traces ?? DEFAULT_TRACES;
  if (!existsSync(dir)) throw new Error(`no traces directory at ${dir} (give one with --traces)`);
  const files = listTraces(dir);
  const refs = new Map(referenceTable().map((r) => [r.trace, r]));
  const policies = o.policy !== undefined ? [policyOf(o.policy)] : [...POLICIES];
  const shardsList = o.shards !== undefined ? [positiveInt('shards', o.shards)] : [1, 16];
  const rows: HitRatioRow[] = [];
  if (!o.json) print('| trace | size | C | shards | ' + policies.join(' | ') + ' | ref LRU | ref FIFO |\n|---|---|--:|--:|' + policies.map(() => '--:|').join('') + '--:|--:|');
  for (const f of files) {
    const ref = refs.get(f.name);
    if (ref === undefined) continue;
    for (const [label, cap, lru, fifo] of [['1%', ref.c1, ref.lru1, ref.fifo1], ['10%', ref.c10, ref.lru10, ref.fifo10]] as const) {
      for (const shards of shardsList) {
        const cells: string[] = [];
        for (const policy of policies) {
          const r = await replayTrace({ path: f.path, format: f.format, policy, capacity: cap, shards });
          rows.push({ trace: f.name, capacityLabel: label, capacity: cap, shards, policy, requests: r.requests, misses: r.misses, missRatio: r.missRatio, referenceLruMisses: lru, referenceFifoMisses: fifo });
          const exact = shards === 1 && ((policy === 'lru' && r.misses === lru) || (policy === 'fifo' && r.misses === fifo)) ? ' =' : '';
          cells.push(`${r.missRatio.toFixed(4)}${exact}`);
        }
        if (!o.json) print(`| ${f.name} | ${label} | ${cap} | ${shards} | ${cells.join(' | ')} | ${(lru / ref.requests).toFixed(4)} | ${(fifo / ref.requests).toFixed(4)} |`);
      }
    }
  }
  if (o.json) print(JSON.stringify(rows));
  else print('\n"=" marks a miss count identical to the exact reference (one shard, lru or fifo).');
  return rows;
}
