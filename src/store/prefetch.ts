/**
 * Group prefetching for a batch of lookups (Chen, Ailamaki, Gibbons, Mowry: "Improving Hash Join
 * Performance through Prefetching", ICDE 2004). A lookup is a chain of dependent cache misses:
 * the index slot, then the item it points to, then (exact LRU) the item's list neighbours. Done
 * one key after another, a pipelined batch pays every miss in turn. Touching the same memory
 * phase by phase across the whole batch first lets the misses of different keys overlap, so the
 * batch pays about one miss latency per phase; the lookups that follow then hit the cache.
 *
 * JavaScript has no prefetch instruction: a phase reads the words and folds them into a value the
 * optimiser cannot drop. Reads only, so a wrong guess (a probe that lands past the home slot, an
 * item about to move) costs a wasted load, never a wrong result.
 *
 * It takes no lock. Without the shard locks, another thread may be rewriting what it reads, and
 * this thread's views may be stale (a shard grown since its last lock()): any word read is then
 * some value that was written there, or undefined past a view's end, which folds to 0 and makes
 * the offsets NaN, so the loops below stop. Every outcome is a wasted load; none is an exception
 * or a write. Taking no lock keeps the locks' hold times to the lookups themselves.
 */
import { NIL_REF, PolicyId, TagBits } from '../../native-layout/shard.ts';
import { tagOf } from './hash.ts';
import { HW } from './memory.ts';
import type { Shard } from './shard.ts';

/** The most lookups one call prepares; keys past it are looked up unprepared. */
export const PREFETCH_MAX = 64;
/**
 * Index slots one probe examines at most. A probe this long is rare below the index's 3/4 load
 * (mean length 2.5 at 3/4), and the bound keeps a probe through stale views short.
 */
const PROBE_MAX = 16;
/**
 * Cache lines of an item touched at most: enough for the header, a key and a 1 KiB value. A value
 * about to be read is touched up to this; past it a copy streams well enough on its own.
 */
const ITEM_LINES = 20;
const LINE = 64;

const refs = new Uint32Array(PREFETCH_MAX);
/** Where the folded loads go, so they stay live. */
let sink = 0;

/**
 * `shardIds[i]` is the shard of `hashes[i]`, as the caller computed it to lock the shards;
 * `readsValue[i]` is nonzero when lookup i will read the value (a GET), so its lines are wanted
 * too. Otherwise (a SET about to replace it) only the key is.
 */
export function prefetch(shards: readonly Shard[], hashes: Uint32Array, shardIds: readonly number[], readsValue: Uint8Array, n: number): void {
  if (n > PREFETCH_MAX) n = PREFETCH_MAX;
  let acc = 0;
  // Phase 1: the index slot of every key. Linear probing leaves many keys past their home slot,
  // so the probe follows the tags, which sit side by side, to the first slot whose tag matches:
  // the item that findSlot will compare (NIL_REF when an empty slot ends the probe first).
  for (let i = 0; i < n; i++) {
    const h = hashes[i]!;
    const m = shards[shardIds[i]!]!.m;
    const mask = m.refs.length - 1;
    const tag = tagOf(h);
    let r = NIL_REF;
    for (let slot = h & mask, j = 0; j < PROBE_MAX; j++, slot = (slot + 1) & mask) {
      const t = m.tags[slot];
      if (t !== undefined && (t & TagBits.hash) === tag) {
        r = m.refs[slot]!;
        break;
      }
      if (t === undefined || m.refs[slot] === NIL_REF) break;
    }
    refs[i] = r;
  }
  // Phase 2: the header of each item phase 1 found.
  for (let i = 0; i < n; i++) {
    const r = refs[i]!;
    if (r !== NIL_REF) acc ^= shards[shardIds[i]!]!.m.hash(r);
  }
  // Phase 3: the rest of the item's lines (the key, and the value when it will be read) and, for
  // exact LRU, its neighbours, whose links a hit rewrites. LRU to the second relinks a key at most
  // once a second, too seldom to pay two more loads per lookup for.
  for (let i = 0; i < n; i++) {
    const r = refs[i]!;
    if (r === NIL_REF) continue;
    const m = shards[shardIds[i]!]!.m;
    const start = m.keyOffset(r);
    const end = Math.min(m.valOffset(r) + (readsValue[i] !== 0 ? m.valLen(r) : 0), start + ITEM_LINES * LINE);
    // Items are REF_UNIT-aligned, not line-aligned: step over the lines themselves, from the one
    // the key starts in to the one the last wanted byte is in (the arena starts on a line).
    for (let o = start & -LINE; o < end; o += LINE) acc ^= m.a8[o]!;
    if (m.h32[HW.policy] === PolicyId.lru) {
      const p = m.prev(r);
      const q = m.next(r);
      if (p !== NIL_REF) acc ^= m.next(p);
      if (q !== NIL_REF) acc ^= m.prev(q);
    }
  }
  sink ^= acc;
}

