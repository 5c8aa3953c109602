/**
 * One shard: the hash index, the arena and the policy lists of a slice of the key space, in
 * SharedArrayBuffers that every thread can map.
 *
 * Locking rules (the only ones in the store):
 *   1. Every access to a shard's index, arena or header state happens under that shard's lock
 *      (ShardHeader.lock). Methods named `...Locked` assume the caller holds it; the others take it.
 *   2. A command that touches several shards takes their locks in ascending shard id and releases
 *      them in reverse (Store.lockShards); no thread waits for a lower id while holding a higher
 *      one, so the lock graph has no cycle.
 *   3. The op-log ring's lock nests inside shard locks: a writer holding shard locks may take it;
 *      nobody holding the ring lock takes a shard lock.
 *   4. The holder of a shard lock marks it with its thread (ShardHeader.lockOwner). Only a
 *      supervisor that knows that thread is dead takes a lock from another thread
 *      (takeOverLockOf, Store.recoverLocksOf).
 */
import { Buffer } from 'node:buffer';
import { CLASS_LARGE, EvictMode, LIST_COUNT, MAX_DATABASES, MAX_KEY_LEN, NIL_REF, PAGE_SIZE, REF_UNIT, ShardHeader, TagBits, ValueEncoding } from '../../native-layout/shard.ts';
import type { EvictModeId, PolicyName, ValueEncodingId } from '../../native-layout/shard.ts';
import { PolicyId } from '../../native-layout/shard.ts';
import { OpType } from '../../native-layout/oplog.ts';
import { ErrorCode, scError } from '../errors.ts';
import { copyInto } from '../bytes.ts';
import { LOCK_OWNER, lockWord, takeOverWord, unlockWord } from './lock.ts';
import { watchWord } from './hash.ts';
import { watchAcquireLocked, watchBumpLocked, watchFindLocked, watchReleaseLocked } from './watch-table.ts';
import { ensureCapacity, findSlot, INITIAL_INDEX_CAP, insertSlot, markExpiry, removeSlot, resizeIndex, slotOfRef, slotTag } from './index-table.ts';
import { HF, HW, ITEM_HEADER_BYTES, ShardMemory } from './memory.ts';
import type { ShardBuffers } from './memory.ts';
import type { OpLog } from './oplog.ts';
import { accessSeconds, isLru, onHit, onInsert, onRemove, pickVictim, replaceInList } from './policy.ts';
import { canAllocWithoutEvicting, classFor, fitsWhenEmpty, fixedBytes, freeChunkBytes, freeItem, indexBytes, initSlabs, itemCapacity, resetArena, tryAllocItem, usedBytes } from './slab.ts';

/** Redis's proto-max-bulk-len default: the largest key or value. */
export const MAX_BULK = 512 * 1024 * 1024;
/** Refs are u32 multiples of REF_UNIT, so one shard's arena addresses at most this much. */
const ARENA_MAX = 2 ** 32 * REF_UNIT - PAGE_SIZE;
const INDEX_MAX = 2 ** 32;

export interface ShardConfig {
  readonly policy: PolicyName;
  readonly evictMode: EvictModeId;
  /** Bytes this shard may allocate, 0 for unbounded. */
  readonly maxBytes: number;
  /** Entries this shard may hold, 0 for unbounded. */
  readonly maxEntries: number;
  readonly lfuLogFactor: number;
  readonly lfuDecayTime: number;
  readonly slabGrowthFactor: number;
  readonly seed: number;
}

/** SET flags (bit set). */
export const SET_NX = 1;
export const SET_XX = 2;
export const SET_GET = 4;
export const SET_KEEPTTL = 8;

/** EXPIRE conditions (Redis 7). */
export const EXPIRE_NX = 1;
export const EXPIRE_XX = 2;
export const EXPIRE_GT = 4;
export const EXPIRE_LT = 8;

/**
 * Digits of the largest integer Redis shares (OBJ_SHARED_INTEGERS - 1 = 9999): only a value this
 * short can be one, so only such a write asks whether integers are shared now.
 */
const SHARED_INT_DIGITS = 4;

export class Shard {
  readonly id: number;
  readonly m: ShardMemory;
  oplog: OpLog | null = null;
  /**
   * Told of every key the store removes by itself (expired, or evicted when `evicted`), under the
   * lock: it must only record the event. The server turns them into keyspace events and
   * tracking invalidations.
   */
  onDrop: ((key: Buffer, db: number, evicted: boolean) => void) | null = null;
  /** This thread's listener for the hash of every key this thread changes (Store.onWrite). */
  onWrite: ((hash: number) => void) | null = null;
  /** Told of every key a write creates, under the lock (keyspace 'new' events); null: nobody asks. */
  onCreate: ((key: Buffer, db: number) => void) | null = null;
  /** The slot of the last successful lookupLocked, valid until the next index change. */
  private slot = -1;
  private depth = 0;

  private constructor(id: number, buffers: ShardBuffers) {
    this.id = id;
    this.m = new ShardMemory(buffers);
  }

  static create(id: number, cfg: ShardConfig): Shard {
    const arenaMax = cfg.maxBytes > 0 ? Math.min(ARENA_MAX, Math.ceil(cfg.maxBytes / PAGE_SIZE) * PAGE_SIZE + 16 * PAGE_SIZE) : ARENA_MAX;
    const buffers: ShardBuffers = {
      header: new SharedArrayBuffer(ShardHeader.size),
      index: new SharedArrayBuffer(0, { maxByteLength: INDEX_MAX }),
      arena: new SharedArrayBuffer(0, { maxByteLength: arenaMax }),
    };
    const s = new Shard(id, buffers);
    const m = s.m;
    const h = m.h32;
    h[HW.policy] = PolicyId[cfg.policy];
    h[HW.evictMode] = cfg.evictMode;
    h[HW.maxEntries] = cfg.maxEntries;
    h[HW.lfuLogFactor] = cfg.lfuLogFactor;
    h[HW.lfuDecayTime] = cfg.lfuDecayTime;
    h[HW.rng] = (cfg.seed >>> 0) || 0x9e3779b9;
    m.hf64[HF.maxBytes] = cfg.maxBytes;
    initSlabs(m, cfg.slabGrowthFactor);
    // With an entry bound the index is sized once, so it never rehashes (and S3-FIFO's ghost set
    // is never cleared by a resize).
    let cap = INITIAL_INDEX_CAP;
    while (cfg.maxEntries * 4 > cap * 3) cap *= 2;
    resizeIndex(m, cap);
    m.hf64[HF.startupBytes] = usedBytes(m);
    return s;
  }

  static attach(id: number, buffers: ShardBuffers): Shard {
    const s = new Shard(id, buffers);
    s.lock();
    s.unlock();
    return s;
  }

  get buffers(): ShardBuffers {
    return this.m.buffers;
  }

  /**
   * Takes the shard lock. Re-entrant within this thread (the Shard object is per thread), so a
   * transaction can hold a set of shard locks while it runs ordinary store calls.
   */
  lock(): void {
    if (this.depth++ !== 0) return;
    const m = this.m;
    lockWord(m.hi32, HW.lock, HW.lockOwner, LOCK_OWNER);
    if (m.h32[HW.generation] !== m.seenGeneration) m.refresh();
  }

  unlock(): void {
    if (--this.depth !== 0) return;
    unlockWord(this.m.hi32, HW.lock, HW.lockOwner);
  }

  /**
   * Takes over the lock from thread `owner` (a threadId + 1) when that thread holds it, which a
   * caller knows to be dead: it can never release it. Returns whether this thread holds the lock
   * now (then it releases it with unlock(), as if it had taken it).
   */
  takeOverLockOf(owner: number): boolean {
    const m = this.m;
    if (!takeOverWord(m.hi32, HW.lock, HW.lockOwner, owner)) return false;
    this.depth = 1;
    if (m.h32[HW.generation] !== m.seenGeneration) m.refresh();
    return true;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /**
   * The live item for `key` (or for key[koff, koff + klen), see findSlot), or NIL_REF; an expired
   * item found on the way is deleted.
   */
  lookupLocked(key: Uint8Array, h: number, now: number, db: number, koff = 0, klen = key.length): number {
    const m = this.m;
    const i = findSlot(m, key, h, db, koff, klen);
    if (i < 0) return NIL_REF;
    const r = m.refs[i]!;
    const e = m.expireAt(r);
    if (e !== 0 && now > e) {
      const k = koff === 0 && klen === key.length ? key : key.subarray(koff, koff + klen);
      this.deleteLocked(i, r);
      m.hf64[HF.expired]!++;
      this.emit(OpType.DEL, k, null, 0, 0, 0, db);
      if (this.onDrop !== null) this.onDrop(Buffer.from(k), db, false);
      return NIL_REF;
    }
    this.slot = i;
    return r;
  }

  /** lookupLocked for a read command: counts the hit or miss and tells the policy. */
  readLocked(key: Uint8Array, h: number, now: number, db: number, koff = 0, klen = key.length): number {
    const r = this.lookupLocked(key, h, now, db, koff, klen);
    const f = this.m.hf64;
    if (r === NIL_REF) {
      f[HF.misses]!++;
      return NIL_REF;
    }
    f[HF.hits]!++;
    onHit(this.m, r, now);
    return r;
  }

  valueCopy(r: number): Buffer {
    const m = this.m;
    const out = Buffer.allocUnsafe(m.valLen(r));
    copyInto(out, 0, m.a8, m.valOffset(r), out.length);
    return out;
  }

  keyCopy(r: number): Buffer {
    const m = this.m;
    const out = Buffer.allocUnsafe(m.keyLen(r));
    copyInto(out, 0, m.a8, m.keyOffset(r), out.length);
    return out;
  }

  /** A read-only view of an item's value bytes; valid only while the lock is held. */
  valueView(r: number): Uint8Array {
    const m = this.m;
    const off = m.valOffset(r);
    return m.a8.subarray(off, off + m.valLen(r));
  }

  // ---- removal -------------------------------------------------------------------------------

  /** Removes the item `r` held in slot `i`. */
  deleteLocked(i: number, r: number): void {
    const m = this.m;
    removeSlot(m, i);
    onRemove(m, r);
    this.countLocked(r, -1);
    this.noteWriteLocked(m.hash(r), m.keyDb(r));
    freeItem(m, r);
  }

  /** Adds `delta` (±1) to the key counts for item r: total, its database's, and volatile ones. */
  private countLocked(r: number, delta: number): void {
    const m = this.m;
    const h = m.h32;
    const db = m.keyDb(r);
    h[HW.count] = h[HW.count]! + delta;
    h[HW.dbKeys + db] = h[HW.dbKeys + db]! + delta;
    if (m.expireAt(r) !== 0) {
      h[HW.volatileCount] = h[HW.volatileCount]! + delta;
      h[HW.dbVolatile + db] = h[HW.dbVolatile + db]! + delta;
    }
  }

  /**
   * A write of key (hash, db): logged for WATCH while any key of the shard is watched, and told to
   * onWrite while set.
   */
  noteWriteLocked(hash: number, db: number): void {
    this.logWriteLocked(hash, db);
    if (this.onWrite !== null) this.onWrite(hash);
  }

  /** The WATCH half of noteWriteLocked alone: a key that changes database is logged under both. */
  private logWriteLocked(hash: number, db: number): void {
    const h = this.m.h32;
    if (h[HW.watchers] === 0) return;
    h[HW.writeSeq] = (h[HW.writeSeq]! + 1) >>> 0;
    if (h[HW.watchSlotsUsed] !== 0) watchBumpLocked(this.m, watchWord(hash, db));
  }

  /**
   * WATCH registers the key whose watchWord is `word`: its writes are tracked from now on. Returns
   * its slot's version in the shard's watch table, or -1 when the table had no room for it, in
   * which case writtenSinceLocked counts any write of the shard (ShardHeader.writeSeq).
   */
  watchLocked(word: number): number {
    const h = this.m.h32;
    h[HW.watchers] = h[HW.watchers]! + 1;
    return watchAcquireLocked(this.m, word);
  }

  /** Releases one watchLocked registration of `word`, given what watchLocked returned. */
  unwatchLocked(word: number, version: number): void {
    if (version >= 0) watchReleaseLocked(this.m, word);
    this.releaseWatchersLocked(1);
  }

  /**
   * Drops `n` registrations from the shard's count. Called alone, for registrations whose holder
   * died with their keys unknown, it leaves their table slots held; those go once the count
   * reaches zero, since no registration is left to need any slot.
   */
  releaseWatchersLocked(n: number): void {
    const h = this.m.h32;
    const left = Math.max(0, h[HW.watchers]! - n);
    h[HW.watchers] = left;
    if (left === 0 && h[HW.watchSlotsUsed] !== 0) {
      this.m.clearWatchTable();
      h[HW.watchSlotsUsed] = 0;
    }
  }

  /**
   * Writes of the key of `word` since watchLocked returned `version`, when writeSeq stood at
   * `seq`. A registration without a table slot (version -1) cannot tell its key's writes from
   * others: it counts every write of the shard. Infinity when its slot is gone.
   */
  writesSinceLocked(word: number, version: number, seq: number): number {
    if (version < 0) return (this.m.h32[HW.writeSeq]! - seq) >>> 0;
    const i = watchFindLocked(this.m, word);
    return i < 0 ? Infinity : (this.m.watchVersion(i) - version) >>> 0;
  }

  /** The item of the key, live or expired, or NIL_REF: a look that deletes nothing (WATCH). */
  peekLocked(key: Uint8Array, h: number, db: number): number {
    const i = findSlot(this.m, key, h, db);
    return i < 0 ? NIL_REF : this.m.refs[i]!;
  }

  /** Deletes `key` if live; returns whether it was. */
  delKeyLocked(key: Uint8Array, h: number, now: number, db: number): boolean {
    const r = this.lookupLocked(key, h, now, db);
    if (r === NIL_REF) return false;
    this.deleteLocked(this.slot, r);
    this.emit(OpType.DEL, key, null, 0, 0, 0, db);
    return true;
  }

  /** Evicts one item per the policy; false if nothing may be evicted. */
  evictOneLocked(now: number): boolean {
    const m = this.m;
    const r = pickVictim(m, now);
    if (r === NIL_REF) return false;
    const key = this.oplog !== null || this.onDrop !== null ? this.keyCopy(r) : null;
    const db = m.keyDb(r);
    this.deleteLocked(slotOfRef(m, r), r);
    m.hf64[HF.evicted]!++;
    if (key !== null) {
      this.emit(OpType.DEL, key, null, 0, 0, 0, db);
      if (this.onDrop !== null) this.onDrop(key, db, true);
    }
    return true;
  }

  /** A chunk for `bytes`, evicting as the policy says; throws OOM when nothing more may go. */
  private allocLocked(bytes: number, now: number): number {
    const m = this.m;
    for (;;) {
      const r = tryAllocItem(m, bytes);
      if (r !== NIL_REF) return r;
      if (!this.evictOneLocked(now)) throw scError(ErrorCode.OOM);
    }
  }

  // ---- writes --------------------------------------------------------------------------------

  /**
   * Stores `value` (bytes `voff`..`voff+vlen` of it) under `key` with absolute expiry `expireAt`
   * (0 = none) in database `db`, replacing `old` (the key's live item, or NIL_REF), with the
   * ValInfo.encoding `encoding`. Returns the new item's ref. The key may be the range
   * key[koff, koff + klen) of a larger buffer. Without `note` the write is not one for WATCH and
   * tracking (a string Redis creates or lengthens without signalling it).
   */
  private writeLocked(key: Uint8Array, h: number, db: number, value: Uint8Array, voff: number, vlen: number, expireAt: number, now: number, old: number, encoding: ValueEncodingId, koff = 0, klen = key.length, note = true): number {
    const m = this.m;
    if (note) this.noteWriteLocked(h, db);
    if (encoding === ValueEncoding.auto && vlen <= SHARED_INT_DIGITS && !this.sharesIntegersLocked()) encoding = ValueEncoding.unshared;
    const bytes = ITEM_HEADER_BYTES + klen + vlen;
    if (old !== NIL_REF && m.classId(old) !== CLASS_LARGE && classFor(m, bytes) === m.classId(old)) {
      this.retimeLocked(old, expireAt);
      m.setValInfo(old, vlen, encoding);
      copyInto(m.a8, m.valOffset(old), value, voff, vlen);
      onHit(m, old, now);
      return old;
    }
    if (!fitsWhenEmpty(m, bytes)) throw scError(ErrorCode.OOM);
    if (old === NIL_REF && m.h32[HW.maxEntries] !== 0) {
      while (m.h32[HW.count]! >= m.h32[HW.maxEntries]!) if (!this.evictOneLocked(now)) throw scError(ErrorCode.OOM);
    }
    if (m.h32[HW.evictMode] === EvictMode.noeviction && !canAllocWithoutEvicting(m, bytes)) throw scError(ErrorCode.OOM);
    const r = this.allocLocked(bytes, now);
    m.setKeyInfo(r, klen, db);
    m.setValInfo(r, vlen, encoding);
    m.setHash(r, h);
    m.setExpireAt(r, expireAt);
    copyInto(m.a8, m.keyOffset(r), key, koff, klen);
    copyInto(m.a8, m.valOffset(r), value, voff, vlen);
    // Eviction may have moved or removed the old item: find the key again.
    const i = findSlot(m, key, h, db, koff, klen);
    if (i >= 0) {
      // The key moves to a chunk of another size but keeps its queue position and policy state,
      // then counts as a hit, exactly as the in-place rewrite above: otherwise an overwrite would
      // reset LFU counters and re-queue FIFO/SIEVE/S3-FIFO items depending on the value's size.
      const prev = m.refs[i]!;
      m.refs[i] = r;
      m.tags[i] = slotTag(m, r, h);
      replaceInList(m, prev, r);
      this.countLocked(prev, -1);
      this.countLocked(r, 1);
      freeItem(m, prev);
      onHit(m, r, now);
    } else {
      ensureCapacity(m, 1);
      insertSlot(m, r, h);
      this.countLocked(r, 1);
      onInsert(m, r, now);
      if (this.onCreate !== null) this.onCreate(this.keyCopy(r), db);
    }
    return r;
  }

  /**
   * SET. Returns true if written, false if NX/XX prevented it. With SET_GET the previous value
   * (or null) is left in `lastOld`. Key and value may be ranges of larger buffers (the request
   * fast path hands in the parser's input): key[koff, koff + klen), value[voff, voff + vlen).
   */
  setLocked(key: Uint8Array, h: number, db: number, value: Uint8Array, flags: number, expireAt: number, now: number, koff = 0, klen = key.length, voff = 0, vlen = value.length): boolean {
    if (vlen > MAX_BULK) throw scError(ErrorCode.TOO_LARGE);
    if (klen > MAX_KEY_LEN) throw scError(ErrorCode.TOO_LARGE, 'ERR key exceeds the maximum key length (268435455 bytes)');
    const old = this.lookupLocked(key, h, now, db, koff, klen);
    if ((flags & SET_GET) !== 0) this.lastOld = old === NIL_REF ? null : this.valueCopy(old);
    if ((flags & SET_NX) !== 0 && old !== NIL_REF) return false;
    if ((flags & SET_XX) !== 0 && old === NIL_REF) return false;
    // An EXAT/PXAT already past is stored as given, as Redis 7.0 does: the key reads as missing,
    // counts in DBSIZE, and expires (with its 'expired' event) when a lookup or the expiry cycle
    // finds it.
    if ((flags & SET_KEEPTTL) !== 0 && old !== NIL_REF) expireAt = this.m.expireAt(old);
    this.writeLocked(key, h, db, value, voff, vlen, expireAt, now, old, ValueEncoding.auto, koff, klen);
    if (this.oplog !== null) this.emit(OpType.SET, key.subarray(koff, koff + klen), value.subarray(voff, voff + vlen), expireAt, 0, 0, db);
    return true;
  }
  lastOld: Buffer | null = null;

  /**
   * Writes `key` with an expiry and encoding carried over from another item (RENAME, COPY): no
   * "already expired" check, since a key whose expiry equals now is still live. Emits the SET.
   */
  putCarriedLocked(key: Uint8Array, h: number, db: number, value: Uint8Array, expireAt: number, encoding: ValueEncodingId, now: number): void {
    if (key.length > MAX_KEY_LEN) throw scError(ErrorCode.TOO_LARGE, 'ERR key exceeds the maximum key length (268435455 bytes)');
    const old = this.lookupLocked(key, h, now, db);
    this.writeLocked(key, h, db, value, 0, value.length, expireAt, now, old, encoding);
    this.emit(OpType.SET, key, value, expireAt, 0, 0, db);
  }

  /**
   * Replaces the value of a key, keeping its TTL; used by INCR*, INCRBYFLOAT, APPEND and SETRANGE,
   * each with the ValueEncoding its Redis counterpart gives the value. The key may be
   * key[koff, koff + klen).
   */
  putKeepTtlLocked(key: Uint8Array, h: number, db: number, value: Uint8Array, vlen: number, now: number, old: number, encoding: ValueEncodingId, koff = 0, klen = key.length, note = true): void {
    if (klen > MAX_KEY_LEN) throw scError(ErrorCode.TOO_LARGE, 'ERR key exceeds the maximum key length (268435455 bytes)');
    const expireAt = old === NIL_REF ? 0 : this.m.expireAt(old);
    this.writeLocked(key, h, db, value, 0, vlen, expireAt, now, old, encoding, koff, klen, note);
  }

  /**
   * Item r's value is about to be changed in place by the caller, its length kept (SETBIT and
   * BITFIELD inside the string): a write for WATCH and tracking, an access for the policy as any
   * rewrite is, and the value becomes raw, as Redis's dbUnshareStringValue leaves it.
   */
  editInPlaceLocked(r: number, now: number): void {
    const m = this.m;
    this.noteWriteLocked(m.hash(r), m.keyDb(r));
    m.setValInfo(r, m.valLen(r), ValueEncoding.raw);
    onHit(m, r, now);
  }

  /**
   * Lengthens item r's value to `len` bytes, the new ones zero and the value raw, where its chunk
   * or page run has room for them (a chunk holds up to its class's size, a run up to its whole
   * pages). Returns false, changing nothing, where it has not: the caller then writes the longer
   * value anew. A string lengthened a little at a time (SETBIT at rising offsets) so moves once
   * per slab class or 64 KiB page, not on every write. This alone is no write for WATCH and
   * tracking: the caller notes one (editInPlaceLocked) if the bytes it then writes make one.
   */
  growInPlaceLocked(r: number, len: number): boolean {
    const m = this.m;
    const oldLen = m.valLen(r);
    if (ITEM_HEADER_BYTES + m.keyLen(r) + len > itemCapacity(m, r)) return false;
    const off = m.valOffset(r);
    m.a8.fill(0, off + oldLen, off + len);
    m.setValInfo(r, len, ValueEncoding.raw);
    return true;
  }

  /**
   * Redis's dbUnshareStringValue for a bit command that ends up writing nothing: the value is
   * re-encoded raw in place, which is no write (WATCH, the op log and tracking see nothing).
   */
  unshareLocked(r: number): void {
    this.m.setValInfo(r, this.m.valLen(r), ValueEncoding.raw);
  }

  /**
   * Whether Redis would share an integer value written now: it shares 0..9999 unless an LRU or
   * LFU policy evicts under a memory limit (MAXMEMORY_FLAG_NO_SHARED_INTEGERS), which needs each
   * key's own access time. Redis decides when it stores the value, and so does writeLocked.
   */
  private sharesIntegersLocked(): boolean {
    const m = this.m;
    if (!(m.hf64[HF.maxBytes]! > 0)) return true;
    const policy = m.h32[HW.policy]!;
    const mode = m.h32[HW.evictMode];
    return !((isLru(policy) || policy === PolicyId.lfu) && (mode === EvictMode.policy || mode === EvictMode.volatile));
  }

  /** Sets an item's absolute expiry (0 = persist); a write for WATCH. */
  setExpireLocked(r: number, expireAt: number): void {
    this.noteWriteLocked(this.m.hash(r), this.m.keyDb(r));
    this.retimeLocked(r, expireAt);
  }

  /** Sets an item's expiry and keeps the volatile counts; the caller has noted the write. */
  private retimeLocked(r: number, expireAt: number): void {
    const m = this.m;
    const before = m.expireAt(r);
    const db = m.keyDb(r);
    const d = before === 0 && expireAt !== 0 ? 1 : before !== 0 && expireAt === 0 ? -1 : 0;
    m.setExpireAt(r, expireAt);
    if (d !== 0) {
      m.h32[HW.volatileCount] = m.h32[HW.volatileCount]! + d;
      m.h32[HW.dbVolatile + db] = m.h32[HW.dbVolatile + db]! + d;
      markExpiry(m, r);
    }
  }

  get lastSlot(): number {
    return this.slot;
  }

  emit(type: number, key: Uint8Array, value: Uint8Array | null, expireAt: number, arg: number, flags: number, db: number): void {
    if (this.oplog !== null) this.oplog.append(type, key, value, expireAt, arg, flags, db);
  }

  // ---- whole-shard operations ----------------------------------------------------------------

  flushLocked(): void {
    const m = this.m;
    const h = m.h32;
    for (let l = 0; l < LIST_COUNT * 2; l++) h[HW.lists + l] = NIL_REF;
    h[HW.count] = 0;
    h[HW.volatileCount] = 0;
    h[HW.smallCount] = 0;
    h[HW.sieveHand] = NIL_REF;
    h[HW.expireCursor] = 0;
    for (let d = 0; d < MAX_DATABASES; d++) {
      h[HW.dbKeys + d] = 0;
      h[HW.dbVolatile + d] = 0;
    }
    // Only the keys that exist now are touched for WATCH: EXEC compares the epoch for those.
    h[HW.flushEpoch] = (h[HW.flushEpoch]! + 1) >>> 0;
    resetArena(m);
    m.refs.fill(0);
    m.tags.fill(0);
    m.ghost.fill(0);
  }

  /** Every live item ref, in no particular order (a snapshot: safe to delete while iterating it). */
  liveRefsLocked(): number[] {
    const m = this.m;
    const out: number[] = [];
    for (let l = 0; l < LIST_COUNT; l++) for (let r = m.head(l); r !== NIL_REF; r = m.next(r)) out.push(r);
    return out;
  }

  /** FLUSHDB for one database: deletes its items. Returns how many. */
  flushDbLocked(db: number): number {
    const m = this.m;
    if (m.h32[HW.dbKeys + db] === m.h32[HW.count]) {
      const n = m.h32[HW.count]!;
      this.flushLocked();
      return n;
    }
    let n = 0;
    for (const r of this.liveRefsLocked()) {
      if (m.keyDb(r) !== db) continue;
      this.deleteLocked(slotOfRef(m, r), r);
      n++;
    }
    return n;
  }

  /** SWAPDB: items of database a move to b and back. Same hash, so the index is untouched. */
  swapDbLocked(a: number, b: number): void {
    const m = this.m;
    const h = m.h32;
    for (const r of this.liveRefsLocked()) {
      const d = m.keyDb(r);
      if (d === a) m.setKeyInfo(r, m.keyLen(r), b);
      else if (d === b) m.setKeyInfo(r, m.keyLen(r), a);
      else continue;
      // The key leaves one database and arrives in the other: watchers of either are touched.
      this.logWriteLocked(m.hash(r), a);
      this.noteWriteLocked(m.hash(r), b);
    }
    for (const f of [HW.dbKeys, HW.dbVolatile]) {
      const t = h[f + a]!;
      h[f + a] = h[f + b]!;
      h[f + b] = t;
    }
  }

  /** MOVE: relabels item r (live, in `from`) as belonging to database `to`. */
  relabelDbLocked(r: number, to: number): void {
    const m = this.m;
    this.logWriteLocked(m.hash(r), m.keyDb(r));
    this.countLocked(r, -1);
    m.setKeyInfo(r, m.keyLen(r), to);
    this.countLocked(r, 1);
    this.noteWriteLocked(m.hash(r), to);
    // The key is new to database `to` (MOVE), as Redis's dbAdd there says.
    if (this.onCreate !== null) this.onCreate(this.keyCopy(r), to);
  }

  dbCountsLocked(db: number): { keys: number; expires: number } {
    return { keys: this.m.h32[HW.dbKeys + db]!, expires: this.m.h32[HW.dbVolatile + db]! };
  }

  usedBytesLocked(): number {
    return usedBytes(this.m);
  }

  /**
   * One step of the active expiry sweep: examines up to `slots` index slots from the shard's
   * cursor, deleting expired items. Returns [volatile items seen, expired items deleted].
   */
  expireStepLocked(now: number, slots: number, out: Int32Array): void {
    const m = this.m;
    const h = m.h32;
    const refs = m.refs;
    const tags = m.tags;
    const mask = refs.length - 1;
    let cur = h[HW.expireCursor]! & mask;
    let seen = 0;
    let expired = 0;
    for (let k = 0; k < slots; k++) {
      // Only slots marked as holding a key with an expiry are read past their tag.
      if ((tags[cur]! & TagBits.ttl) !== 0) {
        const r = refs[cur]!;
        seen++;
        if (now > m.expireAt(r)) {
          const key = this.oplog !== null || this.onDrop !== null ? this.keyCopy(r) : null;
          const db = m.keyDb(r);
          this.deleteLocked(cur, r);
          expired++;
          if (key !== null) {
            this.emit(OpType.DEL, key, null, 0, 0, 0, db);
            if (this.onDrop !== null) this.onDrop(key, db, false);
          }
          // Backward shift may have moved an entry into this slot: examine it again.
          if (refs[cur] !== NIL_REF) continue;
        }
      }
      cur = (cur + 1) & mask;
    }
    h[HW.expireCursor] = cur;
    m.hf64[HF.expired] = m.hf64[HF.expired]! + expired;
    out[0] = seen;
    out[1] = expired;
  }

  statsLocked(): ShardStats {
    const m = this.m;
    const h = m.h32;
    const f = m.hf64;
    return {
      keys: h[HW.count]!,
      volatileKeys: h[HW.volatileCount]!,
      hits: f[HF.hits]!,
      misses: f[HF.misses]!,
      expired: f[HF.expired]!,
      evicted: f[HF.evicted]!,
      usedBytes: usedBytes(m),
      overheadBytes: fixedBytes(m),
      indexBytes: indexBytes(m),
      startupBytes: f[HF.startupBytes]!,
      freeChunkBytes: freeChunkBytes(m),
      maxBytes: f[HF.maxBytes]!,
      arenaBytes: h[HW.arenaPages]! * PAGE_SIZE,
      indexSlots: h[HW.indexCap]!,
    };
  }

  resetStatsLocked(): void {
    const f = this.m.hf64;
    f[HF.hits] = 0;
    f[HF.misses] = 0;
    f[HF.expired] = 0;
    f[HF.evicted] = 0;
  }

  /** Sets the memory and entry bounds (CONFIG SET maxmemory); evicts down to them. */
  setLimitsLocked(maxBytes: number, maxEntries: number, now: number): void {
    const m = this.m;
    m.hf64[HF.maxBytes] = maxBytes;
    m.h32[HW.maxEntries] = maxEntries;
    while ((maxBytes > 0 && usedBytes(m) > maxBytes) || (maxEntries > 0 && m.h32[HW.count]! > maxEntries)) {
      if (!this.evictOneLocked(now)) break;
    }
  }

  /**
   * CONFIG SET maxmemory-policy. A new policy relinks every item onto its lists, tail first in the
   * old order. Every policy but LFU keeps each item's last access second (ldt), and it survives the
   * move (OBJECT IDLETIME); moving from a list kept in another order (FIFO, SIEVE, S3-FIFO) to an
   * LRU list sorts the items by it, so the LRU list starts in access order to the second.
   */
  setEvictionLocked(policy: PolicyName, mode: EvictModeId, nowMs: number): void {
    const m = this.m;
    const h = m.h32;
    const from = h[HW.policy]!;
    const to = PolicyId[policy];
    if (from !== to) {
      const order: number[] = [];
      for (let l = 0; l < LIST_COUNT * 2; l += 2) {
        for (let r = h[HW.lists + l + 1]!; r !== NIL_REF; r = m.prev(r)) order.push(r);
      }
      const keepsLdt = from !== PolicyId.lfu && to !== PolicyId.lfu;
      if (keepsLdt && isLru(to) && !isLru(from)) {
        const nowSec = accessSeconds(nowMs);
        const age = (r: number): number => (nowSec - m.ldt(r)) & 0xffff;
        order.sort((a, b) => age(b) - age(a));
      }
      for (let l = 0; l < LIST_COUNT * 2; l++) h[HW.lists + l] = NIL_REF;
      h[HW.smallCount] = 0;
      h[HW.sieveHand] = NIL_REF;
      h[HW.policy] = to;
      for (const r of order) {
        const ldt = m.ldt(r);
        m.setPolicyBits(r, 0);
        onInsert(m, r, nowMs);
        if (keepsLdt) m.setLdt(r, ldt);
      }
      resizeIndex(m, h[HW.indexCap]!);
    }
    h[HW.evictMode] = mode;
  }
}

export interface ShardStats {
  keys: number;
  volatileKeys: number;
  hits: number;
  misses: number;
  expired: number;
  evicted: number;
  /** Everything allocated: header, index and the arena pages in use (used_memory). */
  usedBytes: number;
  /** Header and index: what the shard holds besides its items (used_memory_overhead). */
  overheadBytes: number;
  /** The index alone: slot refs, tags and ghost slots. */
  indexBytes: number;
  /** usedBytes when the shard was created empty. */
  startupBytes: number;
  /** Free chunks in the slab pages in use: allocated to a class but holding no item. */
  freeChunkBytes: number;
  maxBytes: number;
  /** The arena's pages, in use or free. */
  arenaBytes: number;
  indexSlots: number;
}
