/**
 * The store: S shards (a power of two) addressed by hash32 of the key bytes. Every public method
 * takes the shard locks it needs (Shard's lock order: ascending shard id) and releases them before
 * returning. Keys and values are bytes; strings are accepted as UTF-8 for convenience.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { MAX_DATABASES, NIL_REF, PolicyId, ValueEncoding } from '../../native-layout/shard.ts';
import { accessSeconds, lfuDecayed, lfuMinutes, setAccess } from './policy.ts';
import { OpType } from '../../native-layout/oplog.ts';
import { ErrorCode, scError } from '../errors.ts';
import type { ShardcacheError } from '../errors.ts';
import { hash32, shardOf, watchWord } from './hash.ts';
import { HW } from './memory.ts';
import type { ShardBuffers } from './memory.ts';
import { addLongDouble, formatLongDouble, MAX_CHARS, parseLongDouble, ZERO } from './long-double.ts';
import type { LongDouble } from './long-double.ts';
import { copyInto } from '../bytes.ts';
import { addInt64, parseInt64, writeInt } from './numbers.ts';
import { OpLog } from './oplog.ts';
import type { OpLogHandle } from './oplog.ts';
import { resolvePolicy } from './policies.ts';
import { prefetch, PREFETCH_MAX } from './prefetch.ts';
import { forEachKeyLocked, scanShardLocked } from './scan.ts';
import { verifyShardLocked } from './verify.ts';
import { chunkBytes } from './slab.ts';
import { encodeDump } from './dump.ts';
import { bitAt, combineBits, setBitAt } from './bits.ts';
import type { BitOp } from './bits.ts';
import {
  EXPIRE_GT,
  EXPIRE_LT,
  EXPIRE_NX,
  EXPIRE_XX,
  MAX_BULK,
  SET_GET,
  SET_KEEPTTL,
  SET_NX,
  SET_XX,
  Shard,
} from './shard.ts';
import type { ShardStats } from './shard.ts';

export type Bytes = Uint8Array | string;

/** Receives a value's bytes in place (a reply writer copying them into its output). */
export interface ValueSink {
  bulkFrom(src: Uint8Array, off: number, len: number): void;
}

export interface StoreOptions {
  /** Shard count, a power of two (default 16). */
  shards?: number;
  /** A policy name (lru, lfu, fifo, sieve, s3fifo) or a Redis maxmemory-policy name. */
  policy?: string;
  /** Memory bound in bytes for the whole store, split evenly over shards; 0 = none. */
  maxMemory?: number;
  /** Entry bound for the whole store, split over shards; 0 = none. */
  maxEntries?: number;
  lfuLogFactor?: number;
  lfuDecayTime?: number;
  slabGrowthFactor?: number;
  /** Op-log ring: an existing one, or its size in bytes to create one. */
  oplog?: OpLog | { bytes: number };
  /** Clock in Unix ms; tests drive TTLs with it. */
  clock?: () => number;
  seed?: number;
}

export interface StoreHandle {
  readonly shards: readonly ShardBuffers[];
  readonly oplog: OpLogHandle | null;
}

export interface SetOptions {
  nx?: boolean;
  xx?: boolean;
  get?: boolean;
  keepTtl?: boolean;
  /** Relative seconds (EX), relative ms (PX), absolute seconds (EXAT), absolute ms (PXAT). */
  ex?: number;
  px?: number;
  exat?: number;
  pxat?: number;
}

export type ExpireCondition = 'NX' | 'XX' | 'GT' | 'LT';
/** One condition, or several that must all hold (Redis allows XX with GT or LT). */
export type ExpireConditions = ExpireCondition | readonly ExpireCondition[];

export interface ScanResult {
  cursor: number;
  keys: Buffer[];
}

const EMPTY = new Uint8Array(0);
const NUM_BUF = new Uint8Array(48);
/** prefetch's readsValue for lockKeys: every lookup reads its value, or none does. */
const PREFETCH_VALUES = new Uint8Array(PREFETCH_MAX).fill(1);
const PREFETCH_KEYS = new Uint8Array(PREFETCH_MAX);
const COND_BITS: Record<ExpireCondition, number> = { NX: EXPIRE_NX, XX: EXPIRE_XX, GT: EXPIRE_GT, LT: EXPIRE_LT };

function bytes(k: Bytes): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k) : k;
}

/**
 * A WATCHed key as it stood at WATCH (Store.watch), for EXEC (Store.watchTouchedLocked). It holds
 * a registration in its shard until Store.unwatch releases it.
 */
export interface WatchState {
  readonly shard: number;
  /** The key's watchWord: its hash with its database folded in, as the watch table keys it. */
  readonly word: number;
  /** The key's version in its shard's watch table, -1 when the table had no room for it. */
  readonly version: number;
  /** The shard's write count (ShardHeader.writeSeq), for a registration without a table slot. */
  readonly seq: number;
  readonly flushEpoch: number;
  /** Whether the key was live. */
  readonly present: boolean;
  /** Its expiry when it was live with a TTL, else 0. */
  readonly expiresAt: number;
  /** The key, when it was there but already expired (Redis multi.c watchedKey.expired), else null. */
  readonly expiredKey: Buffer | null;
  /** The key's database. */
  readonly db: number;
}

/** Index slots one step of the active expiry cycle examines under one lock hold. */
const EXPIRE_STEP = 64;
/** Index slots in batches without a key with a TTL that one cycle sweeps at most per shard. */
const EXPIRE_IDLE_MAX = 8192;

export class Store {
  readonly shards: Shard[];
  readonly shardMask: number;
  readonly oplog: OpLog | null;
  /** The database (SELECT number) this view reads and writes. */
  readonly db: number;
  now: () => number;
  /** Views of the other databases, sharing shards and clock; dbs[this.db] is this. */
  private readonly dbs: Store[];

  private constructor(shards: Shard[], oplog: OpLog | null, clock: () => number, db = 0, dbs?: Store[]) {
    this.shards = shards;
    this.shardMask = shards.length - 1;
    this.marks = new Uint8Array(shards.length);
    this.oplog = oplog;
    this.now = clock;
    this.db = db;
    this.dbs = dbs ?? [];
    this.dbs[db] = this;
    for (const s of shards) s.oplog = oplog;
  }

  /** The same store seen from database `n` (SELECT n), 0 <= n < MAX_DATABASES. */
  select(n: number): Store {
    if (!Number.isInteger(n) || n < 0 || n >= MAX_DATABASES) throw scError(ErrorCode.INVALID_ARG, 'ERR DB index is out of range');
    const have = this.dbs[n];
    if (have !== undefined) return have;
    const view = new Store(this.shards, this.oplog, this.now, n, this.dbs);
    return view;
  }

  static create(o: StoreOptions = {}): Store {
    const n = o.shards ?? 16;
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0 || n > 1024) {
      throw scError(ErrorCode.INVALID_ARG, 'ERR shards must be a power of two between 1 and 1024');
    }
    const { policy, mode } = resolvePolicy(o.policy ?? 'lru');
    const shards: Shard[] = [];
    for (let i = 0; i < n; i++) {
      shards.push(
        Shard.create(i, {
          policy,
          evictMode: mode,
          maxBytes: splitEven(o.maxMemory ?? 0, n, i),
          maxEntries: splitEven(o.maxEntries ?? 0, n, i),
          lfuLogFactor: o.lfuLogFactor ?? 10,
          lfuDecayTime: o.lfuDecayTime ?? 1,
          slabGrowthFactor: o.slabGrowthFactor ?? 1.25,
          seed: ((o.seed ?? 0x2545f491) + i * 0x9e3779b9) >>> 0,
        }),
      );
    }
    const oplog = o.oplog === undefined ? null : o.oplog instanceof OpLog ? o.oplog : OpLog.create(o.oplog);
    return new Store(shards, oplog, o.clock ?? Date.now);
  }

  /** Maps a store created on another thread (see handle()). */
  static attach(handle: StoreHandle, opts: { clock?: () => number } = {}): Store {
    const shards = handle.shards.map((b, i) => Shard.attach(i, b));
    const oplog = handle.oplog === null ? null : OpLog.attach(handle.oplog);
    return new Store(shards, oplog, opts.clock ?? Date.now);
  }

  /** A structured-cloneable description of the store's memory, to post to a worker. */
  handle(): StoreHandle {
    return { shards: this.shards.map((s) => s.buffers), oplog: this.oplog?.handle() ?? null };
  }

  /**
   * Registers this thread's listener for the hash of each key it changes (written, deleted,
   * expired, given or stripped of a TTL, moved), or removes it: the keys a command really
   * changed, for client-side caching's invalidations.
   */
  onWrite(fn: ((hash: number) => void) | null): void {
    for (const s of this.shards) s.onWrite = fn;
  }

  /** Registers this thread's listener for keys the store expires or evicts (see Shard.onDrop). */
  onDrop(fn: ((key: Buffer, db: number, evicted: boolean) => void) | null): void {
    for (const s of this.shards) s.onDrop = fn;
  }

  /** Registers this thread's listener for keys its writes create (see Shard.onCreate). */
  onCreate(fn: ((key: Buffer, db: number) => void) | null): void {
    for (const s of this.shards) s.onCreate = fn;
  }

  /** Frees nothing: the memory is reclaimed when no thread references the buffers. */
  close(): void {}

  shardFor(key: Uint8Array): Shard {
    return this.shards[shardOf(hash32(key), this.shardMask)]!;
  }

  /** Locks the distinct shards of `ids` in ascending order (lockShardsOf); returns `ids` for unlockShards. */
  lockShards(ids: number[]): number[] {
    this.lockShardsOf(ids, ids.length);
    return ids;
  }
  /**
   * A caller that already hashed a key (the dispatcher grouping a pipeline by shard) may pass
   * the hash for the next call on that exact key object; `hashOf` uses it once, then forgets it.
   */
  hint(key: Uint8Array | null, hash: number): void {
    this.hintKey = key;
    this.hintHash = hash;
  }
  private hintKey: Uint8Array | null = null;
  private hintHash = 0;
  private hashOf(k: Uint8Array): number {
    if (k === this.hintKey) {
      this.hintKey = null;
      return this.hintHash;
    }
    return hash32(k);
  }

  /**
   * Brings into the CPU cache what lookups of these key hashes will read, overlapping their cache
   * misses (store/prefetch.ts). `shardIds[i]` is shardOf(hashes[i]); `readsValue[i]` is nonzero
   * when lookup i will read the value. Needs no lock.
   */
  prefetch(hashes: Uint32Array, shardIds: readonly number[], readsValue: Uint8Array, n: number): void {
    prefetch(this.shards, hashes, shardIds, readsValue, n);
  }

  /**
   * Hashes keys[from], keys[from + step], … (n of them) once each into `hashes`, prefetches their
   * lookups (and their values, with readsValue) and locks their shards in ascending order: a
   * multi-key command then pays about one cache-miss latency per lookup phase rather than one
   * per key (prefetch.ts). unlockShards takes the result.
   */
  lockKeys(keys: readonly Uint8Array[], from: number, step: number, readsValue: boolean, hashes: Uint32Array): number[] {
    const n = hashes.length;
    const ids: number[] = [];
    for (let j = 0; j < n; j++) {
      const h = hash32(keys[from + j * step]!);
      hashes[j] = h;
      ids.push(shardOf(h, this.shardMask));
    }
    if (n > 1) this.prefetch(hashes, ids, readsValue ? PREFETCH_VALUES : PREFETCH_KEYS, n);
    return this.lockShards(ids);
  }

  /** Scratch for lockShardsOf and unlockShardsOf: one byte per shard, all zero between calls. */
  private readonly marks: Uint8Array;

  unlockShards(ids: number[]): void {
    this.unlockShardsOf(ids, ids.length);
  }

  /**
   * Locks the distinct shards of ids[0, n) in ascending order, the one lock order of the store;
   * unlockShardsOf(ids, n) releases them. Allocates nothing, so the request fast path can lock a
   * batch on every read.
   */
  lockShardsOf(ids: readonly number[], n: number): void {
    if (n === 1) return this.shards[ids[0]!]!.lock();
    const mark = this.marks;
    for (let i = 0; i < n; i++) mark[ids[i]!] = 1;
    for (let id = 0; id < mark.length; id++) {
      if (mark[id] !== 0) {
        mark[id] = 0;
        this.shards[id]!.lock();
      }
    }
  }

  /** Releases what lockShardsOf(ids, n) took, each shard once (the order of releases does not matter). */
  unlockShardsOf(ids: readonly number[], n: number): void {
    const mark = this.marks;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (mark[id] === 0) {
        mark[id] = 1;
        this.shards[id]!.unlock();
      }
    }
    for (let i = 0; i < n; i++) mark[ids[i]!] = 0;
  }

  // ---- strings -------------------------------------------------------------------------------

  // GET key
  get(key: Bytes): Buffer | null {
    const k = bytes(key);
    const h = this.hashOf(k);
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      const r = s.readLocked(k, h, this.now(), this.db);
      return r === NIL_REF ? null : s.valueCopy(r);
    } finally {
      s.unlock();
    }
  }

  /**
   * GET without an intermediate copy: hands the value's bytes to `sink` while the shard lock is
   * held (the sink must copy them before returning). Returns false when the key is missing.
   */
  getInto(key: Uint8Array, sink: ValueSink): boolean {
    return this.getIntoHashed(key, this.hashOf(key), sink);
  }

  /**
   * getInto for a caller that has hashed the key (hash32) already, and whose key may be the bytes
   * key[koff, koff + klen) of a larger buffer (a request in the parser's input): no view is made.
   */
  getIntoHashed(key: Uint8Array, h: number, sink: ValueSink, koff = 0, klen = key.length): boolean {
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      const r = s.readLocked(key, h, this.now(), this.db, koff, klen);
      if (r === NIL_REF) return false;
      sink.bulkFrom(s.m.a8, s.m.valOffset(r), s.m.valLen(r));
      return true;
    } finally {
      s.unlock();
    }
  }

  // SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
  /** Returns true/false for written/not written, or the old value (or null) with `get`. */
  set(key: Bytes, value: Bytes, opts?: SetOptions): boolean | Buffer | null {
    const k = bytes(key);
    const v = bytes(value);
    const h = this.hashOf(k);
    const s = this.shards[shardOf(h, this.shardMask)]!;
    let flags = 0;
    let expireAt = 0;
    const now = this.now();
    if (opts !== undefined) {
      if (opts.nx && opts.xx) throw scError(ErrorCode.SYNTAX);
      flags = (opts.nx ? SET_NX : 0) | (opts.xx ? SET_XX : 0) | (opts.get ? SET_GET : 0) | (opts.keepTtl ? SET_KEEPTTL : 0);
      expireAt = absoluteExpiry(opts, now, 'set');
      if (opts.keepTtl && expireAt !== 0) throw scError(ErrorCode.SYNTAX);
    }
    s.lock();
    try {
      const done = s.setLocked(k, h, this.db, v, flags, expireAt, now);
      if ((flags & SET_GET) !== 0) return s.lastOld;
      return done;
    } finally {
      s.unlock();
    }
  }

  /**
   * SET key value with an absolute expiry (0 for none), for a caller that has hashed the key
   * (hash32) already; key and value are the ranges input[koff, koff + klen) and
   * input[voff, voff + vlen) (a request in the parser's input), so no view is made.
   */
  setHashed(input: Uint8Array, h: number, koff: number, klen: number, voff: number, vlen: number, expireAt: number): void {
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      s.setLocked(input, h, this.db, input, 0, expireAt, this.now(), koff, klen, voff, vlen);
    } finally {
      s.unlock();
    }
  }

  // GETDEL key
  getDel(key: Bytes): Buffer | null {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.readLocked(k, h, now, this.db);
      if (r === NIL_REF) return null;
      const v = s.valueCopy(r);
      s.deleteLocked(s.lastSlot, r);
      s.emit(OpType.DEL, k, null, 0, 0, 0, this.db);
      return v;
    });
  }

  // GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
  getEx(key: Bytes, opts: { ex?: number; px?: number; exat?: number; pxat?: number; persist?: boolean } = {}): Buffer | null {
    const now = this.now();
    const expireAt = absoluteExpiry(opts, now, 'getex');
    this.getExEffect = null;
    return this.withKey(key, (s, k, h) => {
      const r = s.readLocked(k, h, now, this.db);
      if (r === NIL_REF) return null;
      const v = s.valueCopy(r);
      if (opts.persist) {
        if (s.m.expireAt(r) !== 0) {
          s.setExpireLocked(r, 0);
          s.emit(OpType.PERSIST, k, null, 0, 0, 0, this.db);
          this.getExEffect = 'persist';
        }
      } else if (expireAt !== 0) {
        if (expireAt <= now) {
          s.deleteLocked(s.lastSlot, r);
          s.emit(OpType.DEL, k, null, 0, 0, 0, this.db);
          this.getExEffect = 'del';
        } else {
          s.setExpireLocked(r, expireAt);
          s.emit(OpType.EXPIRE, k, null, expireAt, 0, 0, this.db);
          this.getExEffect = 'expire';
        }
      }
      return v;
    });
  }
  /** What the last getEx() did to its key besides reading it (the keyspace event to send). */
  getExEffect: 'persist' | 'expire' | 'del' | null = null;

  // INCRBY key increment (INCR, DECR, DECRBY are this with ±1 / a negated delta)
  incrBy(key: Bytes, delta: number | bigint): number | bigint {
    if (typeof delta === 'number' && !Number.isSafeInteger(delta)) throw scError(ErrorCode.NOT_INTEGER);
    const k = bytes(key);
    return this.incrByHashed(k, this.hashOf(k), 0, k.length, delta);
  }

  /** incrBy of key input[koff, koff + klen), whose hash is `h` (the request fast path). */
  incrByHashed(input: Uint8Array, h: number, koff: number, klen: number, delta: number | bigint): number | bigint {
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      const now = this.now();
      const r = s.lookupLocked(input, h, now, this.db, koff, klen);
      let cur: number | bigint = 0;
      if (r !== NIL_REF) {
        const m = s.m;
        const parsed = parseInt64(m.a8, m.valOffset(r), m.valLen(r));
        if (parsed === null) throw scError(ErrorCode.NOT_INTEGER);
        cur = parsed;
      }
      const next = addInt64(cur, delta);
      const n = writeInt(NUM_BUF, 0, next);
      s.putKeepTtlLocked(input, h, this.db, NUM_BUF, n, now, r, ValueEncoding.auto, koff, klen);
      if (s.oplog !== null) s.emit(OpType.INCRBY, input.subarray(koff, koff + klen), NUM_BUF.subarray(0, writeInt(NUM_BUF, 0, delta)), 0, 0, 0, this.db);
      return next;
    } finally {
      s.unlock();
    }
  }

  decrBy(key: Bytes, delta: number | bigint): number | bigint {
    if (typeof delta === 'bigint' && delta === -(2n ** 63n)) throw scError(ErrorCode.OVERFLOW);
    return this.incrBy(key, typeof delta === 'number' ? -delta : -delta);
  }

  // INCRBYFLOAT key increment
  incrByFloat(key: Bytes, incr: string | number): string {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      // A value too long to be a number is refused before it is decoded (string2ld's limit).
      if (r !== NIL_REF && s.m.valLen(r) > MAX_CHARS) throw scError(ErrorCode.NOT_FLOAT);
      // As Redis: the stored value is read, then the increment, then the sum is checked. An
      // infinite stored value is a float to string2ld (null here) whose every sum is refused.
      let cur: LongDouble | null = ZERO;
      if (r !== NIL_REF) {
        try {
          cur = parseLongDouble(s.m.a8.toString('latin1', s.m.valOffset(r), s.m.valOffset(r) + s.m.valLen(r)));
        } catch (e) {
          if ((e as ShardcacheError).code !== ErrorCode.NAN_OR_INF) throw e;
          cur = null;
        }
      }
      const d = parseLongDouble(typeof incr === 'number' ? String(incr) : incr);
      if (cur === null) throw scError(ErrorCode.NAN_OR_INF);
      const out = formatLongDouble(addLongDouble(cur, d));
      const b = Buffer.from(out, 'latin1');
      // Redis stores the sum as a string, never an integer (createStringObjectFromLongDouble).
      s.putKeepTtlLocked(k, h, this.db, b, b.length, now, r, ValueEncoding.string);
      s.emit(OpType.INCRBYFLOAT, k, Buffer.from(typeof incr === 'number' ? String(incr) : incr, 'latin1'), 0, 0, 0, this.db);
      return out;
    });
  }

  // APPEND key value
  /** `maxLen` bounds the result (the server's proto-max-bulk-len; MAX_BULK at most). */
  append(key: Bytes, value: Bytes, maxLen = MAX_BULK): number {
    const add = bytes(value);
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      const oldLen = r === NIL_REF ? 0 : s.m.valLen(r);
      if (oldLen + add.length > Math.min(maxLen, MAX_BULK)) throw scError(ErrorCode.TOO_LARGE);
      const joined = Buffer.allocUnsafe(oldLen + add.length);
      if (r !== NIL_REF) copyInto(joined, 0, s.m.a8, s.m.valOffset(r), oldLen);
      copyInto(joined, oldLen, add, 0, add.length);
      // Redis appends in place to an existing string only, which makes it raw.
      s.putKeepTtlLocked(k, h, this.db, joined, joined.length, now, r, r !== NIL_REF ? ValueEncoding.raw : ValueEncoding.auto);
      s.emit(OpType.APPEND, k, add, 0, 0, 0, this.db);
      return joined.length;
    });
  }

  // STRLEN key
  strlen(key: Bytes): number {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.readLocked(k, h, now, this.db);
      return r === NIL_REF ? 0 : s.m.valLen(r);
    });
  }

  // GETRANGE key start end
  getRange(key: Bytes, start: number, end: number): Buffer {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.readLocked(k, h, now, this.db);
      if (r === NIL_REF) return Buffer.alloc(0);
      const len = s.m.valLen(r);
      if (start < 0 && end < 0 && start > end) return Buffer.alloc(0);
      if (start < 0) start = len + start;
      if (end < 0) end = len + end;
      if (start < 0) start = 0;
      if (end < 0) end = 0;
      if (end >= len) end = len - 1;
      if (start > end || len === 0) return Buffer.alloc(0);
      const out = Buffer.allocUnsafe(end + 1 - start);
      copyInto(out, 0, s.m.a8, s.m.valOffset(r) + start, out.length);
      return out;
    });
  }

  // SETRANGE key offset value
  /** `maxLen` bounds the result, as for append. */
  setRange(key: Bytes, offset: number, value: Bytes, maxLen = MAX_BULK): number {
    const v = bytes(value);
    if (!Number.isInteger(offset) || offset < 0) throw scError(ErrorCode.OFFSET_RANGE);
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      const oldLen = r === NIL_REF ? 0 : s.m.valLen(r);
      if (v.length === 0) return oldLen;
      if (offset + v.length > Math.min(maxLen, MAX_BULK)) throw scError(ErrorCode.TOO_LARGE);
      const len = Math.max(oldLen, offset + v.length);
      const out = Buffer.alloc(len);
      if (r !== NIL_REF) copyInto(out, 0, s.m.a8, s.m.valOffset(r), oldLen);
      copyInto(out, offset, v, 0, v.length);
      s.putKeepTtlLocked(k, h, this.db, out, len, now, r, ValueEncoding.raw);
      s.emit(OpType.SETRANGE, k, v, 0, offset, 0, this.db);
      return len;
    });
  }

  // ---- bitmaps (bits.ts) ---------------------------------------------------------------------

  /**
   * Reads the string at `key` under its shard lock, counting the hit or miss: fn gets the value's
   * bytes in place, a[off, off + len), or `missing` comes back when there is no such key. fn may
   * throw (a bit command parses its range only once the key is found, as Redis 7.0 does).
   */
  readString<T>(key: Bytes, missing: T, fn: (a: Uint8Array, off: number, len: number) => T): T {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.readLocked(k, h, now, this.db);
      return r === NIL_REF ? missing : fn(s.m.a8, s.m.valOffset(r), s.m.valLen(r));
    });
  }

  // SETBIT key offset value
  /**
   * Sets bit `bit` (0 = the first byte's high bit) to `on`, growing the string with zero bytes to
   * reach it, and returns its old value. As Redis 7.0, only a new key, a longer string or a
   * changed bit is a write (`written`); otherwise the value is only re-encoded raw.
   */
  setBit(key: Bytes, bit: number, on: 0 | 1): { old: number; written: boolean } {
    const byte = Math.floor(bit / 8);
    let old = 0;
    const written = this.editString(key, byte + 1, (v, grown) => {
      old = bitAt(v, 0, v.length, bit);
      if (!grown && old === on) return null;
      setBitAt(v, bit, on);
      return { from: byte, to: byte + 1 };
    });
    return { old, written };
  }

  /**
   * Lets fn change the string at `key`, first grown with zero bytes to at least `minLen` (a new
   * key reads as zero bytes); fn learns whether the string is new or grew, and returns the byte
   * range it changed that counts as a write, or null for none (Redis 7.0 counts SETBIT and
   * BITFIELD writes that change a bit, or any on a string that is new or grew). The value ends
   * raw, with the key's TTL kept, and the op log gets the changed bytes (with any new ones).
   * A string long enough already, or one whose chunk or pages have room to grow
   * (growInPlaceLocked), is changed in place: fn gets a view of the value in the arena, so a
   * write to a long bitmap costs what it touches. Otherwise the value is written anew. When fn
   * returns null the string is still created or lengthened, but silently for WATCH and
   * tracking, as Redis's lookupStringObjectForBitCommand does it. Returns whether fn wrote.
   */
  editString(key: Bytes, minLen: number, fn: (value: Buffer, grown: boolean) => { from: number; to: number } | null): boolean {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      const oldLen = r === NIL_REF ? 0 : s.m.valLen(r);
      const grown = minLen > oldLen;
      let value: Buffer;
      if (r !== NIL_REF && (!grown || s.growInPlaceLocked(r, minLen))) {
        const a = s.m.a8;
        value = Buffer.from(a.buffer, a.byteOffset + s.m.valOffset(r), Math.max(oldLen, minLen));
        const changed = fn(value, grown);
        if (changed === null) s.unshareLocked(r);
        else s.editInPlaceLocked(r, now);
        this.logEdit(s, k, value, oldLen, changed);
        return changed !== null;
      }
      value = Buffer.alloc(Math.max(oldLen, minLen));
      if (r !== NIL_REF) copyInto(value, 0, s.m.a8, s.m.valOffset(r), oldLen);
      const changed = fn(value, true);
      s.putKeepTtlLocked(k, h, this.db, value, value.length, now, r, ValueEncoding.raw, 0, k.length, changed !== null);
      this.logEdit(s, k, value, oldLen, changed);
      return changed !== null;
    });
  }

  /**
   * editString's op-log record: a SETRANGE of the bytes fn changed, reaching to the end of a
   * string that grew (a SETRANGE past the end pads with zeros, as the new bytes are).
   */
  private logEdit(s: Shard, k: Uint8Array, value: Buffer, oldLen: number, changed: { from: number; to: number } | null): void {
    let from = changed?.from ?? value.length;
    let to = changed?.to ?? 0;
    if (value.length > oldLen) {
      to = value.length;
      from = Math.min(from, to - 1);
    }
    if (from < to) s.emit(OpType.SETRANGE, k, value.subarray(from, to), 0, from, 0, this.db);
  }

  // BITOP AND|OR|XOR|NOT destkey key [key ...]
  /**
   * Stores the sources combined (combineBits) at `dest`, as a new raw string without a TTL, or
   * deletes `dest` when every source is empty or missing. Returns the result's length and whether
   * `dest` was deleted. All the keys' shards are locked together, so the command is atomic.
   */
  bitOp(op: BitOp, dest: Bytes, keys: Bytes[]): { len: number; deleted: boolean } {
    const ks = [bytes(dest), ...keys.map(bytes)];
    const hs = new Uint32Array(ks.length);
    const locked = this.lockKeys(ks, 0, 1, true, hs);
    try {
      const now = this.now();
      const shard = (i: number) => this.shards[shardOf(hs[i]!, this.shardMask)]!;
      const srcs: (Buffer | null)[] = [];
      for (let i = 1; i < ks.length; i++) {
        const s = shard(i);
        const r = s.readLocked(ks[i]!, hs[i]!, now, this.db);
        srcs.push(r === NIL_REF ? null : s.valueCopy(r));
      }
      const out = combineBits(op, srcs);
      const s = shard(0);
      if (out === null) return { len: 0, deleted: s.delKeyLocked(ks[0]!, hs[0]!, now, this.db) };
      s.putCarriedLocked(ks[0]!, hs[0]!, this.db, out, 0, ValueEncoding.raw, now);
      return { len: out.length, deleted: false };
    } finally {
      this.unlockShards(locked);
    }
  }

  // ---- keys ----------------------------------------------------------------------------------

  // DEL key [key ...]
  del(...keys: Bytes[]): number {
    return this.multi(keys, (s, k, h, now) => (s.delKeyLocked(k, h, now, this.db) ? 1 : 0));
  }

  /**
   * DEL for a caller that acts on each key in turn (keyspace events in key order): `each(i,
   * deleted)` runs right after key i's deletion, with every key's shard still locked. One hash
   * and one lock round per call, however many keys. Returns how many were deleted.
   */
  delEach(keys: Bytes[], each: (i: number, deleted: boolean) => void): number {
    return this.multi(keys, (s, k, h, now, i) => {
      const deleted = s.delKeyLocked(k, h, now, this.db);
      each(i, deleted);
      return deleted ? 1 : 0;
    });
  }

  // EXISTS key [key ...]
  exists(...keys: Bytes[]): number {
    if (keys.length === 1) {
      const k = bytes(keys[0]!);
      return this.existsHashed(k, this.hashOf(k), 0, k.length);
    }
    return this.multi(keys, (s, k, h, now) => (s.lookupLocked(k, h, now, this.db) === NIL_REF ? 0 : 1));
  }

  /** EXISTS of the one key input[koff, koff + klen), whose hash is `h` (the request fast path). */
  existsHashed(input: Uint8Array, h: number, koff: number, klen: number): number {
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      return s.lookupLocked(input, h, this.now(), this.db, koff, klen) === NIL_REF ? 0 : 1;
    } finally {
      s.unlock();
    }
  }

  // TOUCH key [key ...]
  touch(...keys: Bytes[]): number {
    return this.multi(keys, (s, k, h, now) => (s.readLocked(k, h, now, this.db) === NIL_REF ? 0 : 1));
  }

  // EXPIRE key seconds [NX|XX|GT|LT]
  expire(key: Bytes, seconds: number, cond?: ExpireConditions): boolean {
    return this.pexpireAt(key, relativeMs(seconds, 1000, this.now(), 'expire'), cond);
  }

  // PEXPIRE key milliseconds [NX|XX|GT|LT]
  pexpire(key: Bytes, ms: number, cond?: ExpireConditions): boolean {
    return this.pexpireAt(key, relativeMs(ms, 1, this.now(), 'pexpire'), cond);
  }

  // EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
  expireAt(key: Bytes, unixSeconds: number, cond?: ExpireConditions): boolean {
    return this.pexpireAt(key, relativeMs(unixSeconds, 1000, 0, 'expireat'), cond);
  }

  // PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
  pexpireAt(key: Bytes, atMs: number, cond?: ExpireConditions): boolean {
    let c = 0;
    if (typeof cond === 'string') c = COND_BITS[cond];
    else if (cond !== undefined) for (const x of cond) c |= COND_BITS[x];
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF) return false;
      const cur = s.m.expireAt(r);
      if ((c & EXPIRE_NX) !== 0 && cur !== 0) return false;
      if ((c & EXPIRE_XX) !== 0 && cur === 0) return false;
      // GT/LT treat a key without expiry as expiring never (infinite TTL).
      if ((c & EXPIRE_GT) !== 0 && (cur === 0 || atMs <= cur)) return false;
      if ((c & EXPIRE_LT) !== 0 && cur !== 0 && atMs >= cur) return false;
      if (atMs <= now) {
        s.deleteLocked(s.lastSlot, r);
        s.emit(OpType.DEL, k, null, 0, 0, 0, this.db);
        return true;
      }
      s.setExpireLocked(r, atMs);
      s.emit(OpType.EXPIRE, k, null, atMs, 0, 0, this.db);
      return true;
    });
  }

  // PTTL key: -2 missing, -1 no expiry
  pttl(key: Bytes): number {
    const k = bytes(key);
    return this.pttlHashed(k, this.hashOf(k), 0, k.length);
  }

  /** pttl of key input[koff, koff + klen), whose hash is `h` (the request fast path). */
  pttlHashed(input: Uint8Array, h: number, koff: number, klen: number): number {
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      const now = this.now();
      const r = s.lookupLocked(input, h, now, this.db, koff, klen);
      if (r === NIL_REF) return -2;
      const e = s.m.expireAt(r);
      return e === 0 ? -1 : Math.max(0, e - now);
    } finally {
      s.unlock();
    }
  }

  // TTL key: seconds, rounded as Redis does
  ttl(key: Bytes): number {
    return roundToSeconds(this.pttl(key));
  }

  // EXPIRETIME / PEXPIRETIME key: absolute ms, -1 no expiry, -2 missing
  pexpireTime(key: Bytes): number {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF) return -2;
      const e = s.m.expireAt(r);
      return e === 0 ? -1 : e;
    });
  }

  // PERSIST key
  persist(key: Bytes): boolean {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF || s.m.expireAt(r) === 0) return false;
      s.setExpireLocked(r, 0);
      s.emit(OpType.PERSIST, k, null, 0, 0, 0, this.db);
      return true;
    });
  }

  // RENAME key newkey  (RENAMENX with nx: returns false when newkey exists)
  rename(src: Bytes, dst: Bytes, nx = false): boolean {
    return this.moveValue(src, dst, nx ? 'renamenx' : 'rename');
  }

  // COPY source destination [DB destination-db] [REPLACE]
  copy(src: Bytes, dst: Bytes, replace = false, toDb = this.db): boolean {
    return this.moveValue(src, dst, replace ? 'copy-replace' : 'copy', toDb);
  }

  /** RENAME and COPY; `toDb` is the destination's database (COPY ... DB n), this one's for RENAME. */
  private moveValue(src: Bytes, dst: Bytes, op: 'rename' | 'renamenx' | 'copy' | 'copy-replace', toDb = this.db): boolean {
    const sk = bytes(src);
    const dk = bytes(dst);
    const sh = hash32(sk);
    const dh = hash32(dk);
    const sid = shardOf(sh, this.shardMask);
    const did = shardOf(dh, this.shardMask);
    const ss = this.shards[sid]!;
    const ds = this.shards[did]!;
    const isCopy = op === 'copy' || op === 'copy-replace';
    const locked = this.lockShards([sid, did]);
    try {
      const now = this.now();
      // Redis's order: COPY refuses the same key before looking it up, RENAME after.
      const same = toDb === this.db && Buffer.from(sk.buffer, sk.byteOffset, sk.length).equals(dk);
      if (same && isCopy) throw scError(ErrorCode.INVALID_ARG, 'ERR source and destination objects are the same');
      const r = ss.lookupLocked(sk, sh, now, this.db);
      if (r === NIL_REF) {
        if (isCopy) return false;
        throw scError(ErrorCode.NO_SUCH_KEY);
      }
      if (same) return op === 'rename';
      const exists = ds.lookupLocked(dk, dh, now, toDb) !== NIL_REF;
      if (exists && (op === 'renamenx' || op === 'copy')) return false;
      const value = ss.valueCopy(r);
      const expireAt = ss.m.expireAt(r);
      const encoding = ss.m.encoding(r);
      // RENAME moves the value as it is; COPY is Redis's dupStringObject: the same encoding, but
      // an integer of its own, never shared.
      const written = isCopy && encoding === ValueEncoding.auto ? ValueEncoding.unshared : encoding;
      // The op log carries the effect (SET of the destination, DEL of the source), so a consumer
      // needs no rename logic of its own.
      const dropSource = () => {
        const r2 = ss.lookupLocked(sk, sh, now, this.db);
        if (r2 !== NIL_REF) ss.deleteLocked(ss.lastSlot, r2);
        ss.emit(OpType.DEL, sk, null, 0, 0, 0, this.db);
      };
      // Within one shard the source goes first, so its room serves the destination and nothing is
      // evicted for it; across shards the destination is written first, so a failed write (OOM in
      // the destination's shard) leaves the source in place.
      if (!isCopy && sid === did) {
        dropSource();
        try {
          ds.putCarriedLocked(dk, dh, toDb, value, expireAt, written, now);
        } catch (e) {
          // The destination did not fit (a longer key can need a bigger chunk): put the source
          // back in the room it just left, so a failed RENAME loses nothing.
          ss.putCarriedLocked(sk, sh, this.db, value, expireAt, encoding, now);
          throw e;
        }
        return true;
      }
      ds.putCarriedLocked(dk, dh, toDb, value, expireAt, written, now);
      if (!isCopy) dropSource();
      return true;
    } finally {
      this.unlockShards(locked);
    }
  }

  // DBSIZE
  dbsize(): number {
    let n = 0;
    for (const s of this.shards) {
      s.lock();
      n += s.m.h32[HW.dbKeys + this.db]!;
      s.unlock();
    }
    return n;
  }

  /** Keys and keys with an expiry per database (INFO keyspace). */
  keyspace(): { db: number; keys: number; expires: number }[] {
    const out = Array.from({ length: MAX_DATABASES }, (_, db) => ({ db, keys: 0, expires: 0 }));
    for (const s of this.shards) {
      s.lock();
      try {
        for (const d of out) {
          const c = s.dbCountsLocked(d.db);
          d.keys += c.keys;
          d.expires += c.expires;
        }
      } finally {
        s.unlock();
      }
    }
    return out;
  }

  // FLUSHDB: this database only
  flushDb(): void {
    const locked = this.lockShards(this.shards.map((s) => s.id));
    try {
      for (const s of this.shards) s.flushDbLocked(this.db);
      this.oplog?.append(OpType.FLUSHDB, EMPTY, null, 0, this.db, 0, this.db);
    } finally {
      this.unlockShards(locked);
    }
  }

  // SWAPDB index1 index2
  swapDb(a: number, b: number): void {
    this.select(a);
    this.select(b);
    const locked = this.lockShards(this.shards.map((s) => s.id));
    try {
      for (const s of this.shards) s.swapDbLocked(a, b);
    } finally {
      this.unlockShards(locked);
    }
  }

  // MOVE key db: false if the key is missing here or exists there
  move(key: Bytes, to: number): boolean {
    if (to === this.db) throw scError(ErrorCode.INVALID_ARG, 'ERR source and destination objects are the same');
    const target = this.select(to);
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF) return false;
      if (s.lookupLocked(k, h, now, to) !== NIL_REF) return false;
      s.relabelDbLocked(r, to);
      s.emit(OpType.DEL, k, null, 0, 0, 0, this.db);
      s.emit(OpType.SET, k, s.valueView(r), s.m.expireAt(r), 0, 0, target.db);
      return true;
    });
  }

  /** WATCH: what EXEC needs to tell whether the key was touched since, read under its shard lock. */
  watch(key: Bytes): WatchState {
    const k = bytes(key);
    const h = this.hashOf(k);
    const id = shardOf(h, this.shardMask);
    const s = this.shards[id]!;
    s.lock();
    try {
      // WATCH deletes nothing: a key it finds expired stays until something removes it, as in
      // Redis, and that removal is then no change for the watcher (watchTouchedLocked).
      const r = s.peekLocked(k, h, this.db);
      const e = r === NIL_REF ? 0 : s.m.expireAt(r);
      const expired = e !== 0 && this.now() > e;
      const seq = s.m.h32[HW.writeSeq]!;
      const word = watchWord(h, this.db);
      const live = r !== NIL_REF && !expired;
      return { shard: id, word, version: s.watchLocked(word), seq, flushEpoch: s.m.h32[HW.flushEpoch]!, present: live, expiresAt: live ? e : 0, expiredKey: expired ? Buffer.from(k) : null, db: this.db };
    } finally {
      s.unlock();
    }
  }

  /** Releases what watch() registered; once per WatchState (EXEC, DISCARD, UNWATCH, RESET, disconnect). */
  unwatch(w: WatchState): void {
    const s = this.shards[w.shard]!;
    s.lock();
    try {
      s.unwatchLocked(w.word, w.version);
    } finally {
      s.unlock();
    }
  }

  /** `n` WATCH registrations on shard `id` whose holder is gone (a worker that died). */
  releaseWatches(id: number, n: number): void {
    const s = this.shards[id]!;
    s.lock();
    try {
      s.releaseWatchersLocked(n);
    } finally {
      s.unlock();
    }
  }

  /**
   * EXEC's check of one watched key; the caller holds its shard lock. Touched: written since (its
   * version in the shard's watch table moved), emptied by a whole-shard flush while it existed, or expired since it
   * was watched alive (Redis 7 multi.c isWatchedKeyExpired).
   */
  watchTouchedLocked(w: WatchState): boolean {
    const s = this.shards[w.shard]!;
    const writes = s.writesSinceLocked(w.word, w.version, w.seq);
    if (writes !== 0) {
      // A key expired at WATCH: its removal alone (one write, and the key gone) changed nothing
      // (Redis 7 multi.c touchWatchedKey, watchedKey.expired); a write after it did.
      const removalOnly = w.expiredKey !== null && writes === 1 && s.peekLocked(w.expiredKey, hash32(w.expiredKey), w.db) === NIL_REF;
      if (!removalOnly) return true;
    }
    if (w.present && s.m.h32[HW.flushEpoch] !== w.flushEpoch) return true;
    return w.expiresAt !== 0 && this.now() > w.expiresAt;
  }

  /** Shard id of a key (for grouping a batch's locks). */
  shardIdOf(key: Uint8Array): number {
    return shardOf(hash32(key), this.shardMask);
  }

  /**
   * The shard locks a dead thread held (`owner`: its threadId + 1), released. A thread that dies
   * inside a critical section (a worker terminated, or out of memory, mid-command) never
   * releases its locks, and every other thread would wait on those shards for good. The dead
   * thread may have left a change half made, so each such shard is checked (verify.ts) before it
   * is released; one that fails the check is emptied, since no structure in it can be trusted,
   * and the report says how many keys that dropped. The op-log ring's lock is not covered.
   */
  recoverLocksOf(owner: number): { shard: number; problem: string | null; dropped: number }[] {
    const out: { shard: number; problem: string | null; dropped: number }[] = [];
    for (const s of this.shards) {
      if (!s.takeOverLockOf(owner)) continue;
      let problem: string | null = null;
      let dropped = 0;
      try {
        verifyShardLocked(s);
      } catch (e) {
        problem = (e as Error).message;
        dropped = s.m.h32[HW.count]!;
        s.flushLocked();
      } finally {
        s.unlock();
      }
      out.push({ shard: s.id, problem, dropped });
    }
    return out;
  }

  // FLUSHALL: every database
  flush(): void {
    const locked = this.lockShards(this.shards.map((s) => s.id));
    try {
      for (const s of this.shards) s.flushLocked();
      this.oplog?.append(OpType.FLUSH, EMPTY, null, 0, 0, 0, 0);
    } finally {
      this.unlockShards(locked);
    }
  }

  // SCAN cursor [COUNT count]; `filter` sees each key before it is returned
  scan(cursor: number, count = 10, filter?: (key: Buffer) => boolean): ScanResult {
    const S = this.shards.length;
    let shard = cursor % S;
    let c = Math.floor(cursor / S);
    const keys: Buffer[] = [];
    for (;;) {
      const s = this.shards[shard]!;
      s.lock();
      try {
        c = scanShardLocked(s, c, count - keys.length, this.now(), this.db, keys, filter);
      } finally {
        s.unlock();
      }
      if (c === 0) {
        shard++;
        if (shard === S) return { cursor: 0, keys };
      }
      if (keys.length >= count) return { cursor: c * S + shard, keys };
    }
  }

  /**
   * KEYS: every live key of the selected database, shard by shard, each shard locked for its whole
   * pass (Redis blocks the server for all of KEYS). `emit` gets a region of the shard's arena,
   * valid only during the call.
   */
  forEachKey(emit: (arena: Uint8Array, off: number, len: number) => void): void {
    const now = this.now();
    for (const s of this.shards) {
      s.lock();
      try {
        if (s.m.h32[HW.dbKeys + this.db] !== 0) forEachKeyLocked(s, this.db, now, emit);
      } finally {
        s.unlock();
      }
    }
  }

  // RANDOMKEY
  randomKey(): Buffer | null {
    const S = this.shards.length;
    const start = Math.floor(Math.random() * S);
    const now = this.now();
    for (let k = 0; k < S; k++) {
      const s = this.shards[(start + k) % S]!;
      s.lock();
      try {
        if (s.m.h32[HW.dbKeys + this.db] === 0) continue;
        const refs = s.m.refs;
        const mask = refs.length - 1;
        const from = Math.floor(Math.random() * refs.length);
        for (let i = 0; i <= mask; i++) {
          const r = refs[(from + i) & mask]!;
          if (r === NIL_REF || s.m.keyDb(r) !== this.db) continue;
          const e = s.m.expireAt(r);
          if (e !== 0 && now > e) continue;
          return s.keyCopy(r);
        }
      } finally {
        s.unlock();
      }
    }
    return null;
  }

  /**
   * OBJECT FREQ / IDLETIME / ENCODING / REFCOUNT: what the store knows of a key, without touching
   * it. `int` is the value when it is encoded as an integer; `shareable` says whether Redis would
   * have shared it, were it in 0..9999 (ValueEncoding.auto: written by a command that may share,
   * while no LRU/LFU policy evicted under a memory limit).
   */
  objectInfo(key: Bytes): { freq: number | null; idleSeconds: number | null; encoding: 'int' | 'embstr' | 'raw'; int: number | bigint | null; shareable: boolean } | null {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF) return null;
      const m = s.m;
      const lfu = m.h32[HW.policy] === PolicyId.lfu;
      const len = m.valLen(r);
      const enc = m.encoding(r);
      // Redis's tryObjectEncoding: a number that fits a long is an int, up to 44 bytes embstr.
      const int = len > 20 || (enc !== ValueEncoding.auto && enc !== ValueEncoding.unshared) ? null : parseInt64(m.a8, m.valOffset(r), len);
      return {
        freq: lfu ? lfuDecayed(m, r, lfuMinutes(now)) : null,
        idleSeconds: lfu ? null : (accessSeconds(now) - m.ldt(r)) & 0xffff,
        encoding: int !== null ? 'int' : len <= 44 && enc !== ValueEncoding.raw ? 'embstr' : 'raw',
        int,
        shareable: enc === ValueEncoding.auto,
      };
    });
  }

  // DUMP key
  /** The key's value in Redis's DUMP payload format (dump.ts), or null if it is missing. */
  dump(key: Bytes): Buffer | null {
    const v = this.get(key);
    return v === null ? null : encodeDump(v);
  }

  // RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
  /**
   * Writes `value` (decoded from a DUMP payload) as RESTORE does: 'busy' if the key exists and
   * not `replace`; with an expiry already past, nothing is written and an existing key (with
   * `replace`) is deleted ('deleted'), else 'expired'; otherwise 'restored', with the access hints
   * applied (setAccess). `expireAt` is absolute (0: none).
   */
  restore(key: Bytes, value: Uint8Array, expireAt: number, replace: boolean, idleSeconds: number | null, freq: number | null): 'busy' | 'deleted' | 'expired' | 'restored' {
    return this.withKey(key, (s, k, h, now) => {
      const old = s.lookupLocked(k, h, now, this.db);
      if (old !== NIL_REF && !replace) return 'busy';
      if (expireAt !== 0 && expireAt <= now) {
        if (old === NIL_REF) return 'expired';
        s.deleteLocked(s.lastSlot, old);
        s.emit(OpType.DEL, k, null, 0, 0, 0, this.db);
        return 'deleted';
      }
      s.setLocked(k, h, this.db, value, 0, expireAt, now);
      const r = s.lookupLocked(k, h, now, this.db);
      if (r !== NIL_REF) setAccess(s.m, r, now, idleSeconds, freq);
      return 'restored';
    });
  }

  // MEMORY USAGE key: the item's chunk plus its index slot
  memoryUsage(key: Bytes): number | null {
    return this.withKey(key, (s, k, h, now) => {
      const r = s.lookupLocked(k, h, now, this.db);
      if (r === NIL_REF) return null;
      const m = s.m;
      return chunkBytes(m, r) + Math.ceil(m.buffers.index.byteLength / m.refs.length);
    });
  }

  // ---- housekeeping and statistics -------------------------------------------------------------

  /**
   * Redis-style active expiry for the given shards: sweep a batch of slots, repeat while the
   * batch held no key with a TTL or more than a tenth of those it held had expired (Redis 7
   * expire.c activeExpireCycle repeats while `sampled == 0` or the stale share is above 10 %),
   * stop at `budgetMs`. The index holds every key, not only those with a TTL as Redis's expires
   * dict does, so the batches without one are bounded per shard and cycle by EXPIRE_IDLE_MAX
   * slots: a few keys with a TTL among many without cost little, and an index this size or
   * smaller is swept whole each cycle. The lock is released between batches so request handling
   * interleaves.
   */
  activeExpireCycle(shardIds: readonly number[], budgetMs = 1, tally?: ExpireTally): number {
    const start = performance.now();
    const deadline = start + budgetMs;
    const out = new Int32Array(2);
    let total = 0;
    let sampled = 0;
    let capped = false;
    for (const id of shardIds) {
      const s = this.shards[id]!;
      for (let idle = 0; idle < EXPIRE_IDLE_MAX; ) {
        s.lock();
        try {
          if (s.m.h32[HW.volatileCount] === 0) break;
          s.expireStepLocked(this.now(), EXPIRE_STEP, out);
        } finally {
          s.unlock();
        }
        total += out[1]!;
        sampled += out[0]!;
        if (out[0] === 0) idle += EXPIRE_STEP;
        else if (out[1]! * 10 <= out[0]!) break;
        if ((capped = performance.now() >= deadline)) break;
      }
      if (capped || (capped = performance.now() >= deadline)) break;
    }
    if (tally !== undefined) {
      tally.sampled = sampled;
      tally.expired = total;
      tally.capped = capped;
      tally.ms = performance.now() - start;
    }
    return total;
  }

  stats(): StoreStats {
    const per: ShardStats[] = [];
    for (const s of this.shards) {
      s.lock();
      try {
        per.push(s.statsLocked());
      } finally {
        s.unlock();
      }
    }
    const sum = (f: keyof ShardStats) => per.reduce((a, p) => a + p[f], 0);
    return {
      keys: sum('keys'),
      volatileKeys: sum('volatileKeys'),
      hits: sum('hits'),
      misses: sum('misses'),
      expired: sum('expired'),
      evicted: sum('evicted'),
      usedBytes: sum('usedBytes'),
      overheadBytes: sum('overheadBytes'),
      indexBytes: sum('indexBytes'),
      startupBytes: sum('startupBytes'),
      freeChunkBytes: sum('freeChunkBytes'),
      maxBytes: sum('maxBytes'),
      arenaBytes: sum('arenaBytes'),
      shards: per,
    };
  }

  resetStats(): void {
    for (const s of this.shards) {
      s.lock();
      s.resetStatsLocked();
      s.unlock();
    }
  }

  /** CONFIG SET maxmemory / maxmemory-policy. */
  configure(opts: { maxMemory?: number; maxEntries?: number; policy?: string }): void {
    const S = this.shards.length;
    const now = this.now();
    for (const s of this.shards) {
      s.lock();
      try {
        if (opts.policy !== undefined) {
          const p = resolvePolicy(opts.policy);
          s.setEvictionLocked(p.policy, p.mode, now);
        }
        if (opts.maxMemory !== undefined || opts.maxEntries !== undefined) {
          const cur = s.statsLocked();
          const mb = opts.maxMemory !== undefined ? splitEven(opts.maxMemory, S, s.id) : cur.maxBytes;
          const me = opts.maxEntries !== undefined ? splitEven(opts.maxEntries, S, s.id) : s.m.h32[HW.maxEntries]!;
          s.setLimitsLocked(mb, me, now);
        }
      } finally {
        s.unlock();
      }
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private withKey<T>(key: Bytes, fn: (s: Shard, k: Uint8Array, h: number, now: number) => T): T {
    const k = bytes(key);
    const h = this.hashOf(k);
    const s = this.shards[shardOf(h, this.shardMask)]!;
    s.lock();
    try {
      return fn(s, k, h, this.now());
    } finally {
      s.unlock();
    }
  }

  /** Runs `fn` on each key with all the keys' shards locked (atomic per call); sums the results. */
  private multi(keys: Bytes[], fn: (s: Shard, k: Uint8Array, h: number, now: number, i: number) => number): number {
    // One key, the common case: no arrays, and a hash the caller hinted is used.
    if (keys.length === 1) return this.withKey(keys[0]!, (s, k, h, now) => fn(s, k, h, now, 0));
    const ks = keys.map(bytes);
    const hs = new Uint32Array(ks.length);
    const locked = this.lockKeys(ks, 0, 1, false, hs);
    try {
      const now = this.now();
      let n = 0;
      for (let i = 0; i < ks.length; i++) n += fn(this.shards[shardOf(hs[i]!, this.shardMask)]!, ks[i]!, hs[i]!, now, i);
      return n;
    } finally {
      this.unlockShards(locked);
    }
  }
}

/**
 * What one active expiry cycle did: keys with a TTL it looked at, those it removed, whether it
 * stopped at its time budget, and how long it ran in ms.
 */
export interface ExpireTally {
  sampled: number;
  expired: number;
  capped: boolean;
  ms: number;
}

/** Totals over the shards (the per-shard layout fields dropped), plus each shard's own. */
export type StoreStats = Omit<ShardStats, 'indexSlots'> & { shards: ShardStats[] };

/** A time in ms rounded to seconds as Redis rounds TTL and EXPIRETIME; the codes -1 and -2 kept. */
export function roundToSeconds(ms: number): number {
  return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
}

/** The i-th of n near-equal parts of total (parts differ by at most 1 and sum to total). */
export function splitEven(total: number, n: number, i: number): number {
  if (total === 0) return 0;
  const base = Math.floor(total / n);
  return base + (i < total - base * n ? 1 : 0);
}

/** Converts SET/GETEX expiry options to an absolute ms time (0 = none), validating as Redis. */
function absoluteExpiry(o: { ex?: number; px?: number; exat?: number; pxat?: number }, now: number, cmd: string): number {
  let n = 0;
  let at = 0;
  if (o.ex !== undefined) { n++; at = relativeMs(o.ex, 1000, now, cmd); }
  if (o.px !== undefined) { n++; at = relativeMs(o.px, 1, now, cmd); }
  if (o.exat !== undefined) { n++; at = relativeMs(o.exat, 1000, 0, cmd); }
  if (o.pxat !== undefined) { n++; at = relativeMs(o.pxat, 1, 0, cmd); }
  if (n > 1) throw scError(ErrorCode.SYNTAX);
  if (n === 1 && (at <= 0 || ((o.ex ?? o.px ?? o.exat ?? o.pxat)! <= 0))) throw scError(ErrorCode.INVALID_EXPIRE, `ERR invalid expire time in '${cmd}' command`);
  return at;
}

/**
 * base + v * unit as ms, with Redis's range check (the product and sum must fit in int64). Past
 * 2^53 ms the time is a double, as close as one can be.
 */
function relativeMs(v: number, unit: number, base: number, cmd: string): number {
  if (!Number.isInteger(v)) throw scError(ErrorCode.NOT_INTEGER);
  const ms = v * unit + base;
  if (Math.abs(v * unit) > 2 ** 63 || Math.abs(ms) > 2 ** 63) {
    throw scError(ErrorCode.INVALID_EXPIRE, `ERR invalid expire time in '${cmd}' command`);
  }
  return ms;
}

