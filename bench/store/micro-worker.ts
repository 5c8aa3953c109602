/**
 * Worker for the multi-thread part of bench/store/micro.ts: attaches to a store created on the
 * main thread (Store.attach of its handle()), warms up, waits on a shared start flag, then runs a
 * fixed number of mixed get/set operations on random preloaded keys and posts its elapsed time.
 *
 * The helpers below are shared with micro.ts so both build byte-identical keys and values.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Store } from '../../src/store/store.ts';
import type { StoreHandle } from '../../src/store/store.ts';

/** Keys are exactly 16 bytes: "key:" and a 12-digit zero-padded counter. */
export const KEY_BYTES = 16;

export function keyString(i: number): string {
  return 'key:' + String(i).padStart(KEY_BYTES - 4, '0');
}

/** A deterministic value of `n` bytes (printable, varies with `seed`). */
export function makeValue(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i + seed) % 26);
  return b;
}

/** `n` pseudo-random indexes in [0, range) from xorshift32, so every run draws the same keys. */
export function randomIndexes(n: number, range: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x % range;
  }
  return out;
}

export interface WorkerInput {
  kind: 'shardcache-micro';
  handle: StoreHandle;
  /** Measured operations this worker runs. */
  ops: number;
  warmupOps: number;
  /** Percentage of operations that are gets; the rest are sets overwriting existing keys. */
  getPct: number;
  nKeys: number;
  valueBytes: number;
  seed: number;
  /** Int32Array over a SharedArrayBuffer: [0] is the start flag the main thread flips to 1. */
  flag: SharedArrayBuffer;
}

export interface WorkerOutput {
  ops: number;
  ms: number;
  /** This thread's CPU time (user + system) over the measured run: well below `ms` means it was descheduled or parked on a lock. */
  cpuMs: number;
  hits: number;
  sink: number;
}

const RAND_BITS = 20;

function runOps(store: Store, keys: Buffer[], value: Buffer, rnd: Uint32Array, ops: number, getPct: number, start: number): { hits: number; sink: number } {
  const mask = (1 << RAND_BITS) - 1;
  let p = start;
  let hits = 0;
  let sink = 0;
  for (let i = 0; i < ops; i++) {
    const key = keys[rnd[p++ & mask]!]!;
    // The op choice uses the next draw, independent of the key draw.
    if (rnd[p++ & mask]! % 100 < getPct) {
      const v = store.get(key);
      if (v !== null) {
        hits++;
        sink += v.length;
      }
    } else {
      store.set(key, value);
    }
  }
  return { hits, sink };
}

if (!isMainThread && (workerData as WorkerInput | undefined)?.kind === 'shardcache-micro') {
  const d = workerData as WorkerInput;
  const store = Store.attach(d.handle);
  const keys: Buffer[] = [];
  for (let i = 0; i < d.nKeys; i++) keys.push(Buffer.from(keyString(i), 'latin1'));
  const value = makeValue(d.valueBytes, d.seed);
  const rnd = randomIndexes(1 << RAND_BITS, d.nKeys, d.seed);
  runOps(store, keys, value, rnd, d.warmupOps, d.getPct, 0);
  const flag = new Int32Array(d.flag);
  parentPort!.postMessage('ready');
  Atomics.wait(flag, 0, 0);
  const c0 = process.threadCpuUsage();
  const t0 = performance.now();
  const { hits, sink } = runOps(store, keys, value, rnd, d.ops, d.getPct, 12345);
  const ms = performance.now() - t0;
  const c = process.threadCpuUsage(c0);
  parentPort!.postMessage({ ops: d.ops, ms, cpuMs: (c.user + c.system) / 1000, hits, sink } satisfies WorkerOutput);
}
