/**
 * A piscina task that uses the shared cache: the first task on each pool thread attaches to the
 * store; later tasks on that thread reuse the attachment.
 */
import { threadId } from 'node:worker_threads';
import { Store } from '../../src/store/store.ts';
import type { StoreHandle } from '../../src/store/store.ts';

let store: Store | null = null;

export default function task({ handle, key, times }: { handle: StoreHandle; key: string; times: number }): { thread: number; last: number } {
  store ??= Store.attach(handle);
  let last = 0;
  for (let i = 0; i < times; i++) last = Number(store.incrBy(key, 1));
  store.set(`seen:${threadId}`, '1');
  return { thread: threadId, last };
}
