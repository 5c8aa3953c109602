/**
 * Model-based randomized tests: a real Store and a plain reference model receive the same random
 * commands, every reply and dbsize are compared, and verifyStore checks the shard structures after
 * every step. A failure names the policy, shard count, seed and step, and lists the last commands,
 * so it replays exactly.
 *
 * The model is deliberately naive (arrays for lists, a Map for keys) so that it is obviously
 * right; it reimplements each policy from policy.ts's description rather than sharing its code.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode, ShardcacheError } from '../../src/errors.ts';
import { hash32, shardOf } from '../../src/store/hash.ts';
import { HW } from '../../src/store/memory.ts';
import { Store } from '../../src/store/store.ts';
import type { SetOptions } from '../../src/store/store.ts';
import { verifyShardLocked, verifyStore } from '../../src/store/verify.ts';
import { NIL_REF, PAGE_SIZE } from '../../native-layout/shard.ts';

// ---- seeded PRNG ----------------------------------------------------------------------------------

/** A 32-bit state mixed by a multiply-xorshift finalizer: cheap, and every seed gives its own stream. */
class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 4294967296) * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }
}

// ---- reference model ------------------------------------------------------------------------------

type Policy = 'lru' | 'lfu' | 'fifo' | 'sieve' | 's3fifo' | 'lru-seconds';
/** The access second kept for every policy but LFU (mod 2^16, as the item header keeps it). */
const secondOf = (now: number): number => Math.floor(now / 1000) & 0xffff;
const MAIN = 0;
const SMALL = 1;
const LFU_INIT = 5;
const S3_FREQ = 0b11;
const S3_MAIN = 0b100;

interface Entry {
  value: string;
  expireAt: number;
  /** LFU counter, SIEVE visited bit, or S3-FIFO freq | main bit, as the store keeps them. */
  bits: number;
  ldt: number;
  hash: number;
}

/** Thrown by the model where the store must throw a ShardcacheError with this code. */
class ModelError {
  readonly code: string;
  constructor(code: string) {
    this.code = code;
  }
}

const lfuMinutes = (ms: number): number => Math.floor(ms / 60000) & 0xffff;

/**
 * Model keys are "db/name": the same name in two databases is two keys, but with one hash (so one
 * shard, one index home and one ghost slot), exactly as the store keeps them.
 */
const nameOf = (id: string): string => id.slice(id.indexOf('/') + 1);
const dbOf = (id: string): number => Number(id.slice(0, id.indexOf('/')));

/** One shard's worth of state: the key map and the policy's queues, heads first. */
class ModelShard {
  readonly map = new Map<string, Entry>();
  readonly lists = new Map<number, string[]>();
  hand: string | null = null;
  readonly ghost: Uint32Array;
  ghostSeq = 0;
  readonly policy: Policy;
  readonly maxEntries: number;
  readonly ghostCap: number;

  constructor(policy: Policy, maxEntries: number, ghostCap: number) {
    this.policy = policy;
    this.maxEntries = maxEntries;
    this.ghostCap = ghostCap;
    this.ghost = new Uint32Array(ghostCap * 2);
  }

  list(l: number): string[] {
    let xs = this.lists.get(l);
    if (xs === undefined) this.lists.set(l, (xs = []));
    return xs;
  }
  listOf(e: Entry): number {
    if (this.policy === 'lfu') return e.bits;
    if (this.policy === 's3fifo') return (e.bits & S3_MAIN) !== 0 ? MAIN : SMALL;
    return MAIN;
  }
  unlink(l: number, k: string): void {
    const xs = this.list(l);
    const i = xs.indexOf(k);
    if (i < 0) throw new Error(`model: ${k} not on list ${l}`);
    xs.splice(i, 1);
  }
  /** The neighbour toward the head, or null. */
  prevOf(l: number, k: string): string | null {
    const xs = this.list(l);
    const i = xs.indexOf(k);
    return i > 0 ? xs[i - 1]! : null;
  }
  tailOf(l: number): string | null {
    const xs = this.list(l);
    return xs.length === 0 ? null : xs[xs.length - 1]!;
  }

  /** The live entry, removing an expired one as the store's lazy expiry does (expired: now > at). */
  lookup(k: string, now: number): Entry | null {
    const e = this.map.get(k);
    if (e === undefined) return null;
    if (e.expireAt !== 0 && now > e.expireAt) {
      this.remove(k);
      return null;
    }
    return e;
  }

  remove(k: string): void {
    const e = this.map.get(k)!;
    const l = this.listOf(e);
    if (this.policy === 'sieve' && this.hand === k) this.hand = this.prevOf(l, k);
    this.unlink(l, k);
    this.map.delete(k);
  }

  lfuDecayed(e: Entry, nowMin: number): number {
    // lfuDecayTime is 1 minute in these tests; the wrap arithmetic is Redis's (65535, not 65536).
    const elapsed = nowMin >= e.ldt ? nowMin - e.ldt : 65535 - e.ldt + nowMin;
    return elapsed > e.bits ? 0 : e.bits - elapsed;
  }

  onHit(k: string, now: number): void {
    const e = this.map.get(k)!;
    switch (this.policy) {
      case 'lru':
        this.unlink(MAIN, k);
        this.list(MAIN).unshift(k);
        return;
      case 'lru-seconds':
        // Relinked on the first hit in each second only.
        if (e.ldt === secondOf(now)) return;
        e.ldt = secondOf(now);
        this.unlink(MAIN, k);
        this.list(MAIN).unshift(k);
        return;
      case 'sieve':
        e.bits = 1;
        return;
      case 's3fifo':
        if ((e.bits & S3_FREQ) < S3_FREQ) e.bits++;
        return;
      case 'lfu': {
        // lfuLogFactor 0 makes every hit increment: the model needs no random numbers.
        const nowMin = lfuMinutes(now);
        const d = this.lfuDecayed(e, nowMin);
        this.unlink(e.bits, k);
        e.bits = d === 255 ? 255 : d + 1;
        e.ldt = nowMin;
        this.list(e.bits).unshift(k);
        return;
      }
      case 'fifo':
        return;
    }
  }

  onInsert(k: string, now: number): void {
    const e = this.map.get(k)!;
    if (this.policy === 'lfu') {
      e.bits = LFU_INIT;
      e.ldt = lfuMinutes(now);
      this.list(LFU_INIT).unshift(k);
    } else if (this.policy === 's3fifo') {
      if (this.ghostTake(e.hash)) {
        e.bits = S3_MAIN;
        this.list(MAIN).unshift(k);
      } else {
        this.list(SMALL).unshift(k);
      }
    } else {
      e.ldt = secondOf(now);
      this.list(MAIN).unshift(k);
    }
  }

  smallTarget(): number {
    return Math.max(1, Math.floor(this.maxEntries / 10));
  }

  // The ghost set is replicated slot for slot (direct-mapped on hash & (ghostCap-1), one hash and
  // insertion number per slot, consumed on lookup): with an entry bound the store never resizes its
  // index, so the table is deterministic and an exact copy keeps every S3-FIFO decision comparable,
  // collisions included, instead of weakening the comparison to what a lossless set would predict.
  ghostInsert(hash: number): void {
    const i = (hash & (this.ghostCap - 1)) * 2;
    this.ghost[i] = hash === 0 ? 1 : hash;
    this.ghost[i + 1] = this.ghostSeq;
    this.ghostSeq = (this.ghostSeq + 1) >>> 0;
  }
  ghostTake(hash: number): boolean {
    const i = (hash & (this.ghostCap - 1)) * 2;
    if (this.ghost[i] !== (hash === 0 ? 1 : hash)) return false;
    const age = (this.ghostSeq - this.ghost[i + 1]!) >>> 0;
    this.ghost[i] = 0;
    return age <= Math.max(1, this.maxEntries - this.smallTarget());
  }

  victim(now: number): string | null {
    if (this.map.size === 0) return null;
    switch (this.policy) {
      case 'lru':
      case 'lru-seconds':
      case 'fifo':
        return this.tailOf(MAIN);
      case 'lfu': {
        const nowMin = lfuMinutes(now);
        let best: string | null = null;
        let bestC = 256;
        for (let c = 0; c < 256; c++) {
          const t = this.tailOf(c);
          if (t === null) continue;
          const d = this.lfuDecayed(this.map.get(t)!, nowMin);
          // Strictly lower only: on a tie the lower stored counter (scanned first) stays.
          if (d < bestC) {
            best = t;
            bestC = d;
          }
        }
        return best;
      }
      case 'sieve': {
        let hand = this.hand ?? this.tailOf(MAIN)!;
        while (this.map.get(hand)!.bits !== 0) {
          this.map.get(hand)!.bits = 0;
          hand = this.prevOf(MAIN, hand) ?? this.tailOf(MAIN)!;
        }
        this.hand = hand;
        return hand;
      }
      case 's3fifo':
        for (;;) {
          const small = this.list(SMALL).length;
          if (small > 0 && (small >= this.smallTarget() || this.list(MAIN).length === 0)) {
            const t = this.tailOf(SMALL)!;
            const e = this.map.get(t)!;
            if ((e.bits & S3_FREQ) !== 0) {
              this.unlink(SMALL, t);
              e.bits = S3_MAIN;
              this.list(MAIN).unshift(t);
              continue;
            }
            this.ghostInsert(e.hash);
            return t;
          }
          const t = this.tailOf(MAIN);
          if (t === null) return null;
          const e = this.map.get(t)!;
          if ((e.bits & S3_FREQ) !== 0) {
            this.unlink(MAIN, t);
            e.bits--;
            this.list(MAIN).unshift(t);
            continue;
          }
          return t;
        }
    }
  }

  /**
   * Stores a value: an existing key keeps its place and policy state and counts as a hit (as the
   * store's in-place rewrite does, whatever the new value's size); a new key evicts down to the
   * entry bound first.
   */
  write(k: string, value: string, expireAt: number, now: number, old: Entry | null): void {
    if (old !== null) {
      old.value = value;
      old.expireAt = expireAt;
      this.onHit(k, now);
      return;
    }
    while (this.map.size >= this.maxEntries) {
      const v = this.victim(now);
      if (v === null) throw new ModelError(ErrorCode.OOM);
      this.remove(v);
    }
    this.map.set(k, { value, expireAt, bits: 0, ldt: 0, hash: hash32(Buffer.from(nameOf(k))) });
    this.onInsert(k, now);
  }
}

/** The store-level model: shard routing, the command semantics and Redis's expiry rules. */
class Model {
  readonly shards: ModelShard[];
  now: number;

  constructor(policy: Policy, nShards: number, maxEntries: number, ghostCaps: number[], now: number) {
    this.shards = [];
    for (let i = 0; i < nShards; i++) {
      const per = Math.floor(maxEntries / nShards) + (i < maxEntries % nShards ? 1 : 0);
      this.shards.push(new ModelShard(policy, per, ghostCaps[i]!));
    }
    this.now = now;
  }

  shard(k: string): ModelShard {
    return this.shards[shardOf(hash32(Buffer.from(nameOf(k))), this.shards.length - 1)]!;
  }

  /** The earliest expiry still ahead of (or at) now, or null. */
  nextExpiry(): number | null {
    let best: number | null = null;
    for (const s of this.shards) {
      for (const e of s.map.values()) if (e.expireAt >= this.now && (best === null || e.expireAt < best)) best = e.expireAt;
    }
    return best;
  }

  dbsize(db: number): number {
    let n = 0;
    for (const s of this.shards) for (const id of s.map.keys()) if (dbOf(id) === db) n++;
    return n;
  }

  get(k: string): string | null {
    const s = this.shard(k);
    const e = s.lookup(k, this.now);
    if (e === null) return null;
    s.onHit(k, this.now);
    return e.value;
  }

  set(k: string, v: string, o: SetOptions): boolean | string | null {
    const now = this.now;
    if (o.nx && o.xx) throw new ModelError(ErrorCode.SYNTAX);
    let at = 0;
    const raw = o.ex ?? o.px ?? o.exat ?? o.pxat;
    if (o.ex !== undefined) at = now + o.ex * 1000;
    if (o.px !== undefined) at = now + o.px;
    if (o.exat !== undefined) at = o.exat * 1000;
    if (o.pxat !== undefined) at = o.pxat;
    if (raw !== undefined && (raw <= 0 || at <= 0)) throw new ModelError(ErrorCode.INVALID_EXPIRE);
    if (o.keepTtl && at !== 0) throw new ModelError(ErrorCode.SYNTAX);
    const s = this.shard(k);
    const old = s.lookup(k, now);
    const oldValue = old?.value ?? null;
    const reply = (written: boolean): boolean | string | null => (o.get ? oldValue : written);
    if (o.nx && old !== null) return reply(false);
    if (o.xx && old === null) return reply(false);
    // An expiry already past is stored as given (Redis 7.0): the key expires at its next lookup.
    if (o.keepTtl && old !== null) at = old.expireAt;
    s.write(k, v, at, now, old);
    return reply(true);
  }

  del(ks: string[]): number {
    let n = 0;
    for (const k of ks) {
      const s = this.shard(k);
      if (s.lookup(k, this.now) !== null) {
        s.remove(k);
        n++;
      }
    }
    return n;
  }

  exists(ks: string[]): number {
    let n = 0;
    for (const k of ks) if (this.shard(k).lookup(k, this.now) !== null) n++;
    return n;
  }

  incrBy(k: string, d: number): number {
    const s = this.shard(k);
    const old = s.lookup(k, this.now);
    let cur = 0;
    if (old !== null) {
      if (!/^(0|-?[1-9][0-9]{0,14})$/.test(old.value)) throw new ModelError(ErrorCode.NOT_INTEGER);
      cur = Number(old.value);
    }
    const next = cur + d;
    s.write(k, String(next), old?.expireAt ?? 0, this.now, old);
    return next;
  }

  append(k: string, v: string): number {
    const s = this.shard(k);
    const old = s.lookup(k, this.now);
    const joined = (old?.value ?? '') + v;
    s.write(k, joined, old?.expireAt ?? 0, this.now, old);
    return joined.length;
  }

  pexpireAt(k: string, at: number, cond: 'NX' | 'XX' | 'GT' | 'LT' | undefined): boolean {
    const s = this.shard(k);
    const e = s.lookup(k, this.now);
    if (e === null) return false;
    const cur = e.expireAt;
    if (cond === 'NX' && cur !== 0) return false;
    if (cond === 'XX' && cur === 0) return false;
    // No expiry counts as an infinite TTL: GT can never pass it, LT always does.
    if (cond === 'GT' && (cur === 0 || at <= cur)) return false;
    if (cond === 'LT' && cur !== 0 && at >= cur) return false;
    if (at <= this.now) s.remove(k);
    else e.expireAt = at;
    return true;
  }

  persist(k: string): boolean {
    const e = this.shard(k).lookup(k, this.now);
    if (e === null || e.expireAt === 0) return false;
    e.expireAt = 0;
    return true;
  }

  pttl(k: string): number {
    const e = this.shard(k).lookup(k, this.now);
    if (e === null) return -2;
    return e.expireAt === 0 ? -1 : e.expireAt - this.now;
  }

  ttl(k: string): number {
    const ms = this.pttl(k);
    return ms < 0 ? ms : Math.floor((ms + 500) / 1000);
  }
}

// ---- the driver -----------------------------------------------------------------------------------

type Outcome = { ok: unknown } | { err: string };

function outcome(fn: () => unknown): Outcome {
  try {
    const v = fn();
    return { ok: Buffer.isBuffer(v) ? v.toString('latin1') : v };
  } catch (e) {
    if (e instanceof ShardcacheError) return { err: e.code };
    if (e instanceof ModelError) return { err: e.code };
    throw e;
  }
}

const KEYS = Array.from({ length: 40 }, (_, i) => `k${i}`);
/** Unix ms at minute 65530 mod 2^16, so long runs cross the LFU minute clock's wrap. */
const T0 = (432 * 65536 + 65530) * 60000;

function randomValue(rng: Rng): string {
  if (rng.chance(0.3)) return String(rng.int(-1000, 1000));
  // Lengths up to ~90 bytes cross several slab classes, so rewrites change class.
  const n = rng.chance(0.1) ? 0 : rng.int(1, 90);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + rng.int(0, 25));
  return s;
}

function randomSetOpts(rng: Rng, now: number): SetOptions {
  const o: SetOptions = {};
  if (rng.chance(0.15)) o.nx = true;
  if (rng.chance(0.15)) o.xx = true;
  if (rng.chance(0.2)) o.get = true;
  const e = rng.int(0, 9);
  if (e === 0) o.ex = rng.int(1, 30);
  else if (e === 1) o.px = rng.int(1, 3000);
  else if (e === 2) o.pxat = now + rng.int(-500, 3000);
  else if (e === 3) o.exat = Math.floor(now / 1000) + rng.int(-1, 20);
  else if (e === 4 && rng.chance(0.1)) o.px = rng.int(-5, 0);
  if (rng.chance(0.15)) o.keepTtl = true;
  return o;
}

interface RunConfig {
  policy: Policy;
  shards: number;
  maxEntries: number;
  /** Databases the commands are spread over (SELECT); 1 keeps every command in db 0. */
  dbs: number;
  seed: number;
  steps: number;
}

function runModel(cfg: RunConfig): void {
  const rng = new Rng(cfg.seed);
  let t = T0 + rng.int(0, 59999);
  const store = Store.create({
    shards: cfg.shards,
    policy: cfg.policy,
    maxEntries: cfg.maxEntries,
    clock: () => t,
    lfuLogFactor: 0,
    lfuDecayTime: 1,
    seed: cfg.seed,
  });
  const ghostCapsOf = (): number[] =>
    store.shards.map((s) => {
      s.lock();
      try {
        return s.m.h32[HW.ghostCap]!;
      } finally {
        s.unlock();
      }
    });
  const ghostCaps = ghostCapsOf();
  const model = new Model(cfg.policy, cfg.shards, cfg.maxEntries, ghostCaps, t);
  const history: string[] = [];

  for (let step = 0; step < cfg.steps; step++) {
    const db = cfg.dbs > 1 ? rng.int(0, cfg.dbs - 1) : 0;
    const st = store.select(db);
    const k = rng.pick(KEYS);
    const id = `${db}/${k}`;
    let desc = cfg.dbs > 1 ? `[db ${db}] ` : '';
    let got: Outcome;
    let want: Outcome;
    const op = rng.int(0, 99);
    if (op < 28) {
      const v = randomValue(rng);
      const o = randomSetOpts(rng, t);
      desc += `set ${k} ${JSON.stringify(v)} ${JSON.stringify(o)}`;
      got = outcome(() => st.set(k, v, o));
      want = outcome(() => model.set(id, v, o));
    } else if (op < 48) {
      desc += `get ${k}`;
      got = outcome(() => st.get(k));
      want = outcome(() => model.get(id));
    } else if (op < 53) {
      const ks = rng.chance(0.3) ? [k, rng.pick(KEYS)] : [k];
      desc += `del ${ks.join(' ')}`;
      got = outcome(() => st.del(...ks));
      want = outcome(() => model.del(ks.map((x) => `${db}/${x}`)));
    } else if (op < 58) {
      const ks = rng.chance(0.3) ? [k, rng.pick(KEYS)] : [k];
      desc += `exists ${ks.join(' ')}`;
      got = outcome(() => st.exists(...ks));
      want = outcome(() => model.exists(ks.map((x) => `${db}/${x}`)));
    } else if (op < 65) {
      const d = rng.int(-20, 20);
      desc += `incrby ${k} ${d}`;
      got = outcome(() => st.incrBy(k, d));
      want = outcome(() => model.incrBy(id, d));
    } else if (op < 70) {
      const v = randomValue(rng).slice(0, 30);
      desc += `append ${k} ${JSON.stringify(v)}`;
      got = outcome(() => st.append(k, v));
      want = outcome(() => model.append(id, v));
    } else if (op < 80) {
      const cond = rng.pick([undefined, undefined, 'NX', 'XX', 'GT', 'LT'] as const);
      if (rng.chance(0.5)) {
        const n = rng.int(-1, 20);
        desc += `expire ${k} ${n} ${cond ?? ''}`;
        got = outcome(() => st.expire(k, n, cond));
        want = outcome(() => model.pexpireAt(id, t + n * 1000, cond));
      } else {
        const n = rng.int(-100, 4000);
        desc += `pexpire ${k} ${n} ${cond ?? ''}`;
        got = outcome(() => st.pexpire(k, n, cond));
        want = outcome(() => model.pexpireAt(id, t + n, cond));
      }
    } else if (op < 84) {
      desc += `persist ${k}`;
      got = outcome(() => st.persist(k));
      want = outcome(() => model.persist(id));
    } else if (op < 90) {
      const ms = rng.chance(0.5);
      desc += `${ms ? 'pttl' : 'ttl'} ${k}`;
      got = outcome(() => (ms ? st.pttl(k) : st.ttl(k)));
      want = outcome(() => (ms ? model.pttl(id) : model.ttl(id)));
    } else {
      // Mostly short steps so TTLs run out one by one and expiries land exactly on `now`;
      // now and then minutes, so LFU counters decay and the minute clock wraps.
      let dt = rng.chance(0.15) ? rng.int(30_000, 300_000) : rng.chance(0.3) ? 0 : rng.int(1, 1500);
      // Often land exactly on the next expiry, where a key is still live (expired means now > at).
      const next = model.nextExpiry();
      if (next !== null && rng.chance(0.3)) dt = next - t;
      desc += `advance ${dt}ms`;
      t += dt;
      model.now = t;
      got = want = { ok: t };
    }
    history.push(desc);
    if (history.length > 12) history.shift();
    try {
      expect(got, desc).toEqual(want);
      for (let d = 0; d < cfg.dbs; d++) expect(store.select(d).dbsize(), `dbsize of db ${d}`).toBe(model.dbsize(d));
      verifyStore(store);
      // The model's copy of the ghost table is only exact while the store never resizes it.
      if (cfg.policy === 's3fifo') expect(ghostCapsOf(), 'ghostCap').toEqual(ghostCaps);
      if (cfg.shards > 1) {
        const per = store.stats().shards.map((s) => s.keys);
        expect(per, 'keys per shard').toEqual(model.shards.map((s) => s.map.size));
      }
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(
        `${cfg.policy} shards=${cfg.shards} maxEntries=${cfg.maxEntries} dbs=${cfg.dbs} seed=${cfg.seed} step=${step}: ${msg}\nlast commands:\n  ${history.join('\n  ')}`,
      );
    }
  }
  // A run that never filled the store would not have tested eviction.
  expect(store.stats().evicted).toBeGreaterThan(0);
}

const SEEDS = [1, 2, 3, 0xc0ffee];
const STEPS = 2500;

describe('model-based: a Store matches a reference model step by step', () => {
  // Two databases share one shard's entry bound and policy queues; a name used in both is two
  // keys with one hash, which the index, the counts per database and S3-FIFO's ghost must keep apart.
  for (const policy of ['lru', 'lfu', 's3fifo'] as const) {
    test(`${policy}, 1 shard, 2 databases, seed 5`, () => {
      runModel({ policy, shards: 1, maxEntries: 16, dbs: 2, seed: 5, steps: STEPS });
    });
  }
  for (const policy of ['lru', 'lru-seconds', 'lfu', 'fifo', 'sieve', 's3fifo'] as const) {
    for (const seed of SEEDS) {
      test(`${policy}, 1 shard, seed ${seed}`, () => {
        runModel({ policy, shards: 1, maxEntries: 16, dbs: 1, seed, steps: STEPS });
      });
    }
  }
  for (const policy of ['lru', 'lru-seconds', 'fifo'] as const) {
    for (const seed of SEEDS) {
      test(`${policy}, 4 shards, seed ${seed}`, () => {
        runModel({ policy, shards: 4, maxEntries: 16, dbs: 1, seed, steps: STEPS });
      });
    }
  }
});

// ---- memory bound ---------------------------------------------------------------------------------

/** 1 byte to 200 KB, log-uniform, so every slab class and multi-page runs all occur. */
function randomSize(rng: Rng): number {
  return Math.max(1, Math.floor(Math.exp((rng.u32() / 4294967296) * Math.log(200 * 1024))));
}

function valueOf(key: string, size: number, gen: number): Buffer {
  const b = Buffer.alloc(size, 97 + (gen % 26));
  b.write(`${key}:${gen}:`.slice(0, size), 'latin1');
  return b;
}

describe('maxMemory: mixed value sizes', () => {
  const MAX = 2 * 1024 * 1024;
  for (const policy of ['lru', 'lru-seconds', 'lfu', 'fifo', 'sieve', 's3fifo'] as const) {
    test(`${policy} stays within maxMemory and keeps its structures consistent`, () => {
      const seed = 7;
      const rng = new Rng(seed);
      const store = Store.create({ shards: 1, policy, maxMemory: MAX, seed });
      // The last value written per key: a key the store still has must hold exactly this.
      const written = new Map<string, Buffer>();
      let gen = 0;
      for (let step = 0; step < 600; step++) {
        const k = rng.pick(KEYS);
        const op = rng.int(0, 9);
        const where = `${policy} seed=${seed} step=${step}`;
        if (op < 6) {
          const v = valueOf(k, randomSize(rng), gen++);
          expect(store.set(k, v), where).toBe(true);
          written.set(k, v);
          // Eviction runs before the new item is linked, so it can never take the key just written.
          expect(store.get(k)?.equals(v), `${where}: just written`).toBe(true);
        } else if (op < 9) {
          const got = store.get(k);
          if (got === null) written.delete(k);
          else expect(got.equals(written.get(k)!), `${where}: stale value for ${k}`).toBe(true);
        } else {
          const had = store.del(k);
          expect(had <= (written.has(k) ? 1 : 0), `${where}: deleted a key never written`).toBe(true);
          written.delete(k);
        }
        try {
          verifyStore(store);
        } catch (e) {
          throw new Error(`${where}: ${(e as Error).message}`);
        }
        expect(store.stats().usedBytes, where).toBeLessThanOrEqual(MAX);
      }
      expect(store.stats().evicted).toBeGreaterThan(0);
    });
  }

  test('a value that cannot fit even in an empty shard is refused without evicting anything', () => {
    const store = Store.create({ shards: 1, policy: 'lru', maxMemory: 256 * 1024 });
    for (let i = 0; i < 5; i++) store.set(`k${i}`, 'x');
    // Larger than maxMemory, and (250 KB) smaller but too big once the header and index count.
    for (const size of [300 * 1024, 250 * 1024]) {
      expect(() => store.set('big', Buffer.alloc(size))).toThrowError(/^OOM command not allowed/);
      expect(store.dbsize()).toBe(5);
    }
    expect(store.stats().evicted).toBe(0);
    verifyStore(store);
  });
});

describe('noeviction', () => {
  function oomOf(fn: () => unknown): ShardcacheError {
    try {
      fn();
    } catch (e) {
      if (e instanceof ShardcacheError) return e;
      throw e;
    }
    throw new Error('expected an OOM error');
  }

  test('a full store refuses writes with the OOM error and keeps every key', () => {
    const rng = new Rng(11);
    const store = Store.create({ shards: 1, policy: 'noeviction', maxMemory: 1024 * 1024 });
    const kept = new Map<string, Buffer>();
    // A holder rather than a `let`, which TypeScript would narrow to null past the closure.
    const first: { err: ShardcacheError | null } = { err: null };
    const put = (k: string, v: Buffer): boolean => {
      try {
        store.set(k, v);
        kept.set(k, v);
        return true;
      } catch (e) {
        if (!(e instanceof ShardcacheError)) throw e;
        first.err ??= e;
        return false;
      } finally {
        verifyStore(store);
      }
    };
    for (let i = 0; first.err === null; i++) put(`key${i}`, valueOf(`key${i}`, randomSize(rng), i));
    // The first refusal may have been a large value; top up with two-page values until even those
    // are refused, so that below every write needing two pages or more must fail.
    for (let i = 0; put(`fill${i}`, Buffer.alloc(PAGE_SIZE * 2)); i++);
    const err = first.err;
    expect(err.code).toBe(ErrorCode.OOM);
    expect(err.message).toBe("OOM command not allowed when used memory > 'maxmemory'.");
    expect(store.stats().evicted).toBe(0);

    // Once full, no write that needs memory succeeds, and none costs an existing key.
    for (let i = 0; i < 50; i++) {
      const k = `more${i}`;
      try {
        store.set(k, Buffer.alloc(PAGE_SIZE * 2));
        throw new Error(`${k} was stored past maxmemory`);
      } catch (e) {
        expect((e as ShardcacheError).code).toBe(ErrorCode.OOM);
      }
      // Growing an existing key into a page run needs memory too.
      const some = [...kept.keys()][i % kept.size]!;
      const e = oomOf(() => store.set(some, Buffer.alloc(PAGE_SIZE * 3)));
      expect(e.code).toBe(ErrorCode.OOM);
      verifyStore(store);
    }
    expect(store.dbsize()).toBe(kept.size);
    for (const [k, v] of kept) expect(store.get(k)?.equals(v), k).toBe(true);
    expect(store.stats().usedBytes).toBeLessThanOrEqual(1024 * 1024);

    // Deleting makes room again.
    for (const k of [...kept.keys()]) store.del(k);
    verifyStore(store);
    expect(store.set('after', Buffer.alloc(PAGE_SIZE * 2))).toBe(true);
    verifyStore(store);
  });

  test('the entry bound refuses new keys but not overwrites', () => {
    const store = Store.create({ shards: 1, policy: 'noeviction', maxEntries: 4 });
    for (let i = 0; i < 4; i++) store.set(`k${i}`, 'v');
    expect(oomOf(() => store.set('k9', 'v')).code).toBe(ErrorCode.OOM);
    expect(store.set('k0', 'w'.repeat(500))).toBe(true);
    expect(store.dbsize()).toBe(4);
    expect(store.get('k0')?.length).toBe(500);
    verifyStore(store);
  });
});

// ---- changing the policy (CONFIG SET maxmemory-policy) ----------------------------------------

describe('a policy change', () => {
  /** Keys a..d written at T0 in that order, a read 5 s later, b 10 s later; the clock is then at T0 + 10 s. */
  function aged(policy: string): { store: Store; clock: { t: number } } {
    const clock = { t: T0 };
    const store = Store.create({ shards: 1, policy, clock: () => clock.t });
    for (const k of ['a', 'b', 'c', 'd']) store.set(k, 'v');
    clock.t += 5000;
    store.get('a');
    clock.t += 5000;
    store.get('b');
    return { store, clock };
  }
  /** The keys in eviction order, found by lowering the entry bound one key at a time to 1 (0 is no bound). */
  function evictionOrder(store: Store, keys: readonly string[]): string[] {
    const order: string[] = [];
    for (let n = keys.length - 1; n >= 1; n--) {
      store.configure({ maxEntries: n });
      verifyStore(store);
      order.push(...keys.filter((k) => !order.includes(k) && store.exists(k) === 0));
    }
    return [...order, ...keys.filter((k) => !order.includes(k))];
  }

  for (const to of ['allkeys-lru', 'lru']) {
    test(`FIFO to ${to}: the LRU list starts in access order, idle times kept`, () => {
      const { store } = aged('noeviction');
      store.configure({ policy: to });
      verifyStore(store);
      expect(['a', 'b', 'c', 'd'].map((k) => store.objectInfo(k)?.idleSeconds)).toEqual([5, 0, 10, 10]);
      // Oldest access first; c and d, read in the same second, in their old (insertion) order.
      expect(evictionOrder(store, ['a', 'b', 'c', 'd'])).toEqual(['c', 'd', 'a', 'b']);
    });
  }

  test('LRU to the second and back keeps the order and idle times', () => {
    const { store } = aged('lru');
    store.configure({ policy: 'allkeys-lru' });
    store.configure({ policy: 'lru' });
    expect(['a', 'b', 'c', 'd'].map((k) => store.objectInfo(k)?.idleSeconds)).toEqual([5, 0, 10, 10]);
    expect(evictionOrder(store, ['a', 'b', 'c', 'd'])).toEqual(['c', 'd', 'a', 'b']);
  });

  test('allkeys-lru relinks a key on its first read in a second only', () => {
    const { store, clock } = aged('allkeys-lru');
    // c is read in this second and goes ahead of a; its later reads in the second move nothing,
    // so d, read after c, stays ahead of c.
    store.get('c');
    store.get('d');
    store.get('c');
    clock.t += 200;
    store.get('c');
    expect(evictionOrder(store, ['a', 'b', 'c', 'd'])).toEqual(['a', 'b', 'c', 'd']);
  });
});

// ---- regressions found by the model test --------------------------------------------------------

describe('regressions', () => {
  test('an overwrite that changes slab class keeps the key\'s FIFO place', () => {
    const store = Store.create({ shards: 1, policy: 'fifo', maxEntries: 2 });
    store.set('a', 'x');
    store.set('b', 'x');
    store.set('a', 'y'.repeat(200));
    store.set('c', 'x');
    // FIFO evicts by first insertion: `a` goes although it was rewritten last.
    expect(store.get('a')).toBeNull();
    expect(store.get('b')?.toString()).toBe('x');
    verifyStore(store);
  });

  test('an overwrite that changes slab class keeps and bumps the LFU counter', () => {
    const store = Store.create({ shards: 1, policy: 'lfu', maxEntries: 2, lfuLogFactor: 0, lfuDecayTime: 0 });
    store.set('a', 'x');
    store.set('b', 'x');
    store.get('b');
    store.set('a', 'y'.repeat(200));
    store.set('a', 'z');
    // a: 5 -> 6 -> 7 by two overwrites; b: 6. A reset to 5 would make `a` the victim.
    store.set('c', 'x');
    expect(store.get('a')?.toString()).toBe('z');
    expect(store.get('b')).toBeNull();
    verifyStore(store);
  });

  test('SET KEEPTTL on a key whose expiry equals now keeps it (expired means now > expireAt)', () => {
    let t = T0;
    const store = Store.create({ shards: 1, clock: () => t });
    store.set('k', 'v1', { px: 100 });
    t += 100;
    expect(store.set('k', 'v2', { keepTtl: true })).toBe(true);
    expect(store.get('k')?.toString()).toBe('v2');
    expect(store.pttl('k')).toBe(0);
    t += 1;
    expect(store.get('k')).toBeNull();
    verifyStore(store);
  });

  test('a bounded arena whose pages were all freed still serves a long page run', () => {
    const store = Store.create({ shards: 1, policy: 'lru', maxMemory: 2 * 1024 * 1024 });
    // One page each, released one at a time: adjacent free runs must be merged again.
    for (let i = 0; i < 30; i++) store.set(`p${i}`, Buffer.alloc(60 * 1024));
    for (let i = 0; i < 30; i++) store.del(`p${i}`);
    verifyStore(store);
    expect(store.set('big', Buffer.alloc(20 * PAGE_SIZE))).toBe(true);
    expect(store.get('big')?.length).toBe(20 * PAGE_SIZE);
    verifyStore(store);
  });
});

// ---- the checker itself ---------------------------------------------------------------------------

describe('verifyStore detects corruption', () => {
  function filled(policy: Policy): Store {
    const store = Store.create({ shards: 1, policy, maxEntries: 64 });
    for (let i = 0; i < 100; i++) store.set(`k${i}`, 'v'.repeat(i % 50));
    for (let i = 0; i < 30; i++) store.get(`k${90 + (i % 10)}`);
    verifyStore(store);
    return store;
  }
  function expectBroken(store: Store, pattern: RegExp, corrupt: (s: Store['shards'][number]) => void): void {
    const s = store.shards[0]!;
    s.lock();
    try {
      corrupt(s);
      expect(() => verifyShardLocked(s)).toThrowError(pattern);
    } finally {
      s.unlock();
    }
  }

  test('a broken prev link', () => {
    expectBroken(filled('lru'), /prev is/, (s) => {
      const r = s.m.next(s.m.head(0));
      s.m.setPrev(r, NIL_REF);
    });
  });
  test('a wrong count', () => {
    expectBroken(filled('fifo'), /count/, (s) => s.m.h32[HW.count]!++);
  });
  test('a wrong volatileCount', () => {
    expectBroken(filled('sieve'), /volatileCount/, (s) => s.m.h32[HW.volatileCount]!++);
  });
  test('a wrong smallCount', () => {
    expectBroken(filled('s3fifo'), /smallCount/, (s) => s.m.h32[HW.smallCount]!--);
  });
  test('an item on the wrong LFU list', () => {
    expectBroken(filled('lfu'), /listOf/, (s) => {
      const r = s.m.tail(5);
      s.m.setPolicyBits(r, 9);
    });
  });
  test('a wrong index tag', () => {
    expectBroken(filled('lru'), /tag/, (s) => {
      const i = s.m.refs.findIndex((r) => r !== NIL_REF);
      s.m.tags[i] = s.m.tags[i]! ^ 2;
    });
  });
  test('a leaked free chunk', () => {
    expectBroken(filled('lru'), /leaked|free list/, (s) => {
      const c = [...Array(s.m.h32[HW.classCount]!).keys()].find((c) => s.m.h32[HW.classFree + c] !== NIL_REF)!;
      const r = s.m.h32[HW.classFree + c]!;
      s.m.h32[HW.classFree + c] = s.m.next(r);
      if (s.m.next(r) !== NIL_REF) s.m.setPrev(s.m.next(r), NIL_REF);
    });
  });
  test('a wrong pagesInUse', () => {
    expectBroken(filled('lru'), /pagesInUse/, (s) => s.m.h32[HW.pagesInUse]!++);
  });
});
