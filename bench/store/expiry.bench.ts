/**
 * The cost of active expiry when few keys have a TTL among many: what a server's expiry timer
 * (Store.activeExpireCycle, 25 ms budget, every shard) spends per cycle, in two phases:
 *   waiting   the keys with a TTL are far from expiring; the cycle only looks for them
 *   expiring  every key with a TTL has passed it; cycles run until all are gone
 * Redis keeps keys with a TTL in a dictionary of their own, so its cycle never sees the others.
 *
 *   node bench/store/expiry.bench.ts [plain keys] [keys with a TTL] [cycles]
 *
 * Defaults: 875,000 plain keys, 10,000 with a TTL, 100 cycles (10 s of a server at hz 10).
 */
import { performance } from 'node:perf_hooks';
import { Store } from '../../src/store/store.ts';

const [plainArg = '875000', ttlArg = '10000', cyclesArg = '100'] = process.argv.slice(2);
const PLAIN = Number(plainArg);
const TTL = Number(ttlArg);
const CYCLES = Number(cyclesArg);
const SHARDS = 16;
const BUDGET_MS = 25;

const clock = { now: 1_700_000_000_000 };
const store = Store.create({ shards: SHARDS, clock: () => clock.now });
const value = Buffer.alloc(16, 'v');
for (let i = 0; i < PLAIN; i++) store.set(`key:${i}`, value);
for (let i = 0; i < TTL; i++) store.set(`ttl:${i}`, value, { px: 60_000 });
const shardIds = Array.from({ length: SHARDS }, (_, i) => i);
const tally = { sampled: 0, expired: 0, capped: false, ms: 0 };

function phase(name: string, cycles: number): void {
  let ms = 0;
  let sampled = 0;
  let expired = 0;
  let capped = 0;
  let ran = 0;
  const t0 = performance.now();
  for (; ran < cycles; ran++) {
    store.activeExpireCycle(shardIds, BUDGET_MS, tally);
    ms += tally.ms;
    sampled += tally.sampled;
    expired += tally.expired;
    if (tally.capped) capped++;
    clock.now += 100;
    if (name === 'expiring' && store.stats().volatileKeys === 0) {
      ran++;
      break;
    }
  }
  const wall = performance.now() - t0;
  console.log(`${name.padEnd(9)} ${ran} cycles: ${(ms / ran).toFixed(3)} ms per cycle (${ms.toFixed(1)} ms in all, ${wall.toFixed(0)} ms wall), ${sampled} keys with a TTL looked at, ${expired} expired, ${capped} cycles at the budget`);
}

console.log(`${PLAIN.toLocaleString('en-US')} keys without a TTL, ${TTL.toLocaleString('en-US')} with one, ${SHARDS} shards`);
phase('waiting', CYCLES);
clock.now += 60_000;
phase('expiring', 10 * CYCLES);
console.log(`left with a TTL: ${store.stats().volatileKeys}`);
