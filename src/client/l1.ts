/**
 * The client's local cache for hot keys: a short TTL, a byte bound, and deletion on the server's
 * invalidation pushes.
 *
 * Two generations instead of per-entry expiry: entries are added to `cur`; after ttl/2 `cur`
 * becomes `prev`, and `prev` is dropped whole once its oldest entry could be ttl old. No entry
 * outlives the TTL (most live between ttl/2 and ttl), and a hit is one or two Map lookups with no entry object and no clock compare per entry: a hit
 * must cost far less than the network round trip it saves, and at a million hits a second the
 * cache misses of an entry object are what it costs. Over the byte bound the oldest entries go,
 * one at a time, `prev`'s first.
 */

/** The L1's defaults (ClientOptions.l1); why each is what it is: see L1Options. */
export const L1_DEFAULTS = { maxBytes: 16 * 1024 * 1024, ttlMs: 5000, hotThreshold: 2, sketchWidth: 16384 } as const;

/** Rough per-entry cost beyond the key and value bytes (Map slot, Buffer object). */
const OVERHEAD = 80;

export class L1Cache {
  readonly maxBytes: number;
  readonly ttlMs: number;
  private cur = new Map<string, Buffer>();
  private prev = new Map<string, Buffer>();
  private curBytes = 0;
  private prevBytes = 0;
  /** When each generation began taking entries: its entries are at most now − start old. */
  private curStart = -Infinity;
  private prevStart = -Infinity;
  hits = 0;
  misses = 0;
  evictions = 0;
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

  get(key: string, now: number): Buffer | undefined {
    if (now - this.curStart >= this.ttlMs / 2 || now - this.prevStart >= this.ttlMs) this.rotate(now);
    const v = this.cur.get(key) ?? this.prev.get(key);
    if (v === undefined) this.misses++;
    else this.hits++;
    return v;
  }

  set(key: string, value: Buffer, now: number): void {
    const bytes = cost(key, value);
    if (bytes > this.maxBytes) return;
    if (now - this.curStart >= this.ttlMs / 2 || now - this.prevStart >= this.ttlMs) this.rotate(now);
    this.delete(key);
    this.cur.set(key, value);
    this.curBytes += bytes;
    while (this.curBytes + this.prevBytes > this.maxBytes) this.evictOldest();
  }

  /**
   * Drops the oldest entry: prev's first, then cur's, in insertion order. Evicting one at a time
   * keeps the rest of a full cache serving, where dropping a whole generation would send
   * thousands of hot keys back to the server at once. The iterators persist across calls (V8's
   * Map iterators survive deletes), so each eviction is O(1) amortized.
   */
  private evictOldest(): void {
    const fromPrev = this.prev.size > 0;
    let it = fromPrev ? this.prevIt : this.curIt;
    if (it === null) {
      it = (fromPrev ? this.prev : this.cur).entries();
      if (fromPrev) this.prevIt = it;
      else this.curIt = it;
    }
    const next = it.next();
    if (next.done === true) return;
    const [k, v] = next.value;
    if (fromPrev) {
      this.prev.delete(k);
      this.prevBytes -= cost(k, v);
    } else {
      this.cur.delete(k);
      this.curBytes -= cost(k, v);
    }
    this.evictions++;
  }
  private prevIt: MapIterator<[string, Buffer]> | null = null;
  private curIt: MapIterator<[string, Buffer]> | null = null;

  /** Drops a key; returns whether it was cached. */
  delete(key: string): boolean {
    let had = false;
    const a = this.cur.get(key);
    if (a !== undefined) {
      this.cur.delete(key);
      this.curBytes -= cost(key, a);
      had = true;
    }
    const b = this.prev.get(key);
    if (b !== undefined) {
      this.prev.delete(key);
      this.prevBytes -= cost(key, b);
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
    this.prev = new Map();
    this.curIt = this.prevIt = null;
    this.curBytes = this.prevBytes = 0;
  }

  private rotate(now: number): void {
    if (now - this.curStart >= this.ttlMs / 2) {
      this.prev = this.cur;
      this.prevIt = this.curIt;
      this.prevBytes = this.curBytes;
      this.prevStart = this.curStart;
      this.cur = new Map();
      this.curIt = null;
      this.curBytes = 0;
      this.curStart = now;
    }
    if (now - this.prevStart >= this.ttlMs) {
      this.prev = new Map();
      this.prevIt = null;
      this.prevBytes = 0;
      this.prevStart = now;
    }
  }
}

function cost(key: string, value: Buffer): number {
  return entryCost(key, value.length);
}

/** What an entry of `key` holding `valueBytes` bytes counts against the byte bound. */
export function entryCost(key: string, valueBytes: number): number {
  return valueBytes + key.length * 2 + OVERHEAD;
}
