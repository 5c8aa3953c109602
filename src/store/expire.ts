/**
 * The active expiry timer a shard's owner thread runs (Redis's activeExpireCycle, hz 10): every
 * tick it sweeps its shards until the expired fraction falls below a tenth or the time budget
 * (25 % of the tick, as Redis's ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC) is spent.
 */
import type { ExpireTally, Store } from './store.ts';

export interface ActiveExpiry {
  stop(): void;
}

export function startActiveExpiry(store: Store, shardIds: readonly number[], hz = 10, beforeRun?: () => void, afterRun?: (tally: ExpireTally) => void): ActiveExpiry {
  const period = 1000 / hz;
  const budget = period / 4;
  const tally: ExpireTally = { sampled: 0, expired: 0, capped: false, ms: 0 };
  const timer = setInterval(() => {
    beforeRun?.();
    store.activeExpireCycle(shardIds, budget, tally);
    afterRun?.(tally);
  }, period);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
