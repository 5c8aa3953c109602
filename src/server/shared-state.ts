/**
 * Views over the server-wide SharedArrayBuffer laid out in native-layout/server.ts: global
 * counters, one stats line per worker, and the channel subscriber-count table PUBLISH reads.
 */
import { ChannelSlot, CHANNEL_SLOTS, MAX_WORKERS, serverStateLayout, ServerGlobals, WorkerStats } from '../../native-layout/server.ts';
import { hash32 } from '../store/hash.ts';

const G = ServerGlobals.fields;
const W = WorkerStats.fields;
const C = ChannelSlot.fields;
const L = serverStateLayout();
const SLOT_I32 = ChannelSlot.size / 4;
const PAUSE_MODE_I32 = (L.globals + G.pauseMode.offset) / 4;
/** Int32 index of each global counter, computed once (get() runs on every request). */
const GLOBAL_I32: Record<GlobalCounter, number> = Object.fromEntries(
  (['clients', 'monitors', 'trackers', 'patternSubs', 'opsPerSec', 'clientIds', 'lastSave', 'statsResetAt', 'pauseMode'] as const).map((n) => [n, (L.globals + G[n].offset) / 4]),
) as Record<GlobalCounter, number>;

export type GlobalCounter = 'clients' | 'monitors' | 'trackers' | 'patternSubs' | 'opsPerSec' | 'clientIds' | 'lastSave' | 'statsResetAt' | 'pauseMode';
export type WorkerCounter = 'connections' | 'connectionsReceived' | 'rejected' | 'blocked' | 'adopted';
export type WorkerTotal = 'commands' | 'netIn' | 'netOut';

export class SharedState {
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly u32: Uint32Array;
  private readonly f64: Float64Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(L.bytes);
    this.i32 = new Int32Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }

  /** CLIENT PAUSE mode (0 none), read on every request: a fixed index, no name lookup. */
  pauseMode(): number {
    return Atomics.load(this.i32, PAUSE_MODE_I32);
  }

  get(name: GlobalCounter): number {
    return Atomics.load(this.i32, GLOBAL_I32[name]);
  }
  add(name: GlobalCounter, d: number): number {
    return Atomics.add(this.i32, GLOBAL_I32[name], d) + d;
  }
  put(name: GlobalCounter, v: number): void {
    Atomics.store(this.i32, GLOBAL_I32[name], v);
  }

  /** CLIENT PAUSE end time; written by one client command at a time, read by every dispatch. */
  get pauseUntil(): number {
    return this.f64[(L.globals + G.pauseUntil.offset) / 8]!;
  }
  set pauseUntil(v: number) {
    this.f64[(L.globals + G.pauseUntil.offset) / 8] = v;
  }

  private wi(worker: number, f: { offset: number }): number {
    if (worker < 0 || worker >= MAX_WORKERS) throw new RangeError('worker index out of range');
    return (L.workers + worker * WorkerStats.size + f.offset) / 4;
  }
  workerAdd(worker: number, name: WorkerCounter, d: number): void {
    Atomics.add(this.i32, this.wi(worker, W[name]), d);
  }
  workerGet(worker: number, name: WorkerCounter): number {
    return Atomics.load(this.i32, this.wi(worker, W[name]));
  }
  /** Adds to one of this worker's own f64 totals (single writer: the worker itself). */
  workerTotalAdd(worker: number, name: WorkerTotal, d: number): void {
    const i = (L.workers + worker * WorkerStats.size + W[name].offset) / 8;
    this.f64[i] = this.f64[i]! + d;
  }
  sum(name: WorkerCounter, workers: number): number {
    let n = 0;
    for (let w = 0; w < workers; w++) n += this.workerGet(w, name);
    return n;
  }
  total(name: WorkerTotal, workers: number): number {
    let n = 0;
    for (let w = 0; w < workers; w++) n += this.f64[(L.workers + w * WorkerStats.size + W[name].offset) / 8]!;
    return n;
  }
  resetTotals(worker: number): void {
    for (const f of ['commands', 'netIn', 'netOut'] as const) this.f64[(L.workers + worker * WorkerStats.size + W[f].offset) / 8] = 0;
    Atomics.store(this.i32, this.wi(worker, W.connectionsReceived), 0);
    Atomics.store(this.i32, this.wi(worker, W.rejected), 0);
  }

  /**
   * Adds `d` to the subscriber count of `channel` across all workers; returns the new count.
   * Slots are claimed with compareExchange on hashA, so two workers cannot take the same slot for
   * different channels; a second hash makes two channels sharing hashA distinct.
   */
  channelAdd(channel: Uint8Array, d: number): number {
    const i = this.findChannel(channel, true);
    return i < 0 ? 0 : Atomics.add(this.i32, i + C.count.index, d) + d;
  }
  channelCount(channel: Uint8Array): number {
    const i = this.findChannel(channel, false);
    return i < 0 ? 0 : Atomics.load(this.i32, i + C.count.index);
  }
  private findChannel(channel: Uint8Array, claim: boolean): number {
    const a = hash32(channel) || 1;
    const b = fnv1a(channel) | 1;
    const base = L.channels / 4;
    for (let k = 0; k < CHANNEL_SLOTS; k++) {
      const i = base + ((a + k) & (CHANNEL_SLOTS - 1)) * SLOT_I32;
      const ha = Atomics.load(this.u32, i + C.hashA.index);
      if (ha === 0) {
        if (!claim) return -1;
        if (Atomics.compareExchange(this.u32, i + C.hashA.index, 0, a) !== 0) {
          k--;
          continue;
        }
        Atomics.store(this.u32, i + C.hashB.index, b);
        return i;
      }
      if (ha !== a) continue;
      // The claimer stores hashB right after hashA: wait out that window rather than misread it.
      let hb = Atomics.load(this.u32, i + C.hashB.index);
      while (hb === 0) hb = Atomics.load(this.u32, i + C.hashB.index);
      if (hb === b) return i;
    }
    return -1;
  }
}

/** FNV-1a: a second hash independent of hash32, to tell apart channels whose hash32 collide. */
function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 16777619);
  return h >>> 0;
}
