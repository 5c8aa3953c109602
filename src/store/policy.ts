/**
 * Eviction policies over the shard's header lists. Head = most recently inserted or used,
 * tail = next to go; ItemHeader.prev points toward the head, next toward the tail.
 *
 *   lru     one list; a hit moves the item to the head; victim = tail. Exact within a shard.
 *   fifo    one list; hits change nothing.
 *   lfu     one list per 8-bit counter (Redis's logarithmic counter, LFU_INIT_VAL 5, decay per
 *           lfu-decay-time minutes); a hit moves the item to the head of its counter's list;
 *           victim = the least decayed counter among the lists' tails (LRU within a counter).
 *   sieve   one list and a hand (Zhang et al., NSDI'24); a hit sets a visited bit; the hand walks
 *           from the tail toward the head clearing bits and evicts the first unvisited item.
 *   s3fifo  small and main FIFO queues and a ghost set of hashes (Yang et al., SOSP'23); a hit
 *           bumps a 2-bit frequency; a key found in the ghost set is inserted into main.
 *
 * All functions assume the shard lock is held.
 */
import { EvictMode, LIST_COUNT, LIST_MAIN, LIST_SMALL, NIL_REF, PolicyId, S3_FREQ_MASK, S3_IN_MAIN } from '../../native-layout/shard.ts';
import { HW, ShardMemory } from './memory.ts';

export const LFU_INIT_VAL = 5;
const LFU_MAX = 255;
/** Items a volatile-* victim search walks from a list's tail before giving up. */
const VOLATILE_WALK = 1024;
/** Keys volatile-ttl samples, as Redis's maxmemory-samples default. */
const TTL_SAMPLES = 5;

export function pushHead(m: ShardMemory, list: number, r: number): void {
  const n = m.head(list);
  m.setPrev(r, NIL_REF);
  m.setNext(r, n);
  if (n !== NIL_REF) m.setPrev(n, r);
  else m.setTail(list, r);
  m.setHead(list, r);
}

export function unlink(m: ShardMemory, list: number, r: number): void {
  const p = m.prev(r);
  const n = m.next(r);
  if (p !== NIL_REF) m.setNext(p, n);
  else m.setHead(list, n);
  if (n !== NIL_REF) m.setPrev(n, p);
  else m.setTail(list, p);
}

/** The list an item is on. */
export function listOf(m: ShardMemory, r: number): number {
  const policy = m.h32[HW.policy]!;
  if (policy === PolicyId.lfu) return m.policyBits(r);
  if (policy === PolicyId.s3fifo) return (m.policyBits(r) & S3_IN_MAIN) !== 0 ? LIST_MAIN : LIST_SMALL;
  return LIST_MAIN;
}

export function nextRandom(m: ShardMemory): number {
  let x = m.h32[HW.rng]! | 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  m.h32[HW.rng] = x >>> 0;
  return x >>> 0;
}

// ---- LFU counter (Redis evict.c semantics) -----------------------------------------------------

export function lfuMinutes(nowMs: number): number {
  return Math.floor(nowMs / 60000) & 0xffff;
}

/** The counter after decay for the minutes elapsed since the item's ldt. */
export function lfuDecayed(m: ShardMemory, r: number, nowMin: number): number {
  const counter = m.policyBits(r);
  const period = m.h32[HW.lfuDecayTime]!;
  if (period === 0) return counter;
  const ldt = m.ldt(r);
  const elapsed = nowMin >= ldt ? nowMin - ldt : 65535 - ldt + nowMin;
  const periods = Math.floor(elapsed / period);
  return periods > counter ? 0 : counter - periods;
}

function lfuLogIncr(m: ShardMemory, counter: number): number {
  if (counter === LFU_MAX) return LFU_MAX;
  const factor = m.h32[HW.lfuLogFactor]!;
  if (factor === 0) return counter + 1;
  const base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
  const p = 1 / (base * factor + 1);
  return nextRandom(m) / 4294967296 < p ? counter + 1 : counter;
}

// ---- S3-FIFO ghost set: a direct-mapped table of (hash, insertion seq) -------------------------

function ghostLimit(m: ShardMemory): number {
  const h = m.h32;
  const cap = h[HW.maxEntries]! || h[HW.count]!;
  return Math.max(1, cap - smallTarget(m));
}

export function smallTarget(m: ShardMemory): number {
  const h = m.h32;
  const cap = h[HW.maxEntries]! || h[HW.count]!;
  return Math.max(1, Math.floor(cap / 10));
}

function ghostInsert(m: ShardMemory, hash: number): void {
  const gcap = m.h32[HW.ghostCap]!;
  if (gcap === 0) return;
  const i = (hash & (gcap - 1)) * 2;
  const seq = m.h32[HW.ghostSeq]!;
  m.ghost[i] = hash === 0 ? 1 : hash;
  m.ghost[i + 1] = seq;
  m.h32[HW.ghostSeq] = (seq + 1) >>> 0;
}

/** Whether `hash` was evicted from the small queue recently, consuming the ghost entry. */
function ghostTake(m: ShardMemory, hash: number): boolean {
  const gcap = m.h32[HW.ghostCap]!;
  if (gcap === 0) return false;
  const i = (hash & (gcap - 1)) * 2;
  const g = m.ghost;
  if (g[i] !== (hash === 0 ? 1 : hash)) return false;
  const age = (m.h32[HW.ghostSeq]! - g[i + 1]!) >>> 0;
  g[i] = 0;
  return age <= ghostLimit(m);
}

// ---- policy events -----------------------------------------------------------------------------

/** Seconds clock (mod 2^16) kept in ldt by the non-LFU policies, for OBJECT IDLETIME. */
export function accessSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000) & 0xffff;
}

/** Whether the policy keeps one list in recency order (exact LRU, or to the second). */
export function isLru(policy: number): boolean {
  return policy === PolicyId.lru || policy === PolicyId.lruSeconds;
}

export function onInsert(m: ShardMemory, r: number, nowMs: number): void {
  const policy = m.h32[HW.policy]!;
  if (policy !== PolicyId.lfu) m.setLdt(r, accessSeconds(nowMs));
  if (policy === PolicyId.lfu) {
    m.setPolicyBits(r, LFU_INIT_VAL);
    m.setLdt(r, lfuMinutes(nowMs));
    pushHead(m, LFU_INIT_VAL, r);
  } else if (policy === PolicyId.s3fifo) {
    if (ghostTake(m, m.hash(r))) {
      m.setPolicyBits(r, S3_IN_MAIN);
      pushHead(m, LIST_MAIN, r);
    } else {
      pushHead(m, LIST_SMALL, r);
      m.h32[HW.smallCount] = m.h32[HW.smallCount]! + 1;
    }
  } else {
    pushHead(m, LIST_MAIN, r);
  }
}

/**
 * RESTORE's access hints (Redis's objectSetLRUOrLFU): under LFU, `freq` becomes the item's
 * counter (it moves to that counter's list); otherwise `idleSeconds` sets the access time OBJECT
 * IDLETIME reads. The item keeps its place in the other policies' lists, where it went as new.
 */
export function setAccess(m: ShardMemory, r: number, nowMs: number, idleSeconds: number | null, freq: number | null): void {
  if (m.h32[HW.policy] === PolicyId.lfu) {
    if (freq === null) return;
    unlink(m, m.policyBits(r), r);
    m.setPolicyBits(r, freq);
    m.setLdt(r, lfuMinutes(nowMs));
    pushHead(m, freq, r);
  } else if (idleSeconds !== null) m.setLdt(r, (accessSeconds(nowMs) - idleSeconds) & 0xffff);
}

export function onHit(m: ShardMemory, r: number, nowMs: number): void {
  const policy = m.h32[HW.policy]!;
  // Written only when it changes: a hit then leaves the item's cache line clean, which spares the
  // other threads' caches a copy (the access time has one-second resolution).
  if (policy !== PolicyId.lfu) {
    const t = accessSeconds(nowMs);
    if (m.ldt(r) !== t) m.setLdt(r, t);
    // Every item ahead of r in the list was relinked in this second too, so r is where a relink
    // would leave it, to the list's one-second resolution. (Threads read the clock before they
    // take the lock, so near a second's edge the order can be off by that second.)
    else if (policy === PolicyId.lruSeconds) return;
  }
  switch (policy) {
    case PolicyId.lru:
    case PolicyId.lruSeconds:
      if (m.head(LIST_MAIN) !== r) {
        unlink(m, LIST_MAIN, r);
        pushHead(m, LIST_MAIN, r);
      }
      return;
    case PolicyId.sieve:
      if (m.policyBits(r) !== 1) m.setPolicyBits(r, 1);
      return;
    case PolicyId.s3fifo: {
      const b = m.policyBits(r);
      if ((b & S3_FREQ_MASK) < S3_FREQ_MASK) m.setPolicyBits(r, b + 1);
      return;
    }
    case PolicyId.lfu: {
      const nowMin = lfuMinutes(nowMs);
      const old = m.policyBits(r);
      const c = lfuLogIncr(m, lfuDecayed(m, r, nowMin));
      unlink(m, old, r);
      m.setPolicyBits(r, c);
      m.setLdt(r, nowMin);
      pushHead(m, c, r);
      return;
    }
    default:
      return;
  }
}

export function onRemove(m: ShardMemory, r: number): void {
  const h = m.h32;
  const list = listOf(m, r);
  if (h[HW.policy] === PolicyId.sieve && h[HW.sieveHand] === r) h[HW.sieveHand] = m.prev(r);
  if (list === LIST_SMALL && h[HW.policy] === PolicyId.s3fifo) h[HW.smallCount] = h[HW.smallCount]! - 1;
  unlink(m, list, r);
}

/**
 * Puts `r` where `old` is in its list, with `old`'s policy bits and ldt: a key rewritten into a
 * new chunk stays the same key to the policy. `old` is left unlinked; the caller frees it.
 */
export function replaceInList(m: ShardMemory, old: number, r: number): void {
  const list = listOf(m, old);
  const p = m.prev(old);
  const n = m.next(old);
  m.setPolicyBits(r, m.policyBits(old));
  m.setLdt(r, m.ldt(old));
  m.setPrev(r, p);
  m.setNext(r, n);
  if (p !== NIL_REF) m.setNext(p, r);
  else m.setHead(list, r);
  if (n !== NIL_REF) m.setPrev(n, r);
  else m.setTail(list, r);
  if (m.h32[HW.sieveHand] === old) m.h32[HW.sieveHand] = r;
}

// ---- victim selection --------------------------------------------------------------------------

function lfuVictim(m: ShardMemory, nowMs: number, volatileOnly: boolean): number {
  // Without decay the lowest non-empty counter list holds the minimum; with decay any list's tail
  // may have decayed lowest, so all are examined (ties go to the lower stored counter).
  const decays = m.h32[HW.lfuDecayTime] !== 0;
  const nowMin = lfuMinutes(nowMs);
  let best = NIL_REF;
  let bestCounter = LFU_MAX + 1;
  for (let list = 0; list < LIST_COUNT; list++) {
    let r = m.tail(list);
    if (volatileOnly) r = walkToVolatile(m, r);
    if (r === NIL_REF) continue;
    if (!decays) return r;
    const c = lfuDecayed(m, r, nowMin);
    if (c < bestCounter) {
      best = r;
      bestCounter = c;
      if (c === 0) break;
    }
  }
  return best;
}

function walkToVolatile(m: ShardMemory, r: number): number {
  for (let i = 0; r !== NIL_REF && i < VOLATILE_WALK; i++, r = m.prev(r)) if (m.expireAt(r) !== 0) return r;
  return NIL_REF;
}

function sieveVictim(m: ShardMemory): number {
  const h = m.h32;
  let hand = h[HW.sieveHand]! || m.tail(LIST_MAIN);
  if (hand === NIL_REF) return NIL_REF;
  while (m.policyBits(hand) !== 0) {
    m.setPolicyBits(hand, 0);
    hand = m.prev(hand) || m.tail(LIST_MAIN);
  }
  h[HW.sieveHand] = hand;
  return hand;
}

function s3fifoVictim(m: ShardMemory): number {
  const h = m.h32;
  for (;;) {
    const small = h[HW.smallCount]!;
    if (small > 0 && (small >= smallTarget(m) || m.tail(LIST_MAIN) === NIL_REF)) {
      const t = m.tail(LIST_SMALL);
      if ((m.policyBits(t) & S3_FREQ_MASK) !== 0) {
        unlink(m, LIST_SMALL, t);
        h[HW.smallCount] = small - 1;
        m.setPolicyBits(t, S3_IN_MAIN);
        pushHead(m, LIST_MAIN, t);
        continue;
      }
      ghostInsert(m, m.hash(t));
      return t;
    }
    const t = m.tail(LIST_MAIN);
    if (t === NIL_REF) return NIL_REF;
    const b = m.policyBits(t);
    if ((b & S3_FREQ_MASK) !== 0) {
      unlink(m, LIST_MAIN, t);
      m.setPolicyBits(t, b - 1);
      pushHead(m, LIST_MAIN, t);
      continue;
    }
    return t;
  }
}

/** A random occupied slot's ref, scanning on from a random start; NIL_REF if none qualifies. */
function sampleRef(m: ShardMemory, volatileOnly: boolean): number {
  const refs = m.refs;
  const mask = refs.length - 1;
  const start = nextRandom(m) & mask;
  for (let k = 0; k <= mask; k++) {
    const r = refs[(start + k) & mask]!;
    if (r !== NIL_REF && (!volatileOnly || m.expireAt(r) !== 0)) return r;
  }
  return NIL_REF;
}

function ttlVictim(m: ShardMemory): number {
  let best = NIL_REF;
  for (let i = 0; i < TTL_SAMPLES; i++) {
    const r = sampleRef(m, true);
    if (r === NIL_REF) return NIL_REF;
    if (best === NIL_REF || m.expireAt(r) < m.expireAt(best)) best = r;
  }
  return best;
}

/**
 * The item to evict next under the shard's policy and evict mode, or NIL_REF if none may be
 * evicted. May reorder queues (SIEVE's hand, S3-FIFO's promotions) but removes nothing.
 */
export function pickVictim(m: ShardMemory, nowMs: number): number {
  const h = m.h32;
  if (h[HW.count] === 0) return NIL_REF;
  const mode = h[HW.evictMode]!;
  switch (mode) {
    case EvictMode.noeviction:
      return NIL_REF;
    case EvictMode.random:
      return sampleRef(m, false);
    case EvictMode.volatileRandom:
      return h[HW.volatileCount] === 0 ? NIL_REF : sampleRef(m, true);
    case EvictMode.volatileTtl:
      return h[HW.volatileCount] === 0 ? NIL_REF : ttlVictim(m);
    default:
      break;
  }
  const volatileOnly = mode === EvictMode.volatile;
  if (volatileOnly && h[HW.volatileCount] === 0) return NIL_REF;
  switch (h[HW.policy]!) {
    case PolicyId.lfu:
      return lfuVictim(m, nowMs, volatileOnly);
    case PolicyId.sieve:
      return volatileOnly ? walkToVolatile(m, m.tail(LIST_MAIN)) : sieveVictim(m);
    case PolicyId.s3fifo:
      if (!volatileOnly) return s3fifoVictim(m);
      return walkToVolatile(m, m.tail(LIST_SMALL)) || walkToVolatile(m, m.tail(LIST_MAIN));
    default:
      return volatileOnly ? walkToVolatile(m, m.tail(LIST_MAIN)) : m.tail(LIST_MAIN);
  }
}
