/**
 * The client's local cache for hot keys: a short TTL, a byte bound, and deletion on the server's
 * invalidation pushes.
 *
 * Two generations instead of per-entry expiry: entries are added to `cur`; after ttl/2 `cur`
 * becomes `prev`, and `prev` is dropped whole once its oldest entry could be ttl old. No entry
 * outlives the TTL (most live between ttl/2 and ttl), and a hit is one or two Map lookups with
 * no entry object and no clock compare per entry: a hit must cost far less than the network
 * round trip it saves, and at a million hits a second the cache misses of an entry object are
 * what it costs. Over the byte bound the oldest entries go, one at a time, `prev`'s first.
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

/**
 * One generation: its values, their costs (a separate Map, so a hit touches only `values`), its
 * byte total, when it began taking entries, and an eviction cursor over its costs that persists
 * across calls (V8's Map iterators survive deletes), so stepping through it is O(1) amortized.
 */
class Generation<T> {
  readonly values = new Map<string, T>();
  readonly costs = new Map<string, number>();
  bytes = 0;
  readonly start: number;
  private cursor: MapIterator<[string, number]> | null = null;
  private head: [string, number] | null = null;

  constructor(start: number) {
    this.start = start;
  }

  add(key: string, value: T, bytes: number): void {
    this.values.set(key, value);
    this.costs.set(key, bytes);
    this.bytes += bytes;
  }

  delete(key: string): boolean {
    const bytes = this.costs.get(key);
    if (bytes === undefined) return false;
    this.values.delete(key);
    this.costs.delete(key);
    this.bytes -= bytes;
    return true;
  }

  /** The oldest entry's key; an entry deleted since the cursor took it is passed over. */
  front(): string | undefined {
    if (this.head === null || !this.costs.has(this.head[0])) {
      this.cursor ??= this.costs.entries();
      const next = this.cursor.next();
      this.head = next.done === true ? null : next.value;
    }
    return this.head?.[0];
  }
}

export class L1Cache<T> {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private cur = new Generation<T>(-Infinity);
  private prev = new Generation<T>(-Infinity);
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
    return this.cur.values.size + this.prev.values.size;
  }

  get bytes(): number {
    return this.cur.bytes + this.prev.bytes;
  }

  get(key: string, now: number): T | undefined {
    if (now - this.cur.start >= this.ttlMs / 2 || now - this.prev.start >= this.ttlMs) this.rotate(now);
    const v = this.cur.values.get(key) ?? this.prev.values.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  /** Stores `value`, counted as `bytes` (see entryCost) against the bound. */
  set(key: string, value: T, bytes: number, now: number): void {
    if (bytes > this.maxBytes) return;
    if (now - this.cur.start >= this.ttlMs / 2 || now - this.prev.start >= this.ttlMs) this.rotate(now);
    this.delete(key);
    this.cur.add(key, value, bytes);
    while (this.cur.bytes + this.prev.bytes > this.maxBytes) this.evictOldest();
  }

  /** Whether storing an entry of `bytes` would evict others. */
  full(bytes: number): boolean {
    return this.cur.bytes + this.prev.bytes + bytes > this.maxBytes;
  }

  /** The key the next eviction would drop: prev's oldest, else cur's. */
  oldest(): string | undefined {
    return this.evictionSide().front();
  }

  /**
   * Drops the oldest entry. Evicting one at a time keeps the rest of a full cache serving, where
   * dropping a whole generation would send thousands of hot keys back to the server at once.
   */
  private evictOldest(): void {
    const g = this.evictionSide();
    const k = g.front();
    if (k === undefined) return;
    g.delete(k);
    this.evictions++;
  }

  private evictionSide(): Generation<T> {
    return this.prev.values.size > 0 ? this.prev : this.cur;
  }

  /** Drops a key; returns whether it was cached. */
  delete(key: string): boolean {
    const a = this.cur.delete(key);
    const b = this.prev.delete(key);
    return a || b;
  }

  /** An invalidation from the server. */
  invalidate(key: string): void {
    if (this.delete(key)) this.invalidations++;
  }

  clear(): void {
    this.cur = new Generation(this.cur.start);
    this.prev = new Generation(this.prev.start);
  }

  private rotate(now: number): void {
    if (now - this.cur.start >= this.ttlMs / 2) {
      this.prev = this.cur;
      this.cur = new Generation(now);
    }
    if (now - this.prev.start >= this.ttlMs) this.prev = new Generation(now);
  }
}
