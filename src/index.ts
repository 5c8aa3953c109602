/**
 * shardcache's public exports: the embeddable store (share one cache between an application's
 * worker threads by posting `store.handle()` and calling `Store.attach`), the op-log consumer API,
 * and the error type with its stable codes.
 */
export { Store, splitEven } from './store/store.ts';
export type { Bytes, ExpireCondition, ExpireConditions, ScanResult, SetOptions, StoreHandle, StoreOptions, StoreStats } from './store/store.ts';
export { OpLog, OpLogReader } from './store/oplog.ts';
export type { OpLogHandle, OpRecord } from './store/oplog.ts';
export { OpType } from '../native-layout/oplog.ts';
export { POLICY_NAMES, resolvePolicy } from './store/policies.ts';
export { hash32 } from './store/hash.ts';
export { ErrorCode, ShardcacheError } from './errors.ts';
export { esmTaskPool } from './esm-task.ts';
export type { EsmTaskData } from './esm-task.ts';
export { LAYOUT_VERSION } from '../native-layout/shard.ts';
export { ShardcacheClient, ShardcacheClientError, ClientErrorCode } from './client/index.ts';
export type { ClientOptions, ClientStats, LoadOptions } from './client/index.ts';
