/**
 * Micro-benchmark: get and set throughput of the store against lru-cache and a plain Map, then
 * the store driven from two worker threads at once against one thread doing the same work.
 *
 *   node bench/store/micro.ts [--quick] [--time ms] [--only ops|threads]
 *
 * Every implementation holds the same preloaded keys (16-byte keys, 100-byte or 1 KiB values) at
 * the same capacity. A get reads a random preloaded key (always a hit); a set overwrites a random
 * existing key. Keys are built before timing: Buffers for the store, strings for Map and
 * lru-cache (how JS code keys those). Each tinybench sample is a batch of BATCH operations timed
 * as a whole and reported per operation (overriddenDuration), because one op is below the timer's
 * useful resolution; ops/s comes from the median batch, so a batch preempted by another process
 * does not skew it (the mean is reported too).
 */
import { cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { Bench } from 'tinybench';
import type { FnReturnedObject, Task } from 'tinybench';
import { Store } from '../../src/store/store.ts';
import { keyString, makeValue, randomIndexes } from './micro-worker.ts';
import type { WorkerInput, WorkerOutput } from './micro-worker.ts';

export interface MicroOptions {
  /** tinybench time budget per task, ms (default 1000; 200 with quick). */
  time?: number;
  /** Fewer keys, shorter tasks and fewer thread ops: a smoke run. */
  quick?: boolean;
  /** Which parts to run (default both): single-thread op throughput, and 1 vs 2 worker threads. */
  parts?: readonly ('ops' | 'threads')[];
}

export type Impl = 'shardcache' | 'lru-cache' | 'Map';
export type Op = 'get' | 'set';

export interface MicroRow {
  impl: Impl;
  op: Op;
  valueBytes: number;
  /** From the median batch: robust to a batch now and then being preempted by another process. */
  opsPerSec: number;
  nsPerOp: number;
  /** From the mean batch (tinybench's period). */
  meanNsPerOp: number;
  /** Relative margin of error of the mean latency, percent. */
  rme: number;
  /** Batches measured. */
  samples: number;
  /** opsPerSec / Map's opsPerSec for the same op and value size. */
  ratioToMap: number;
}

export interface ThreadRun {
  threads: number;
  totalOps: number;
  /** Slowest worker's elapsed time (all start together on a shared flag). */
  ms: number;
  opsPerSec: number;
  perWorker: WorkerOutput[];
}

export interface MicroResult {
  config: { keys: number; keyBytes: number; valueBytes: number[]; batch: number; timeMs: number; shards: number; policy: string };
  rows: MicroRow[];
  threads: { getPct: number; valueBytes: number; oneThread: ThreadRun; twoThreads: ThreadRun; speedup: number } | null;
}

const SHARDS = 16;
const POLICY = 'lru';
const BATCH = 1000;
const VALUE_SIZES = [100, 1024];
const RAND_BITS = 20;
const RAND_MASK = (1 << RAND_BITS) - 1;

/** Keeps results observable so the JIT cannot drop the work. */
let SINK = 0;

function timed(dt: number): FnReturnedObject {
  return { overriddenDuration: dt / BATCH, overriddenIterationCost: dt };
}

/** A batch runner per implementation and op: each loop is written out so its call site stays monomorphic. */
function storeTasks(store: Store, keys: Buffer[], value: Buffer, rnd: Uint32Array): Record<Op, () => FnReturnedObject> {
  let p = 0;
  return {
    get() {
      const t0 = performance.now();
      let s = 0;
      for (let i = 0; i < BATCH; i++) s += store.get(keys[rnd[p++ & RAND_MASK]!]!)!.length;
      const dt = performance.now() - t0;
      SINK += s;
      return timed(dt);
    },
    set() {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) store.set(keys[rnd[p++ & RAND_MASK]!]!, value);
      return timed(performance.now() - t0);
    },
  };
}

function lruTasks(cache: LRUCache<string, Buffer>, keys: string[], value: Buffer, rnd: Uint32Array): Record<Op, () => FnReturnedObject> {
  let p = 0;
  return {
    get() {
      const t0 = performance.now();
      let s = 0;
      for (let i = 0; i < BATCH; i++) s += cache.get(keys[rnd[p++ & RAND_MASK]!]!)!.length;
      const dt = performance.now() - t0;
      SINK += s;
      return timed(dt);
    },
    set() {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) cache.set(keys[rnd[p++ & RAND_MASK]!]!, value);
      return timed(performance.now() - t0);
    },
  };
}

function mapTasks(map: Map<string, Buffer>, keys: string[], value: Buffer, rnd: Uint32Array): Record<Op, () => FnReturnedObject> {
  let p = 0;
  return {
    get() {
      const t0 = performance.now();
      let s = 0;
      for (let i = 0; i < BATCH; i++) s += map.get(keys[rnd[p++ & RAND_MASK]!]!)!.length;
      const dt = performance.now() - t0;
      SINK += s;
      return timed(dt);
    },
    set() {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) map.set(keys[rnd[p++ & RAND_MASK]!]!, value);
      return timed(performance.now() - t0);
    },
  };
}

/** Runs one multi-threaded configuration: `threads` workers share `totalOps` equally. */
async function runThreads(store: Store, threads: number, totalOps: number, o: { nKeys: number; valueBytes: number; getPct: number; warmupOps: number }): Promise<ThreadRun> {
  const flag = new SharedArrayBuffer(4);
  const handle = store.handle();
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  const done: Promise<WorkerOutput>[] = [];
  for (let t = 0; t < threads; t++) {
    const input: WorkerInput = {
      kind: 'shardcache-micro',
      handle,
      ops: totalOps / threads,
      warmupOps: o.warmupOps,
      getPct: o.getPct,
      nKeys: o.nKeys,
      valueBytes: o.valueBytes,
      seed: 0x1234567 + t * 7919,
      flag,
    };
    const w = new Worker(new URL('./micro-worker.ts', import.meta.url), { workerData: input });
    workers.push(w);
    let onReady!: () => void;
    ready.push(new Promise<void>((r) => (onReady = r)));
    done.push(
      new Promise<WorkerOutput>((resolve, reject) => {
        w.on('message', (m: 'ready' | WorkerOutput) => (m === 'ready' ? onReady() : resolve(m)));
        w.on('error', reject);
        w.on('exit', (code) => reject(new Error(`micro worker exited with code ${code} before reporting`)));
      }),
    );
  }
  await Promise.all(ready);
  const f = new Int32Array(flag);
  Atomics.store(f, 0, 1);
  Atomics.notify(f, 0);
  const perWorker = await Promise.all(done);
  await Promise.all(workers.map((w) => w.terminate()));
  const ms = Math.max(...perWorker.map((r) => r.ms));
  for (const r of perWorker) SINK += r.sink;
  return { threads, totalOps, ms, opsPerSec: (totalOps / ms) * 1000, perWorker };
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function pad(s: string, n: number, left = false): string {
  return left ? s.padEnd(n) : s.padStart(n);
}

export async function runMicro(opts: MicroOptions = {}): Promise<MicroResult> {
  const quick = opts.quick ?? false;
  const parts = opts.parts ?? ['ops', 'threads'];
  const nKeys = quick ? 20_000 : 100_000;
  const timeMs = opts.time ?? (quick ? 200 : 1000);
  // Capacity: every implementation is bounded at the same entry count, with 10% headroom over the
  // preloaded keys because the store splits its bound evenly over shards and the keys' hashes do
  // not split exactly evenly; nothing is evicted in any implementation.
  const capacity = Math.ceil(nKeys * 1.1);

  const keyStrings: string[] = [];
  const keyBufs: Buffer[] = [];
  for (let i = 0; i < nKeys; i++) {
    const s = keyString(i);
    keyStrings.push(s);
    keyBufs.push(Buffer.from(s, 'latin1'));
  }
  const rnd = randomIndexes(1 << RAND_BITS, nKeys, 0xc0ffee);

  const load0 = loadavg()[0]!;
  const rows = parts.includes('ops') ? await runOpsPart(nKeys, capacity, timeMs, keyStrings, keyBufs, rnd) : [];
  const threads = parts.includes('threads') ? await runThreadsPart(quick, nKeys, capacity, keyBufs) : null;
  // Other processes on the machine skew every number here; the load average says whether there were any.
  console.log(`load average (1 min) before ${load0.toFixed(2)}, after ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs`);
  return { config: { keys: nKeys, keyBytes: 16, valueBytes: VALUE_SIZES, batch: BATCH, timeMs, shards: SHARDS, policy: POLICY }, rows, threads };
}

async function runOpsPart(nKeys: number, capacity: number, timeMs: number, keyStrings: string[], keyBufs: Buffer[], rnd: Uint32Array): Promise<MicroRow[]> {
  const bench = new Bench({ name: 'shardcache micro', time: timeMs, warmupTime: Math.min(250, timeMs), iterations: 16 });
  const labels = new Map<string, { impl: Impl; op: Op; valueBytes: number }>();
  const stores: Store[] = [];
  for (const vb of VALUE_SIZES) {
    const preload = makeValue(vb, 1);
    const overwrite = makeValue(vb, 2);
    const store = Store.create({ shards: SHARDS, policy: POLICY, maxEntries: capacity });
    const lru = new LRUCache<string, Buffer>({ max: capacity });
    const map = new Map<string, Buffer>();
    for (let i = 0; i < nKeys; i++) {
      store.set(keyBufs[i]!, preload);
      // Map and lru-cache hold a reference: each key gets its own Buffer, as real values would.
      const v = Buffer.from(preload);
      lru.set(keyStrings[i]!, v);
      map.set(keyStrings[i]!, v);
    }
    if (store.stats().keys !== nKeys || lru.size !== nKeys) throw new Error('preload lost keys (capacity too small?)');
    stores.push(store);
    const impls: [Impl, Record<Op, () => FnReturnedObject>][] = [
      ['shardcache', storeTasks(store, keyBufs, overwrite, rnd)],
      ['lru-cache', lruTasks(lru, keyStrings, overwrite, rnd)],
      ['Map', mapTasks(map, keyStrings, overwrite, rnd)],
    ];
    for (const op of ['get', 'set'] as const) {
      for (const [impl, tasks] of impls) {
        const name = `${op} ${vb}B ${impl}`;
        labels.set(name, { impl, op, valueBytes: vb });
        bench.add(name, tasks[op], { async: false });
      }
    }
  }

  console.log(`shardcache micro: ${nKeys.toLocaleString('en-US')} preloaded 16-byte keys per instance, capacity ${capacity.toLocaleString('en-US')} entries,`);
  console.log(`store: ${SHARDS} shards, ${POLICY}; tinybench ${timeMs} ms per task, ${BATCH} ops per sample; node ${process.version}, ${cpus().length} CPUs`);
  await bench.run();

  const rows: MicroRow[] = [];
  for (const t of bench.tasks as Task[]) {
    const l = labels.get(t.name)!;
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`task ${t.name}: ${r.state}${r.state === 'errored' ? ': ' + r.error.message : ''}`);
    const ms = r.latency.p50;
    rows.push({ ...l, opsPerSec: 1000 / ms, nsPerOp: ms * 1e6, meanNsPerOp: r.latency.mean * 1e6, rme: r.latency.rme, samples: r.latency.samplesCount, ratioToMap: 0 });
  }
  for (const row of rows) {
    const base = rows.find((x) => x.impl === 'Map' && x.op === row.op && x.valueBytes === row.valueBytes)!;
    row.ratioToMap = row.opsPerSec / base.opsPerSec;
  }
  for (const st of stores.map((x) => x.stats())) {
    if (st.misses !== 0 || st.evicted !== 0) throw new Error(`store had ${st.misses} misses and ${st.evicted} evictions; every get should hit`);
  }

  console.log('');
  console.log(`${pad('op', 4, true)} ${pad('value', 6)}  ${pad('impl', 11, true)} ${pad('ops/s', 12)} ${pad('ns/op', 8)} ${pad('mean ns', 8)} ${pad('±%', 6)} ${pad('vs Map', 7)}`);
  for (const r of rows) {
    console.log(
      `${pad(r.op, 4, true)} ${pad(r.valueBytes === 1024 ? '1KiB' : `${r.valueBytes}B`, 6)}  ${pad(r.impl, 11, true)} ${pad(fmtInt(r.opsPerSec), 12)} ${pad(r.nsPerOp.toFixed(0), 8)} ${pad(r.meanNsPerOp.toFixed(0), 8)} ${pad(r.rme.toFixed(1), 6)} ${pad(r.ratioToMap.toFixed(2) + 'x', 7)}`,
    );
  }
  console.log('ops/s and ns/op come from the median batch of 1000 ops; mean ns and ±% (relative margin of error of the mean) from all batches.');
  console.log('Keys: pre-built Buffers for shardcache; pre-built strings for Map and lru-cache (their usual keying).');
  console.log('shardcache get returns a fresh Buffer copied out of shared memory and set copies the bytes in;');
  console.log('Map and lru-cache store and return references to JS heap objects (no copy).');
  return rows;
}

/** Two worker threads against one, doing the same total work on one shared store. */
async function runThreadsPart(quick: boolean, nKeys: number, capacity: number, keyBufs: Buffer[]): Promise<NonNullable<MicroResult['threads']>> {
  const threadOps = quick ? 400_000 : 4_000_000;
  const getPct = 80;
  const tvb = 100;
  const tstore = Store.create({ shards: SHARDS, policy: POLICY, maxEntries: capacity });
  const tval = makeValue(tvb, 1);
  for (let i = 0; i < nKeys; i++) tstore.set(keyBufs[i]!, tval);
  const to = { nKeys, valueBytes: tvb, getPct, warmupOps: quick ? 50_000 : 200_000 };
  const one = await runThreads(tstore, 1, threadOps, to);
  const two = await runThreads(tstore, 2, threadOps, to);
  const speedup = two.opsPerSec / one.opsPerSec;
  console.log('');
  console.log(`threads: ${fmtInt(threadOps)} ops in total (${getPct}% get / ${100 - getPct}% set, random keys, ${tvb}-byte values) on one shared store`);
  console.log(`${pad('threads', 7)} ${pad('ops/thread', 11)} ${pad('wall ms', 9)} ${pad('thread CPU ms', 16)} ${pad('aggregate ops/s', 16)}`);
  for (const r of [one, two]) {
    const cpu = r.perWorker.map((w) => w.cpuMs.toFixed(0)).join(' + ');
    console.log(`${pad(String(r.threads), 7)} ${pad(fmtInt(r.totalOps / r.threads), 11)} ${pad(r.ms.toFixed(0), 9)} ${pad(cpu, 16)} ${pad(fmtInt(r.opsPerSec), 16)}`);
  }
  const cpuNs = (r: ThreadRun) => (r.perWorker.reduce((a, w) => a + w.cpuMs, 0) * 1e6) / r.totalOps;
  console.log(`2-thread speedup: ${speedup.toFixed(2)}x wall (ideal 2x on ${cpus().length} CPUs)`);
  console.log(`thread CPU per op: 1 thread ${cpuNs(one).toFixed(0)} ns, 2 threads ${cpuNs(two).toFixed(0)} ns (the rise is lock and cache-line contention);`);
  console.log('wall time far above thread CPU time means the threads waited for a core (other processes) or parked on a shard lock');
  if (SINK === -1) console.log('');
  return { getPct, valueBytes: tvb, oneThread: one, twoThreads: two, speedup };
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.main) {
  const time = argValue('--time');
  const only = argValue('--only') as 'ops' | 'threads' | undefined;
  await runMicro({ quick: process.argv.includes('--quick'), time: time === undefined ? undefined : Number(time), parts: only === undefined ? undefined : [only] });
}
