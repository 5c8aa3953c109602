/**
 * Views over the server-wide SharedArrayBuffer laid out in native-layout/server.ts: global
 * counters, one stats line per worker, and the channel subscriber-count table PUBLISH reads.
 */
import { ChannelSlot, CHANNEL_SLOTS, MAX_SHARDS, MAX_WORKERS, serverStateLayout, ServerGlobals, SLOT_CHANNEL, SLOT_PATTERN, SLOT_SHARD_CHANNEL, WorkerStats } from '../../native-layout/server.ts';
import { hash32 } from '../store/hash.ts';
import { LOCK_OWNER, lockWord, takeOverWord, unlockWord } from '../store/lock.ts';

const G = ServerGlobals.fields;
const W = WorkerStats.fields;
const C = ChannelSlot.fields;
const L = serverStateLayout();
const SLOT_I32 = ChannelSlot.size / 4;
const CHANNEL_LOCK_I32 = (L.globals + G.channelLock.offset) / 4;
const CHANNEL_OWNER_I32 = (L.globals + G.channelLockOwner.offset) / 4;
const CHANNEL_RECOVERING_I32 = (L.globals + G.channelRecovering.offset) / 4;
const CHANNELS_I32 = (L.globals + G.channels.offset) / 4;
const PATTERNS_I32 = (L.globals + G.patterns.offset) / 4;
const UNCOUNTED_I32 = (L.globals + G.uncounted.offset) / 4;
const SHARD_CHANNELS_I32 = (L.globals + G.shardChannels.offset) / 4;
const WATCHES_I32 = L.watches / 4;
/** The counter of each slot kind, indexed by kind. */
const KIND_COUNTER_I32: number[] = [];
KIND_COUNTER_I32[SLOT_CHANNEL] = CHANNELS_I32;
KIND_COUNTER_I32[SLOT_PATTERN] = PATTERNS_I32;
KIND_COUNTER_I32[SLOT_SHARD_CHANNEL] = SHARD_CHANNELS_I32;
/** Mixed into the hashes of each kind, so a channel, a pattern and a shard channel of one name are three slots. */
const KIND_SALT: number[] = [];
KIND_SALT[SLOT_CHANNEL] = 0;
KIND_SALT[SLOT_PATTERN] = 0x9e3779b9;
KIND_SALT[SLOT_SHARD_CHANNEL] = 0x85ebca6b;
const CHANNEL_MASK = CHANNEL_SLOTS - 1;
/** Int32 index of each global counter, computed once (peek() runs on every request). */
const GLOBAL_I32: Record<GlobalCounter, number> = Object.fromEntries(
  (['clients', 'monitors', 'trackers', 'opsPerSec', 'clientIds', 'lastSave', 'statsResetAt', 'pauseMode'] as const).map((n) => [n, (L.globals + G[n].offset) / 4]),
) as Record<GlobalCounter, number>;

/** Float64 index of each sampled rate. */
const RATE_F64: Record<GlobalRate, number> = { netInPerSec: (L.globals + G.netInPerSec.offset) / 8, netOutPerSec: (L.globals + G.netOutPerSec.offset) / 8 };

export type GlobalCounter = 'clients' | 'monitors' | 'trackers' | 'opsPerSec' | 'clientIds' | 'lastSave' | 'statsResetAt' | 'pauseMode';
export type WorkerCounter = 'connections' | 'connectionsReceived' | 'rejected' | 'blocked' | 'adopted' | 'monitors' | 'trackers' | 'expireCapped' | 'trackedKeys' | 'channelChanges' | 'evictedClients';
export type WorkerTotal = 'commands' | 'netIn' | 'netOut' | 'expireUs' | 'expireStale' | 'clientMemory' | 'clientMemoryTop';
/** Per-second rates the main thread samples (f64 globals). */
export type GlobalRate = 'netInPerSec' | 'netOutPerSec';

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

  get(name: GlobalCounter): number {
    return Atomics.load(this.i32, GLOBAL_I32[name]);
  }
  /**
   * A counter read without Atomics, for the conditions a worker polls between requests (CLIENT
   * PAUSE, MONITORs, tracking clients): Atomics.load is a call into a builtin here, which V8
   * does not inline, and the poll needs no ordering of its own. An aligned Int32 read is never
   * torn, and a request sent after the reply to CLIENT PAUSE, MONITOR or CLIENT TRACKING on
   * another worker reaches this one after that worker's Atomics store, so its poll sees it.
   */
  peek(name: GlobalCounter): number {
    return this.i32[GLOBAL_I32[name]]!;
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
  workerPut(worker: number, name: WorkerCounter, v: number): void {
    Atomics.store(this.i32, this.wi(worker, W[name]), v);
  }
  /**
   * A dead worker's shares of what the workers hold together, which went with it: its tracking
   * table's size and its clients' memory (the main thread, before its replacement starts).
   */
  forgetWorkerShares(worker: number): void {
    this.workerPut(worker, 'trackedKeys', 0);
    this.workerTotalSet(worker, 'clientMemory', 0);
    this.workerTotalSet(worker, 'clientMemoryTop', 0);
  }
  /** Float64 index of one of a worker's f64 totals. */
  private wf(worker: number, name: WorkerTotal): number {
    return (L.workers + worker * WorkerStats.size + W[name].offset) / 8;
  }
  /** Adds to one of this worker's own f64 totals (single writer: the worker itself). */
  workerTotalAdd(worker: number, name: WorkerTotal, d: number): void {
    const i = this.wf(worker, name);
    this.f64[i] = this.f64[i]! + d;
  }
  workerTotal(worker: number, name: WorkerTotal): number {
    return this.f64[this.wf(worker, name)]!;
  }
  workerTotalSet(worker: number, name: WorkerTotal, v: number): void {
    this.f64[this.wf(worker, name)] = v;
  }
  rate(name: GlobalRate): number {
    return this.f64[RATE_F64[name]]!;
  }
  /** Single writer: the main thread's sampler. */
  setRate(name: GlobalRate, v: number): void {
    this.f64[RATE_F64[name]] = v;
  }
  /**
   * Counts a post this worker made on the bus; returns its number. Raised after the post, so a
   * reader that sees the number finds the message already in its port's queue.
   */
  busPosted(worker: number): number {
    return Atomics.add(this.i32, this.wi(worker, W.busPosts), 1) + 1;
  }
  /** Posts `worker` made on the bus so far. */
  busPosts(worker: number): number {
    return Atomics.load(this.i32, this.wi(worker, W.busPosts));
  }
  /** A change in the WATCH registrations `worker`'s clients hold on `shard`. */
  watchRegAdd(worker: number, shard: number, d: number): void {
    Atomics.add(this.i32, WATCHES_I32 + worker * MAX_SHARDS + shard, d);
  }

  /** A dead worker's WATCH registrations, [shard, count], zeroed as they are read (main thread). */
  takeWatchRegs(worker: number): [number, number][] {
    const out: [number, number][] = [];
    for (let s = 0; s < MAX_SHARDS; s++) {
      const n = Atomics.exchange(this.i32, WATCHES_I32 + worker * MAX_SHARDS + s, 0);
      if (n > 0) out.push([s, n]);
    }
    return out;
  }

  sum(name: WorkerCounter, workers: number): number {
    let n = 0;
    for (let w = 0; w < workers; w++) n += this.workerGet(w, name);
    return n;
  }
  total(name: WorkerTotal, workers: number): number {
    let n = 0;
    for (let w = 0; w < workers; w++) n += this.workerTotal(w, name);
    return n;
  }
  resetTotals(worker: number): void {
    for (const f of ['commands', 'netIn', 'netOut', 'expireUs', 'expireStale'] as const) this.workerTotalSet(worker, f, 0);
    Atomics.store(this.i32, this.wi(worker, W.connectionsReceived), 0);
    Atomics.store(this.i32, this.wi(worker, W.rejected), 0);
    Atomics.store(this.i32, this.wi(worker, W.expireCapped), 0);
    Atomics.store(this.i32, this.wi(worker, W.evictedClients), 0);
  }

  /**
   * Adds `d` to the subscriber count of `channel` across all workers; returns the new count. A
   * channel whose count drops to 0 gives its slot back. Returns 0 without counting when the
   * table is full (CHANNEL_SLOTS channels with subscribers at once).
   */
  channelAdd(channel: Uint8Array, d: number, kind = SLOT_CHANNEL): number {
    const [a, b] = slotHashes(channel, kind);
    return this.channelAddHashed(a, b, kind, d);
  }

  /** channelAdd by the slot's hashes (slotHashes). */
  channelAddHashed(a: number, b: number, kind: number, d: number): number {
    this.lockChannels();
    try {
      return this.channelAddLocked(a, b, kind, d);
    } finally {
      this.unlockChannels();
    }
  }

  /**
   * A worker's change to the count of slot (a, b): returns the change's number (the worker's
   * WorkerStats.channelChanges, raised with the count under the same lock), which its message
   * telling the main thread carries, so a rebuild of the table (ChannelLedger) can tell the
   * changes it was built from from those still in flight.
   */
  workerChannelAdd(worker: number, a: number, b: number, kind: number, d: number): number {
    this.lockChannels();
    try {
      this.channelAddLocked(a, b, kind, d);
      const at = this.wi(worker, W.channelChanges);
      const n = this.i32[at]! + 1;
      Atomics.store(this.i32, at, n);
      return n;
    } finally {
      this.unlockChannels();
    }
  }

  lockChannels(): void {
    lockWord(this.i32, CHANNEL_LOCK_I32, CHANNEL_OWNER_I32, LOCK_OWNER);
  }

  unlockChannels(): void {
    unlockWord(this.i32, CHANNEL_LOCK_I32, CHANNEL_OWNER_I32);
  }

  /**
   * Takes over channelLock from the thread with mark `dead` (a threadId + 1), which the caller
   * knows has stopped; true if that thread held it, and then the caller holds it (unlockChannels
   * releases it). The table may be half-changed: the caller rebuilds it.
   */
  takeOverChannelLockOf(dead: number): boolean {
    return takeOverWord(this.i32, CHANNEL_LOCK_I32, CHANNEL_OWNER_I32, dead);
  }

  /**
   * channelAddHashed with channelLock held. A count never goes below zero, except while
   * recovering (setChannelRecoveringLocked): then a slot may hold a negative count until the
   * changes it lacks arrive, so that they may apply in any order.
   */
  channelAddLocked(a: number, b: number, kind: number, d: number): number {
    let i = this.findChannelLocked(a, b);
    const recovering = this.i32[CHANNEL_RECOVERING_I32] !== 0;
    if (i < 0) {
      if (d === 0 || (d < 0 && !recovering)) return 0;
      i = this.claimChannelLocked(a, b, kind);
      if (i < 0) {
        if (d > 0) Atomics.add(this.i32, UNCOUNTED_I32, d);
        return 0;
      }
    }
    const n = this.i32[i + C.count.index]! + d;
    if (n > 0 || (n < 0 && recovering)) Atomics.store(this.i32, i + C.count.index, n);
    else this.removeChannelLocked(i, kind);
    return Math.max(n, 0);
  }

  /** Recovery mode on or off (see channelAddLocked); the caller holds channelLock. */
  setChannelRecoveringLocked(on: boolean): void {
    Atomics.store(this.i32, CHANNEL_RECOVERING_I32, on ? 1 : 0);
  }

  /**
   * Empties the table and counts `entries` (slot hashes, kind and subscribers; entries of one
   * slot add up) in it afresh, for a table a dead thread may have left half-changed. The caller
   * holds channelLock. `uncounted` only grows: an entry that finds no room adds to it.
   */
  rebuildChannelsLocked(entries: Iterable<{ a: number; b: number; kind: number; n: number }>): void {
    const first = L.channels / 4;
    this.i32.fill(0, first, first + CHANNEL_SLOTS * SLOT_I32);
    for (const k of [SLOT_CHANNEL, SLOT_PATTERN, SLOT_SHARD_CHANNEL]) Atomics.store(this.i32, KIND_COUNTER_I32[k]!, 0);
    for (const e of entries) if (e.n > 0) this.channelAddLocked(e.a, e.b, e.kind, e.n);
  }

  /** Subscribers of `channel` (a shard channel for SLOT_SHARD_CHANNEL) on all workers. */
  channelCount(channel: Uint8Array, kind = SLOT_CHANNEL): number {
    // No channel of the kind subscribed anywhere: nothing to search for (under the lock).
    if (Atomics.load(this.i32, KIND_COUNTER_I32[kind]!) === 0) return 0;
    const [a, b] = slotHashes(channel, kind);
    this.lockChannels();
    try {
      const i = this.findChannelLocked(a, b);
      return i < 0 ? 0 : Math.max(0, this.i32[i + C.count.index]!);
    } finally {
      this.unlockChannels();
    }
  }

  /**
   * Whether a channel with `channelCount` subscribers may still reach somebody on some worker:
   * it has subscribers, or some pattern does (patterns are matched where they live, and never
   * match a shard channel), or the table was ever too full to count a subscription, or it is in
   * recovery (a subscription acknowledged before a rebuild may not be back in it yet). False
   * means nobody anywhere can hear it.
   */
  mayBeHeard(channelCount: number, kind = SLOT_CHANNEL): boolean {
    return (
      channelCount > 0 ||
      (kind === SLOT_CHANNEL && Atomics.load(this.i32, PATTERNS_I32) > 0) ||
      Atomics.load(this.i32, UNCOUNTED_I32) > 0 ||
      Atomics.load(this.i32, CHANNEL_RECOVERING_I32) !== 0
    );
  }

  /** Channels with at least one subscriber on any worker (pubsub_channels). */
  activeChannels(): number {
    return Atomics.load(this.i32, CHANNELS_I32);
  }

  /** Patterns with at least one subscriber on any worker (PUBSUB NUMPAT, pubsub_patterns). */
  activePatterns(): number {
    return Atomics.load(this.i32, PATTERNS_I32);
  }

  /** Shard channels with at least one subscriber on any worker (pubsubshard_channels). */
  activeShardChannels(): number {
    return Atomics.load(this.i32, SHARD_CHANNELS_I32);
  }

  /** Int32 index of slot k. */
  private slot(k: number): number {
    return L.channels / 4 + (k & CHANNEL_MASK) * SLOT_I32;
  }

  /** The slot of the channel with hashes (a, b), or -1. The caller holds channelLock. */
  private findChannelLocked(a: number, b: number): number {
    for (let k = 0; k < CHANNEL_SLOTS; k++) {
      const i = this.slot(a + k);
      const ha = this.u32[i + C.hashA.index]!;
      if (ha === 0) return -1;
      if (ha === a && this.u32[i + C.hashB.index] === b) return i;
    }
    return -1;
  }

  /** An empty slot on the probe path of `a`, taken for (a, b) with count 0; -1 if full. */
  private claimChannelLocked(a: number, b: number, kind: number): number {
    for (let k = 0; k < CHANNEL_SLOTS; k++) {
      const i = this.slot(a + k);
      if (this.u32[i + C.hashA.index] !== 0) continue;
      this.u32[i + C.hashA.index] = a;
      this.u32[i + C.hashB.index] = b;
      Atomics.store(this.i32, i + C.count.index, 0);
      Atomics.add(this.i32, KIND_COUNTER_I32[kind]!, 1);
      return i;
    }
    return -1;
  }

  /**
   * Empties slot i by backward shift (no tombstones): each later slot of the same probe run whose
   * home is not between the hole and itself moves into the hole, so lookups never stop early.
   */
  private removeChannelLocked(i: number, kind: number): void {
    const u = this.u32;
    const first = L.channels / 4;
    let hole = (i - first) / SLOT_I32;
    for (let j = (hole + 1) & CHANNEL_MASK; j !== hole; j = (j + 1) & CHANNEL_MASK) {
      const sj = this.slot(j);
      const ha = u[sj + C.hashA.index]!;
      if (ha === 0) break;
      const home = ha & CHANNEL_MASK;
      if (((j - home) & CHANNEL_MASK) >= ((j - hole) & CHANNEL_MASK)) {
        const sh = this.slot(hole);
        u[sh + C.hashA.index] = ha;
        u[sh + C.hashB.index] = u[sj + C.hashB.index]!;
        Atomics.store(this.i32, sh + C.count.index, this.i32[sj + C.count.index]!);
        hole = j;
      }
    }
    const sh = this.slot(hole);
    u[sh + C.hashA.index] = 0;
    u[sh + C.hashB.index] = 0;
    Atomics.store(this.i32, sh + C.count.index, 0);
    Atomics.sub(this.i32, KIND_COUNTER_I32[kind]!, 1);
  }
}

/** A name's two slot hashes, salted by kind so a channel, a pattern and a shard channel of one name are three slots. */
export function slotHashes(name: Uint8Array, kind: number): [number, number] {
  const salt = KIND_SALT[kind]!;
  return [(hash32(name) ^ salt) >>> 0 || 1, (fnv1a(name) ^ salt) >>> 0];
}

/** FNV-1a: a second hash independent of hash32, to tell apart channels whose hash32 collide. */
function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 16777619);
  return h >>> 0;
}
