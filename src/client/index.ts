/**
 * The shardcache client: the cache API over the binary protocol, sharded over a consistent-hash
 * ring, with replica failover, stampede defence and a hot-key L1.
 */
export { ShardcacheClient } from './client.ts';
export type { ClientOptions, ClientStats, Key, L1Options, NodeOptions, SetOptions, Subscription } from './client.ts';
export type { LoadOptions, LoaderStats } from './loader.ts';
export { ClientErrorCode, ShardcacheClientError } from './errors.ts';
export { HashRing } from './ring.ts';
export type { RingOptions } from './ring.ts';
export { CountMinSketch } from './sketch.ts';
export { L1_DEFAULTS } from './l1.ts';
