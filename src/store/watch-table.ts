/**
 * A shard's table of WATCHed keys (ShardHeader.watchTable, native-layout/shard.ts): open
 * addressing over WATCH_SLOTS WatchSlot records, keyed by watchWord. Every function assumes the
 * shard lock is held.
 *
 * Invariants: a slot is in use while its refs is nonzero; an in-use word sits fewer than
 * WATCH_PROBES slots past its home (word mod WATCH_SLOTS), and no unused slot lies between its home
 * and it. Backward-shift deletion keeps both, so lookups stop at the first unused slot. At most
 * WATCH_SLOTS - 1 slots are in use, so the shift, which runs until it meets an unused slot, ends.
 */
import { WATCH_PROBES, WATCH_SLOTS } from '../../native-layout/shard.ts';
import { HW } from './memory.ts';
import type { ShardMemory } from './memory.ts';

const MASK = WATCH_SLOTS - 1;

/** The slot holding `word`, or -1. */
export function watchFindLocked(m: ShardMemory, word: number): number {
  for (let k = 0, i = word & MASK; k < WATCH_PROBES; k++, i = (i + 1) & MASK) {
    if (m.watchRefs(i) === 0) return -1;
    if (m.watchWordAt(i) === word) return i;
  }
  return -1;
}

/**
 * Takes a reference on `word`'s slot, taking a free slot for it if it has none. Returns the slot's
 * version, or -1 when no slot within WATCH_PROBES of its home is free or only one slot is left.
 */
export function watchAcquireLocked(m: ShardMemory, word: number): number {
  for (let k = 0, i = word & MASK; k < WATCH_PROBES; k++, i = (i + 1) & MASK) {
    const refs = m.watchRefs(i);
    if (refs === 0) {
      if (m.h32[HW.watchSlotsUsed]! >= WATCH_SLOTS - 1) return -1;
      m.setWatchSlot(i, word, 1, 0);
      m.h32[HW.watchSlotsUsed] = m.h32[HW.watchSlotsUsed]! + 1;
      return 0;
    }
    if (m.watchWordAt(i) === word) {
      m.setWatchRefs(i, refs + 1);
      return m.watchVersion(i);
    }
  }
  return -1;
}

/** Drops one reference on `word`'s slot (watchAcquireLocked gave it one), freeing it at zero. */
export function watchReleaseLocked(m: ShardMemory, word: number): void {
  const i = watchFindLocked(m, word);
  if (i < 0) return;
  const refs = m.watchRefs(i) - 1;
  if (refs > 0) {
    m.setWatchRefs(i, refs);
    return;
  }
  m.h32[HW.watchSlotsUsed] = m.h32[HW.watchSlotsUsed]! - 1;
  // Backward shift: a later word of the run moves into the hole unless its home lies cyclically
  // in (hole, its slot], where the move would put it before its home.
  let hole = i;
  for (let j = (i + 1) & MASK; m.watchRefs(j) !== 0; j = (j + 1) & MASK) {
    const home = m.watchWordAt(j) & MASK;
    const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
    if (stays) continue;
    m.setWatchSlot(hole, m.watchWordAt(j), m.watchRefs(j), m.watchVersion(j));
    hole = j;
  }
  m.setWatchSlot(hole, 0, 0, 0);
}

/** A write of `word`'s key: its slot's version moves on, if it has one. */
export function watchBumpLocked(m: ShardMemory, word: number): void {
  const i = watchFindLocked(m, word);
  if (i >= 0) m.setWatchVersion(i, (m.watchVersion(i) + 1) >>> 0);
}
