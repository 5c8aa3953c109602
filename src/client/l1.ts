/**
 * The client's local cache for hot keys: a short TTL, a byte bound, and deletion on the server's
 * invalidation pushes.
 *
 * Two generations instead of per-entry expiry: entries are added to `cur`; after ttl/2 `cur`
 * becomes `prev`, and `prev` is dropped whole once its oldest entry could be ttl old. No entry
 * outlives the TTL (most live between ttl/2 and ttl), and a hit is one or two Map lookups with
 * no entry object and no clock compare per entry: a hit must cost far less than the network
 * round trip it saves, and at a million hits a second the cache misses of an entry object are
 * what it costs. Entry sizes sit in a Map beside each
 * generation, read only to store, delete and evict. Over the byte bound the oldest entries go,
 * one at a time, `prev`'s first.
 *
 * The value type is the caller's: the client keeps each value as an already-resolved promise, so
 * a hit hands back the same promise every time instead of allocating one.
 */

/** The L1's defaults (ClientOptions.l1); why each is what it is: see L1Options. */
export const L1_DEFAULTS = { maxBytes: 64 * 1024 * 1024, ttlMs: 5000, hotThreshold: 2, sketchWidth: 16384 } as const;

/**
 * Per-entry bytes beyond the key's characters and the value's bytes, measured on Node 26 x64
 * (heapUsed over 100,000 entries): 121 for the slots in the value and cost Maps and the resolved
 * promise, 111 for the value's Buffer object.
 */
const OVERHEAD = 232;

/** What an entry of `key` holding `valueBytes` bytes counts against the byte bound. */
export function entryCost(key: string, valueBytes: number): number {
  return valueBytes + key.length * 2 + OVERHEAD;
}

export class L1Cache<T> {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private cur = new Map<string, T>();
  private prev = new Map<string, T>();
  private curCost = new Map<string, number>();
  private prevCost = new Map<string, number>();
  private curBytes = 0;
  private prevBytes = 0;
  /** When each generation began taking entries: its entries are at most now − start old. */
  private curStart = -Infinity;
  private prevStart = -Infinity;
  /** Eviction cursors over the cost maps and the entry each stands on (see front()). */
  private curIt: MapIterator<[string, number]> | null = null;
  private prevIt: MapIterator<[string, number]> | null = null;
  private curHead: [string, number] | null = null;
  private prevHead: [string, number] | null = null;
  hits = 0;
  misses = 0;
  evictions = 0;
  /** Fills the owner declined (see ShardcacheClient.fill). */
  rejected = 0;
  invalidations = 0;

  constructor(maxBytes: number, ttlMs: number) {
    this.maxBytes = maxBytes;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.cur.size + this.prev.size;
  }

  get bytes(): number {
    return this.curBytes + this.prevBytes;
  }

  get(key: string, now: number): T | undefined {
    if (now - this.curStart >= this.ttlMs / 2 || now - this.prevStart >= this.ttlMs) this.rotate(now);
    const v = this.cur.get(key) ?? this.prev.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  /** Stores `value`, counted as `bytes` (see entryCost) against the bound. */
  set(key: string, value: T, bytes: number, now: number): void {
    if (bytes > this.maxBytes) return;
    if (now - this.curStart >= this.ttlMs / 2 || now - this.prevStart >= this.ttlMs) this.rotate(now);
    this.delete(key);
    this.cur.set(key, value);
    this.curCost.set(key, bytes);
    this.curBytes += bytes;
    while (this.curBytes + this.prevBytes > this.maxBytes) this.evictOldest();
  }

  /** Whether storing an entry of `bytes` would evict others. */
  full(bytes: number): boolean {
    return this.curBytes + this.prevBytes + bytes > this.maxBytes;
  }

  /** The key the next eviction would drop (see evictOldest), without dropping it. */
  oldest(): string | undefined {
    return this.front()?.[0];
  }

  /**
   * The oldest entry: prev's first, then cur's, in insertion order, found through a cursor over
   * the generation's cost Map that persists across calls (V8's Map iterators survive deletes),
   * so stepping through a full cache is O(1) amortized. An entry deleted since the cursor took
   * it is passed over.
   */
  private front(): [string, number] | null {
    const fromPrev = this.prev.size > 0;
    const costs = fromPrev ? this.prevCost : this.curCost;
    let e = fromPrev ? this.prevHead : this.curHead;
    if (e !== null && costs.has(e[0])) return e;
    let it = fromPrev ? this.prevIt : this.curIt;
    if (it === null) it = costs.entries();
    const next = it.next();
    e = next.done === true ? null : next.value;
    if (fromPrev) [this.prevIt, this.prevHead] = [it, e];
    else [this.curIt, this.curHead] = [it, e];
    return e;
  }

  /**
   * Drops the oldest entry. Evicting one at a time keeps the rest of a full cache serving, where
   * dropping a whole generation would send thousands of hot keys back to the server at once.
   */
  private evictOldest(): void {
    const e = this.front();
    if (e === null) return;
    const [k, bytes] = e;
    if (this.prev.size > 0) {
      this.prev.delete(k);
      this.prevCost.delete(k);
      this.prevBytes -= bytes;
      this.prevHead = null;
    } else {
      this.cur.delete(k);
      this.curCost.delete(k);
      this.curBytes -= bytes;
      this.curHead = null;
    }
    this.evictions++;
  }

  /** Drops a key; returns whether it was cached. */
  delete(key: string): boolean {
    let had = false;
    const a = this.curCost.get(key);
    if (a !== undefined) {
      this.cur.delete(key);
      this.curCost.delete(key);
      this.curBytes -= a;
      had = true;
    }
    const b = this.prevCost.get(key);
    if (b !== undefined) {
      this.prev.delete(key);
      this.prevCost.delete(key);
      this.prevBytes -= b;
      had = true;
    }
    return had;
  }

  /** An invalidation from the server. */
  invalidate(key: string): void {
    if (this.delete(key)) this.invalidations++;
  }

  clear(): void {
    this.cur = new Map();
    this.curCost = new Map();
    this.curIt = null;
    this.curHead = null;
    this.curBytes = 0;
    this.dropPrev();
  }

  private dropPrev(): void {
    this.prev = new Map();
    this.prevCost = new Map();
    this.prevIt = null;
    this.prevHead = null;
    this.prevBytes = 0;
  }

  private rotate(now: number): void {
    if (now - this.curStart >= this.ttlMs / 2) {
      this.prev = this.cur;
      this.prevCost = this.curCost;
      this.prevIt = this.curIt;
      this.prevHead = this.curHead;
      this.prevBytes = this.curBytes;
      this.prevStart = this.curStart;
      this.cur = new Map();
      this.curCost = new Map();
      this.curIt = null;
      this.curHead = null;
      this.curBytes = 0;
      this.curStart = now;
    }
    if (now - this.prevStart >= this.ttlMs) {
      this.dropPrev();
      this.prevStart = now;
    }
  }
}
