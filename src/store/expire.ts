/**
 * The active expiry timer a shard's owner thread runs (Redis's activeExpireCycle, hz 10): every
 * tick it sweeps its shards until the expired fraction falls below a tenth or the time budget
 * (25 % of the tick, as Redis's ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC) is spent.
 */
import { performance } from 'node:perf_hooks';
import type { ExpireTally, Store } from './store.ts';

export interface ActiveExpiry {
  stop(): void;
}

/** A cycle's tally and how long it ran (INFO's expire_cycle_cpu_milliseconds and the like). */
export interface ExpireCycleReport extends ExpireTally {
  ms: number;
}

export function startActiveExpiry(store: Store, shardIds: readonly number[], hz = 10, beforeRun?: () => void, afterRun?: (r: ExpireCycleReport) => void): ActiveExpiry {
  const period = 1000 / hz;
  const budget = period / 4;
  const report: ExpireCycleReport = { sampled: 0, expired: 0, capped: false, ms: 0 };
  const timer = setInterval(() => {
    beforeRun?.();
    const t0 = performance.now();
    store.activeExpireCycle(shardIds, budget, report);
    report.ms = performance.now() - t0;
    afterRun?.(report);
  }, period);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
