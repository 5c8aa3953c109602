/**
 * Policy names a user may give (`--maxmemory-policy`, CONFIG SET): ours and Redis's, resolved to
 * the list discipline a shard keeps and the way it picks a victim.
 */
import { EvictMode } from '../../native-layout/shard.ts';
import type { EvictModeId, PolicyName } from '../../native-layout/shard.ts';
import { ErrorCode, scError } from '../errors.ts';

export interface ResolvedPolicy {
  readonly policy: PolicyName;
  readonly mode: EvictModeId;
}

const NAMES: Record<string, ResolvedPolicy> = {
  lru: { policy: 'lru', mode: EvictMode.policy },
  lfu: { policy: 'lfu', mode: EvictMode.policy },
  fifo: { policy: 'fifo', mode: EvictMode.policy },
  sieve: { policy: 'sieve', mode: EvictMode.policy },
  s3fifo: { policy: 's3fifo', mode: EvictMode.policy },
  'lru-seconds': { policy: 'lruSeconds', mode: EvictMode.policy },
  // Redis's LRU clock counts seconds, and Redis orders nothing finer: its LRU names get the
  // LRU that relinks a key at most once a second, which spares a hot key's neighbours the writes.
  'allkeys-lru': { policy: 'lruSeconds', mode: EvictMode.policy },
  'allkeys-lfu': { policy: 'lfu', mode: EvictMode.policy },
  // Random victims need no recency order, so the cheapest list (FIFO: hits do nothing) is kept.
  'allkeys-random': { policy: 'fifo', mode: EvictMode.random },
  'volatile-lru': { policy: 'lruSeconds', mode: EvictMode.volatile },
  'volatile-lfu': { policy: 'lfu', mode: EvictMode.volatile },
  'volatile-random': { policy: 'fifo', mode: EvictMode.volatileRandom },
  'volatile-ttl': { policy: 'fifo', mode: EvictMode.volatileTtl },
  // Nothing is ever evicted, so no recency order is kept: hits skip the LRU relink (two
  // neighbours' headers written per hit). CONFIG SET to an evicting policy relinks the items.
  noeviction: { policy: 'fifo', mode: EvictMode.noeviction },
};

export const POLICY_NAMES: readonly string[] = Object.keys(NAMES);

export function resolvePolicy(name: string): ResolvedPolicy {
  const p = NAMES[name.toLowerCase()];
  if (p === undefined) throw scError(ErrorCode.INVALID_ARG, `ERR unknown eviction policy '${name}' (one of ${POLICY_NAMES.join(', ')})`);
  return p;
}
