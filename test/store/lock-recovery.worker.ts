/**
 * Worker side of lock-recovery.test.ts: takes the lock of the shard of `key` and stops the thread
 * without releasing it, as a thread that dies mid-command would. With `torn`, it first leaves the
 * shard's header inconsistent (its live-item count one too high), as a change cut half-way would.
 */
import { workerData } from 'node:worker_threads';
import { Store } from '../../src/store/store.ts';
import type { StoreHandle } from '../../src/store/store.ts';
import { HW } from '../../src/store/memory.ts';

const { handle, key, torn } = workerData as { handle: StoreHandle; key: string; torn: boolean };
const store = Store.attach(handle);
const shard = store.shardFor(Buffer.from(key));
shard.lock();
if (torn) shard.m.h32[HW.count] = shard.m.h32[HW.count]! + 1;
process.exit(3);
