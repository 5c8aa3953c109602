/**
 * The hash index: open addressing with linear probing over u32 item refs, a parallel u8 tag per
 * slot (native-layout TagBits: hash bits, so most probes that land on another key are rejected
 * without touching the arena, and a mark on keys with an expiry), and backward-shift deletion (no
 * tombstones).
 *
 * Invariant: a used slot's tag is tagOf(hash), with TagBits.ttl set exactly when its item's
 * expireAt is not 0 (slotTag). insertSlot derives the mark; whoever changes an indexed item's
 * expiry from or to 0 restores it (markExpiry).
 *
 * Invariant (linear probing with backward shift): every slot between a key's home slot
 * (hash & mask) and the slot that holds it is occupied. SCAN relies on it to enumerate one home
 * bucket by walking from the home slot to the next empty slot.
 *
 * The index grows by doubling when it would pass 3/4 full; growth re-inserts every live item by
 * walking the policy lists, so it needs no second table. All functions assume the shard lock.
 */
import { indexLayout, LIST_COUNT, NIL_REF, PolicyId, TagBits } from '../../native-layout/shard.ts';
import { tagOf } from './hash.ts';
import { HW, keyInfoWord, ShardMemory } from './memory.ts';

export const INITIAL_INDEX_CAP = 1024;

/**
 * Whether item r holds the key bytes key[koff, koff + len) in the database whose KeyInfo word
 * (length and db) is `info`.
 */
export function keyEquals(m: ShardMemory, r: number, key: Uint8Array, koff: number, len: number, info: number): boolean {
  if (m.keyInfo(r) !== info) return false;
  const a = m.a8;
  const off = m.keyOffset(r);
  for (let i = 0; i < len; i++) if (a[off + i] !== key[koff + i]) return false;
  return true;
}

/**
 * The slot holding the key key[koff, koff + len) (all of `key` by default) in database `db`, or
 * -1. The offset form lets a caller look up a key inside a larger buffer without making a view.
 */
export function findSlot(m: ShardMemory, key: Uint8Array, h: number, db: number, koff = 0, len = key.length): number {
  const refs = m.refs;
  const tags = m.tags;
  const mask = refs.length - 1;
  const tag = tagOf(h);
  const info = keyInfoWord(len, db);
  for (let i = h & mask; ; i = (i + 1) & mask) {
    const r = refs[i]!;
    if (r === NIL_REF) return -1;
    if ((tags[i]! & TagBits.hash) === tag && m.hash(r) === h && keyEquals(m, r, key, koff, len, info)) return i;
  }
}

/** Places a ref whose key is known to be absent. The caller ensures capacity first. */
export function insertSlot(m: ShardMemory, r: number, h: number): void {
  const refs = m.refs;
  const mask = refs.length - 1;
  let i = h & mask;
  while (refs[i] !== NIL_REF) i = (i + 1) & mask;
  refs[i] = r;
  m.tags[i] = slotTag(m, r, h);
}

/** The tag of a slot holding item r of hash h. */
export function slotTag(m: ShardMemory, r: number, h: number): number {
  return m.expireAt(r) !== 0 ? tagOf(h) | TagBits.ttl : tagOf(h);
}

/** Sets or clears the expiry mark of the slot that holds item r, after its expireAt changed. */
export function markExpiry(m: ShardMemory, r: number): void {
  const i = slotOfRef(m, r);
  m.tags[i] = slotTag(m, r, m.hash(r));
}

export function removeSlot(m: ShardMemory, i: number): void {
  const refs = m.refs;
  const tags = m.tags;
  const mask = refs.length - 1;
  let hole = i;
  for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
    const r = refs[j]!;
    if (r === NIL_REF) break;
    const home = m.hash(r) & mask;
    // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      refs[hole] = r;
      tags[hole] = tags[j]!;
      hole = j;
    }
  }
  refs[hole] = NIL_REF;
  tags[hole] = 0;
}

/** Slot of a ref known to be indexed. */
export function slotOfRef(m: ShardMemory, r: number): number {
  const refs = m.refs;
  const mask = refs.length - 1;
  for (let i = m.hash(r) & mask; ; i = (i + 1) & mask) if (refs[i] === r) return i;
}

export function ensureCapacity(m: ShardMemory, extra: number): void {
  const h = m.h32;
  const cap = h[HW.indexCap]!;
  if ((h[HW.count]! + extra) * 4 <= cap * 3) return;
  let next = cap * 2;
  while ((h[HW.count]! + extra) * 4 > next * 3) next *= 2;
  resizeIndex(m, next);
}

/** Rebuilds the index at `cap` slots from the policy lists. */
export function resizeIndex(m: ShardMemory, cap: number): void {
  const h = m.h32;
  const gcap = h[HW.policy] === PolicyId.s3fifo ? cap : 0;
  const bytes = indexLayout(cap, gcap).bytes;
  const buf = m.buffers.index;
  if (bytes > buf.maxByteLength) throw new RangeError(`index of ${cap} slots exceeds its reservation`);
  if (bytes > buf.byteLength) buf.grow(bytes);
  h[HW.indexCap] = cap;
  h[HW.ghostCap] = gcap;
  h[HW.generation] = h[HW.generation]! + 1;
  m.refresh();
  m.refs.fill(0);
  m.tags.fill(0);
  m.ghost.fill(0);
  for (let list = 0; list < LIST_COUNT; list++) {
    for (let r = m.head(list); r !== NIL_REF; r = m.next(r)) insertSlot(m, r, m.hash(r));
  }
}
