/**
 * ShardMemory: one thread's typed-array views over a shard's SharedArrayBuffers, and the named
 * accessors every other store module uses to read layout fields. No other module computes an
 * offset.
 *
 * The index and arena buffers are growable SharedArrayBuffers. Views over them are fixed-length
 * (length-tracking views are an order of magnitude slower in V8), so each thread rebuilds its
 * views when ShardHeader.generation differs from the one it last saw; `lock()` in shard.ts checks
 * this right after acquiring the lock, which is when the grower's writes become visible.
 */
import { Buffer } from 'node:buffer';
import {
  indexLayout,
  GhostSlot,
  ItemHeader,
  ItemMeta,
  KeyInfo,
  PageHeader,
  PAGE_SIZE,
  REF_UNIT,
  ShardHeader,
  ValInfo,
  WatchSlot,
} from '../../native-layout/shard.ts';
import type { ValueEncodingId } from '../../native-layout/shard.ts';

export interface ShardBuffers {
  readonly header: SharedArrayBuffer;
  readonly index: SharedArrayBuffer;
  readonly arena: SharedArrayBuffer;
}

const H = ShardHeader.fields;
/** Header word indexes (u32 / i32 views) and f64 indexes, named once. */
export const HW = {
  lock: H.lock.index,
  lockOwner: H.lockOwner.index,
  generation: H.generation.index,
  policy: H.policy.index,
  indexCap: H.indexCap.index,
  ghostCap: H.ghostCap.index,
  count: H.count.index,
  volatileCount: H.volatileCount.index,
  arenaPages: H.arenaPages.index,
  pagesInUse: H.pagesInUse.index,
  freeRunHead: H.freeRunHead.index,
  maxEntries: H.maxEntries.index,
  sieveHand: H.sieveHand.index,
  smallCount: H.smallCount.index,
  ghostSeq: H.ghostSeq.index,
  lfuLogFactor: H.lfuLogFactor.index,
  lfuDecayTime: H.lfuDecayTime.index,
  rng: H.rng.index,
  evictMode: H.evictMode.index,
  expireCursor: H.expireCursor.index,
  classCount: H.classCount.index,
  flushEpoch: H.flushEpoch.index,
  lists: H.lists.index,
  classSize: H.classSize.index,
  classFree: H.classFree.index,
  classChunks: H.classChunks.index,
  classLive: H.classLive.index,
  dbKeys: H.dbKeys.index,
  dbVolatile: H.dbVolatile.index,
  watchers: H.watchers.index,
  writeSeq: H.writeSeq.index,
  watchSlotsUsed: H.watchSlotsUsed.index,
  watchTable: H.watchTable.index,
} as const;
export const HF = {
  maxBytes: H.maxBytes.index,
  startupBytes: H.startupBytes.index,
  hits: H.hits.index,
  misses: H.misses.index,
  expired: H.expired.index,
  evicted: H.expired.index + 1,
} as const;
if (H.evicted.index !== HF.evicted) throw new Error('ShardHeader counters must be consecutive f64 fields');

const I = ItemHeader.fields;
/** u32 word offsets within an item header; an item's first word is ref * WORDS_PER_REF. */
const WORDS_PER_REF = REF_UNIT / 4;
const IW_PREV = I.prev.index;
const IW_NEXT = I.next.index;
const IW_KEYINFO = I.keyInfo.index;
const IW_VALINFO = I.valInfo.index;
const IW_META = I.meta.index;
const IW_HASH = I.hash.index;
/** f64 offset within an item header; an item's first f64 is ref (REF_UNIT is 8). */
const IF_EXPIRE = I.expireAt.index;
if (REF_UNIT !== 8) throw new Error('REF_UNIT must equal the f64 width for the expireAt accessor');
export const ITEM_HEADER_BYTES = ItemHeader.size;

const W = WatchSlot.fields;
const WATCH_SLOT_WORDS = WatchSlot.size / 4;
const HW_WATCH_TABLE = H.watchTable.index;
/** h32 index of watch slot i's first word. */
const watchSlotAt = (i: number) => HW_WATCH_TABLE + i * WATCH_SLOT_WORDS;

const P = PageHeader.fields;
const PAGE_WORDS = PAGE_SIZE / 4;
export const PAGE_HEADER_BYTES = PageHeader.size;

const K_LEN = KeyInfo.len;
const K_DB = KeyInfo.db;
export function keyInfoWord(len: number, db: number): number {
  return (((len & K_LEN.mask) << K_LEN.shift) | ((db & K_DB.mask) << K_DB.shift)) >>> 0;
}

const V_LEN = ValInfo.len;
const V_ENC = ValInfo.encoding;

const M_CLASS = ItemMeta.classId;
const M_STATE = ItemMeta.state;
const M_POLICY = ItemMeta.policy;
const M_LDT = ItemMeta.ldt;

export class ShardMemory {
  readonly buffers: ShardBuffers;
  /** Header views. */
  readonly hi32: Int32Array;
  readonly h32: Uint32Array;
  readonly hf64: Float64Array;
  /** Index views, rebuilt on generation change. */
  refs!: Uint32Array;
  tags!: Uint8Array;
  ghost!: Uint32Array;
  /** Arena views, rebuilt on generation change. */
  /** A Buffer (a Uint8Array) so copies out of the arena use Buffer#copy, a plain memcpy. */
  a8!: Buffer;
  a32!: Uint32Array;
  a64!: Float64Array;
  seenGeneration = -1;

  constructor(buffers: ShardBuffers) {
    this.buffers = buffers;
    this.hi32 = new Int32Array(buffers.header);
    this.h32 = new Uint32Array(buffers.header);
    this.hf64 = new Float64Array(buffers.header);
  }

  /** Rebuilds the index and arena views. Caller holds the shard lock (or is the creator). */
  refresh(): void {
    const h = this.h32;
    const cap = h[HW.indexCap]!;
    const gcap = h[HW.ghostCap]!;
    const L = indexLayout(cap, gcap);
    const ib = this.buffers.index;
    this.refs = new Uint32Array(ib, L.refs, cap);
    this.ghost = new Uint32Array(ib, L.ghost, (gcap * GhostSlot.size) / 4);
    this.tags = new Uint8Array(ib, L.tags, cap);
    const bytes = h[HW.arenaPages]! * PAGE_SIZE;
    const ab = this.buffers.arena;
    this.a8 = Buffer.from(ab, 0, bytes);
    this.a32 = new Uint32Array(ab, 0, bytes / 4);
    this.a64 = new Float64Array(ab, 0, bytes / 8);
    this.seenGeneration = h[HW.generation]!;
  }

  // ---- item fields ---------------------------------------------------------------------------
  prev(r: number): number { return this.a32[r * WORDS_PER_REF + IW_PREV]!; }
  setPrev(r: number, v: number): void { this.a32[r * WORDS_PER_REF + IW_PREV] = v; }
  next(r: number): number { return this.a32[r * WORDS_PER_REF + IW_NEXT]!; }
  setNext(r: number, v: number): void { this.a32[r * WORDS_PER_REF + IW_NEXT] = v; }
  /** The raw KeyInfo word: compare it with keyInfoWord(len, db) to match length and database at once. */
  keyInfo(r: number): number { return this.a32[r * WORDS_PER_REF + IW_KEYINFO]!; }
  keyLen(r: number): number { return (this.keyInfo(r) >>> K_LEN.shift) & K_LEN.mask; }
  keyDb(r: number): number { return (this.keyInfo(r) >>> K_DB.shift) & K_DB.mask; }
  setKeyInfo(r: number, len: number, db: number): void { this.a32[r * WORDS_PER_REF + IW_KEYINFO] = keyInfoWord(len, db); }
  valLen(r: number): number { return (this.a32[r * WORDS_PER_REF + IW_VALINFO]! >>> V_LEN.shift) & V_LEN.mask; }
  /** The value's ValueEncoding (native-layout/shard.ts). */
  encoding(r: number): ValueEncodingId { return ((this.a32[r * WORDS_PER_REF + IW_VALINFO]! >>> V_ENC.shift) & V_ENC.mask) as ValueEncodingId; }
  /** A value written whole: its length and encoding together. */
  setValInfo(r: number, len: number, encoding: ValueEncodingId): void {
    this.a32[r * WORDS_PER_REF + IW_VALINFO] = (((len & V_LEN.mask) << V_LEN.shift) | ((encoding & V_ENC.mask) << V_ENC.shift)) >>> 0;
  }
  hash(r: number): number { return this.a32[r * WORDS_PER_REF + IW_HASH]!; }
  setHash(r: number, v: number): void { this.a32[r * WORDS_PER_REF + IW_HASH] = v; }
  expireAt(r: number): number { return this.a64[r + IF_EXPIRE]!; }
  setExpireAt(r: number, v: number): void { this.a64[r + IF_EXPIRE] = v; }
  /** Byte offset of the key; the value follows it. */
  keyOffset(r: number): number { return r * REF_UNIT + ITEM_HEADER_BYTES; }
  valOffset(r: number): number { return r * REF_UNIT + ITEM_HEADER_BYTES + this.keyLen(r); }

  meta(r: number): number { return this.a32[r * WORDS_PER_REF + IW_META]!; }
  setMeta(r: number, v: number): void { this.a32[r * WORDS_PER_REF + IW_META] = v; }
  classId(r: number): number { return (this.meta(r) >>> M_CLASS.shift) & M_CLASS.mask; }
  state(r: number): number { return (this.meta(r) >>> M_STATE.shift) & M_STATE.mask; }
  policyBits(r: number): number { return (this.meta(r) >>> M_POLICY.shift) & M_POLICY.mask; }
  setPolicyBits(r: number, v: number): void {
    const m = this.meta(r) & ~(M_POLICY.mask << M_POLICY.shift);
    this.setMeta(r, (m | ((v & M_POLICY.mask) << M_POLICY.shift)) >>> 0);
  }
  ldt(r: number): number { return (this.meta(r) >>> M_LDT.shift) & M_LDT.mask; }
  setLdt(r: number, v: number): void {
    const m = this.meta(r) & ~(M_LDT.mask << M_LDT.shift);
    this.setMeta(r, (m | ((v & M_LDT.mask) << M_LDT.shift)) >>> 0);
  }
  /** A fresh meta word: class and state set, policy bits and ldt zero. */
  static packMeta(classId: number, state: number): number {
    return (((classId & M_CLASS.mask) << M_CLASS.shift) | ((state & M_STATE.mask) << M_STATE.shift)) >>> 0;
  }

  // ---- WATCH table slots (header) ------------------------------------------------------------
  watchWordAt(i: number): number { return this.h32[watchSlotAt(i) + W.word.index]!; }
  watchRefs(i: number): number { return this.h32[watchSlotAt(i) + W.refs.index]!; }
  watchVersion(i: number): number { return this.h32[watchSlotAt(i) + W.version.index]!; }
  setWatchSlot(i: number, word: number, refs: number, version: number): void {
    const o = watchSlotAt(i);
    this.h32[o + W.word.index] = word;
    this.h32[o + W.refs.index] = refs;
    this.h32[o + W.version.index] = version;
  }
  setWatchRefs(i: number, v: number): void { this.h32[watchSlotAt(i) + W.refs.index] = v; }
  setWatchVersion(i: number, v: number): void { this.h32[watchSlotAt(i) + W.version.index] = v; }
  /** Every slot unused. */
  clearWatchTable(): void { this.h32.fill(0, HW_WATCH_TABLE, HW_WATCH_TABLE + H.watchTable.count); }

  // ---- page fields -----------------------------------------------------------------------------
  pageClass(p: number): number { return this.a32[p * PAGE_WORDS + P.classId.index]!; }
  setPageClass(p: number, v: number): void { this.a32[p * PAGE_WORDS + P.classId.index] = v; }
  pageLive(p: number): number { return this.a32[p * PAGE_WORDS + P.live.index]!; }
  setPageLive(p: number, v: number): void { this.a32[p * PAGE_WORDS + P.live.index] = v; }
  pageRun(p: number): number { return this.a32[p * PAGE_WORDS + P.runPages.index]!; }
  setPageRun(p: number, v: number): void { this.a32[p * PAGE_WORDS + P.runPages.index] = v; }
  pageNextFree(p: number): number { return this.a32[p * PAGE_WORDS + P.nextFree.index]!; }
  setPageNextFree(p: number, v: number): void { this.a32[p * PAGE_WORDS + P.nextFree.index] = v; }
  /** The page an item ref lives in. */
  static pageOf(r: number): number { return Math.floor((r * REF_UNIT) / PAGE_SIZE); }
  /** The ref of the first chunk (or run item) of a page. */
  static firstRef(p: number): number { return (p * PAGE_SIZE + PAGE_HEADER_BYTES) / REF_UNIT; }

  // ---- policy lists in the header ------------------------------------------------------------
  head(list: number): number { return this.h32[HW.lists + list * 2]!; }
  setHead(list: number, r: number): void { this.h32[HW.lists + list * 2] = r; }
  tail(list: number): number { return this.h32[HW.lists + list * 2 + 1]!; }
  setTail(list: number, r: number): void { this.h32[HW.lists + list * 2 + 1] = r; }
}
