/**
 * SCAN over one shard with Redis's reverse-binary cursor (dict.c dictScan): the cursor counts
 * home buckets with its bits reversed, so when the index doubles, the buckets already visited map
 * onto buckets the cursor has also passed. A key present for the whole scan is returned at least
 * once however the index grows in between; keys may be returned more than once.
 *
 * A home bucket is enumerated by walking from its slot to the next empty slot (the linear-probing
 * invariant in index-table.ts) and keeping the items whose hash & mask equals the bucket.
 */
import { NIL_REF } from '../../native-layout/shard.ts';
import type { Shard } from './shard.ts';

function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

/** The next bucket cursor after `c` for a table of mask+1 slots; 0 when the scan is complete. */
export function nextCursor(c: number, mask: number): number {
  let v = (c | ~mask) >>> 0;
  v = rev32(v);
  v = (v + 1) >>> 0;
  return rev32(v);
}

/**
 * Appends the live keys of buckets from cursor `c` on to `out` until `want` keys were added or
 * about 10 × want buckets were visited; returns the next cursor (0 = shard done). Lock held.
 */
export function scanShardLocked(s: Shard, c: number, want: number, now: number, db: number, out: Buffer[], filter?: (k: Buffer) => boolean): number {
  const m = s.m;
  const refs = m.refs;
  const mask = refs.length - 1;
  c = c & mask;
  let added = 0;
  let visited = 0;
  const maxVisits = Math.max(want, 1) * 10;
  do {
    for (let i = c; ; i = (i + 1) & mask) {
      const r = refs[i]!;
      if (r === NIL_REF) break;
      if ((m.hash(r) & mask) !== c || m.keyDb(r) !== db) continue;
      const e = m.expireAt(r);
      if (e !== 0 && now > e) continue;
      const k = s.keyCopy(r);
      if (filter === undefined || filter(k)) {
        out.push(k);
        added++;
      }
    }
    c = nextCursor(c, mask);
    visited++;
  } while (c !== 0 && added < want && visited < maxVisits);
  return c;
}

/**
 * Every live key of `db` in the shard, in slot order, as a region of the shard's arena (valid
 * only while the lock is held): one sequential pass over the index, each key once. KEYS holds
 * the lock for the whole pass, so nothing moves under it and no key can be seen twice.
 */
export function forEachKeyLocked(s: Shard, db: number, now: number, emit: (arena: Uint8Array, off: number, len: number) => void): void {
  const m = s.m;
  const refs = m.refs;
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i]!;
    if (r === NIL_REF || m.keyDb(r) !== db) continue;
    const e = m.expireAt(r);
    if (e !== 0 && now > e) continue;
    emit(m.a8, m.keyOffset(r), m.keyLen(r));
  }
}
