/**
 * hash32: MurmurHash3 x86_32 (Appleby, public domain algorithm) over bytes, seed 0.
 * It reads four bytes per round and is well distributed in every bit, so the shard, the index
 * slot and the tag can each take their own bits or remix without correlating.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export function hash32(b: Uint8Array, off = 0, len = b.length - off): number {
  let h = 0;
  const end4 = off + (len & ~3);
  let i = off;
  for (; i < end4; i += 4) {
    let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest !== 0) {
    let k = b[i]!;
    if (rest > 1) k |= b[i + 1]! << 8;
    if (rest > 2) k |= b[i + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix32(h ^ len);
}

/** MurmurHash3's finaliser: spreads a 32-bit value over all bits. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Shard of a hash: a multiplicative remix, so the index's low bits stay independent of it. */
export function shardOf(h: number, shardMask: number): number {
  return (Math.imul(h, 0x9e3779b1) >>> 16) & shardMask;
}

/**
 * A key as the WATCH table (ShardHeader.watchTable) knows it: its hash with its database folded
 * in, so the same key in two databases takes two slots. Distinct keys share a word with
 * probability 2^-32.
 */
export function watchWord(h: number, db: number): number {
  return (h ^ Math.imul(db, 0x9e3779b1)) >>> 0;
}

/** The hash bits of an index slot's tag (native-layout TagBits.hash): never 0, which marks an empty slot. */
export function tagOf(h: number): number {
  return (Math.imul(h, 0x85ebca77) >>> 25) | 1;
}
