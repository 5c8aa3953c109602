/**
 * `bench hitratio`: replays a trace through the real store to measure its miss ratio. Every
 * request is a get and a miss inserts, with capacity counted in entries, which is exactly how
 * the reference numbers in shared/traces/README.md were produced, so results compare directly.
 */

import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { readTrace, writeKey, type TraceFormat } from './traces.ts';

export const POLICIES = ['lru', 'lfu', 'fifo', 'sieve', 's3fifo'] as const;
export type Policy = (typeof POLICIES)[number];

/** A --policy argument, checked. */
export function parsePolicy(p: string): Policy {
  if (!(POLICIES as readonly string[]).includes(p)) throw new Error(`--policy must be one of ${POLICIES.join(', ')} (got ${p})`);
  return p as Policy;
}

export interface ReplayStoreOptions {
  shards: number;
  policy: Policy;
  maxEntries: number;
}

/** The part of the store a replay touches; lets tests substitute an exact reference cache. */
export interface ReplayStore {
  get(key: Uint8Array): Uint8Array | null;
  set(key: Uint8Array, value: Uint8Array): unknown;
  close(): void;
}

export type StoreFactory = (opts: ReplayStoreOptions) => ReplayStore;

export interface ReplayOptions {
  path: string;
  format: TraceFormat;
  policy: Policy;
  /** Total entry bound, split over the shards by the store. */
  capacity: number;
  shards?: number;
  storeFactory?: StoreFactory;
}

export interface ReplayResult {
  requests: number;
  misses: number;
  missRatio: number;
  /** Wall time of the replay, decompression and parsing included. */
  elapsedMs: number;
}

// Values are irrelevant to hit ratio; one shared byte keeps memory use down to keys.
const VALUE = Buffer.from([1]);

async function realStoreFactory(): Promise<StoreFactory> {
  // Loaded lazily so that replays against a substitute store do not need the real one built.
  const { Store } = await import('../store/store.ts');
  return (opts) => Store.create(opts);
}

function checkCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
}

export async function replayTrace(opts: ReplayOptions): Promise<ReplayResult> {
  const shards = opts.shards ?? 1;
  checkCount('capacity', opts.capacity);
  checkCount('shards', shards);
  if (!(POLICIES as readonly string[]).includes(opts.policy)) {
    throw new RangeError(`unknown policy ${opts.policy}; expected one of ${POLICIES.join(', ')}`);
  }
  const factory = opts.storeFactory ?? (await realStoreFactory());
  const store = factory({ shards, policy: opts.policy, maxEntries: opts.capacity });
  // One key buffer for the whole replay: the store copies key bytes on insert.
  const key = Buffer.alloc(8);
  const view = new DataView(key.buffer, key.byteOffset, 8);
  let requests = 0;
  let misses = 0;
  const t0 = performance.now();
  try {
    for await (const batch of readTrace(opts.path, opts.format)) {
      const n = batch.count;
      for (let i = 0; i < n; i++) {
        writeKey(batch, i, view);
        if (store.get(key) === null) {
          misses++;
          store.set(key, VALUE);
        }
      }
      requests += n;
    }
  } finally {
    store.close();
  }
  const elapsedMs = performance.now() - t0;
  return { requests, misses, missRatio: requests === 0 ? 0 : misses / requests, elapsedMs };
}
