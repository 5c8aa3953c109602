/**
 * Byte layout of one shard's shared memory. Single source of truth: src/store reads every field
 * through accessors derived from these structs, and test/native-layout pins the numbers.
 *
 * A shard owns four SharedArrayBuffers:
 *   header  fixed size       ShardHeader: lock word, state, counters, list heads, slab classes
 *   index   growable         [ slot refs: u32 × cap ][ ghost: GhostSlot × ghostCap ][ tags: u8 × cap ]
 *   arena   growable         pages of PAGE_SIZE bytes, each starting with a PageHeader
 *
 * Every field except ShardHeader.lock is guarded by the shard lock: a thread reads or writes it
 * only between lock acquire (Atomics.compareExchange, acquire) and release (Atomics.store,
 * release), which orders the plain typed-array accesses in between.
 */
import { bits, struct } from './struct.ts';

/** Bumped on any change to a struct below, a constant in this file or a bit assignment. */
export const LAYOUT_VERSION = 8;

/** Arena page size. Slab classes carve pages into chunks; larger items take runs of whole pages. */
export const PAGE_SIZE = 64 * 1024;
/** Arena byte offsets are stored divided by this: a u32 ref addresses 32 GiB per shard. */
export const REF_UNIT = 8;
/** The null ref and the null page number. Ref 0 would be the first page header, never an item. */
export const NIL_REF = 0;
export const NIL_PAGE = 0xffffffff;

/** Slab size classes: the smallest chunk, the growth factor, and how many classes exist at most. */
export const SLAB_MIN_CHUNK = 48;
export const SLAB_GROWTH_FACTOR = 1.25;
export const SLAB_CLASS_MAX = 62;
/** classId of an item stored in a run of whole pages rather than a slab chunk. */
export const CLASS_LARGE = 63;

/** Policy lists in the header: LFU keeps one list per 8-bit counter value. */
export const LIST_COUNT = 256;
/** Lists used by the other policies. */
export const LIST_MAIN = 0;
export const LIST_SMALL = 1;

export const PageHeader = struct('PageHeader', [
  { name: 'classId', type: 'u32', guard: 'shard lock', doc: 'slab class of the chunks in this page, CLASS_LARGE for an item run, PAGE_FREE when free' },
  { name: 'live', type: 'u32', guard: 'shard lock', doc: 'live chunks in this slab page; the page returns to the free pool when it reaches 0' },
  { name: 'runPages', type: 'u32', guard: 'shard lock', doc: 'pages in this run (1 for a slab page)' },
  { name: 'nextFree', type: 'u32', guard: 'shard lock', doc: 'next free run (page number) while free, NIL_PAGE at the end' },
], { align: REF_UNIT });

/** PageHeader.classId of a page in the free pool. */
export const PAGE_FREE = 0xfe;

/**
 * The header of every item (and of every free chunk, which reuses prev/next as free-list links).
 * Key bytes follow the header, value bytes follow the key.
 */
export const ItemHeader = struct('ItemHeader', [
  { name: 'prev', type: 'u32', guard: 'shard lock', doc: 'ref of the previous item in its policy list (toward the head), or previous free chunk' },
  { name: 'next', type: 'u32', guard: 'shard lock', doc: 'ref of the next item in its policy list (toward the tail), or next free chunk' },
  { name: 'keyInfo', type: 'u32', guard: 'shard lock', doc: 'KeyInfo bit fields: key length and database' },
  { name: 'valInfo', type: 'u32', guard: 'shard lock', doc: 'ValInfo bit fields: value length and encoding' },
  { name: 'meta', type: 'u32', guard: 'shard lock', doc: 'ItemMeta bit fields' },
  { name: 'hash', type: 'u32', guard: 'shard lock', doc: 'hash32 of the key: rehash and SCAN never rehash key bytes' },
  { name: 'expireAt', type: 'f64', guard: 'shard lock', doc: 'absolute expiry, Unix ms; 0 means no expiry' },
], { align: REF_UNIT });

export const ItemMeta = bits('ItemMeta', [
  { name: 'classId', bits: 6, doc: 'slab class of the chunk, CLASS_LARGE for a page run' },
  { name: 'state', bits: 1, doc: 'CHUNK_FREE or CHUNK_LIVE' },
  { name: 'spare', bits: 1, doc: 'unused, 0' },
  { name: 'policy', bits: 8, doc: 'policy state: LFU counter; SIEVE visited bit; S3-FIFO freq (2 bits) and main-queue bit (bit 2)' },
  { name: 'ldt', bits: 16, doc: 'LFU: minutes clock (mod 2^16) of the last counter decrement, as Redis; other policies: seconds clock (mod 2^16) of the last access, for OBJECT IDLETIME' },
]);
/**
 * A value's length and its encoding share a word: every write of a value sets both (Shard's
 * writeLocked), and a RENAME or MOVE keeps both.
 */
export const ValInfo = bits('ValInfo', [
  { name: 'len', bits: 30, doc: 'value bytes; values are limited to 512 MiB (MAX_BULK, 2^29)' },
  { name: 'encoding', bits: 2, doc: 'ValueEncoding of the command that wrote the value' },
]);

/**
 * ValInfo.encoding: what OBJECT ENCODING and OBJECT REFCOUNT report, as Redis would have encoded
 * the value that command wrote (object.c, t_string.c). Append-only.
 *   auto      tryObjectEncoding (SET, MSET, INCR…): `int` if it reads as a long, shared for
 *             0..9999; else `embstr` up to 44 bytes, else `raw`
 *   (a write that would be auto while an LRU or LFU policy evicts under a memory limit is
 *   unshared: Redis then shares no integer)
 *   raw       `raw` (APPEND to an existing key, SETRANGE: Redis's unshared strings)
 *   string    `embstr` up to 44 bytes, else `raw`, never `int` (INCRBYFLOAT's
 *             createStringObjectFromLongDouble)
 *   unshared  as auto, but an integer is never shared (COPY: dupStringObject)
 */
export const ValueEncoding = { auto: 0, raw: 1, string: 2, unshared: 3 } as const;
export type ValueEncodingId = (typeof ValueEncoding)[keyof typeof ValueEncoding];

/**
 * Key length and database number share a word, so one compare checks both: the same key bytes in
 * two databases are two entries with the same hash.
 */
export const KeyInfo = bits('KeyInfo', [
  { name: 'len', bits: 28, doc: 'key bytes; keys are limited to 2^28 - 1 bytes' },
  { name: 'db', bits: 4, doc: 'database number (SELECT), 0-15' },
]);
export const MAX_KEY_LEN = 2 ** 28 - 1;
export const MAX_DATABASES = 16;

/**
 * WATCH's table of watched keys, one per shard: Redis's watched_keys dict (multi.c) in shared
 * memory. A slot holds a watched key's watchWord (hash with database folded in), the WATCH
 * registrations that hold it, and a version that each write of the key bumps; EXEC compares the
 * version with the one WATCH read. Open addressing with linear probing: no word sits more than
 * WATCH_PROBES - 1 slots past its home slot, and deletion shifts later words back, so a lookup
 * stops at the first unused slot or after WATCH_PROBES slots. A WATCH that finds no slot within
 * WATCH_PROBES is tracked by the shard's write count instead, which any write of the shard bumps.
 * WATCH_SLOTS is a power of two.
 */
export const WATCH_SLOTS = 1024;
export const WATCH_PROBES = 32;

export const WatchSlot = struct('WatchSlot', [
  { name: 'word', type: 'u32', guard: 'shard lock', doc: 'watchWord of the watched key; meaningful while refs > 0' },
  { name: 'refs', type: 'u32', guard: 'shard lock', doc: 'WATCH registrations holding the slot; 0 means unused' },
  { name: 'version', type: 'u32', guard: 'shard lock', doc: 'writes of the key since the slot was taken (wraps)' },
]);

export const CHUNK_FREE = 0;
export const CHUNK_LIVE = 1;
/** S3-FIFO bits within ItemMeta.policy. */
export const S3_FREQ_MASK = 0b11;
export const S3_IN_MAIN = 0b100;

/** A ghost slot remembers a key evicted from S3-FIFO's small queue: its hash and when. */
export const GhostSlot = struct('GhostSlot', [
  { name: 'hash', type: 'u32', guard: 'shard lock', doc: 'hash32 of the evicted key; 0 means empty' },
  { name: 'seq', type: 'u32', guard: 'shard lock', doc: 'ShardHeader.ghostSeq when it was inserted' },
]);

export const ShardHeader = struct('ShardHeader', [
  // Cache line 0: the lock word alone, so spinning on it does not bounce the state lines.
  { name: 'lock', type: 'i32', align: 64, guard: 'atomic (Atomics.compareExchange / wait / notify)', doc: '0 free, 1 held, 2 held with waiters' },
  { name: 'lockOwner', type: 'i32', guard: 'written by the holder just after taking the lock and cleared just before releasing it; read by a supervisor once the holder has died', doc: 'threadId + 1 of the thread holding the lock, 0 when free: a thread that dies holding it can be told from a live one (Store.recoverLocksOf)' },
  // State, guarded by the lock.
  { name: 'generation', type: 'u32', align: 64, guard: 'shard lock', doc: 'bumped whenever the index or arena buffer grows; threads rebuild their views when it changes' },
  { name: 'policy', type: 'u32', guard: 'shard lock', doc: 'PolicyId' },
  { name: 'indexCap', type: 'u32', guard: 'shard lock', doc: 'index slots, a power of two' },
  { name: 'ghostCap', type: 'u32', guard: 'shard lock', doc: 'ghost slots (S3-FIFO only), a power of two or 0' },
  { name: 'count', type: 'u32', guard: 'shard lock', doc: 'live items' },
  { name: 'volatileCount', type: 'u32', guard: 'shard lock', doc: 'live items with an expiry' },
  { name: 'arenaPages', type: 'u32', guard: 'shard lock', doc: 'pages the arena buffer holds' },
  { name: 'pagesInUse', type: 'u32', guard: 'shard lock', doc: 'pages owned by slab classes or item runs' },
  { name: 'freeRunHead', type: 'u32', guard: 'shard lock', doc: 'first free page run, NIL_PAGE if none' },
  { name: 'maxEntries', type: 'u32', guard: 'shard lock', doc: 'entry-count bound, 0 for none' },
  { name: 'sieveHand', type: 'u32', guard: 'shard lock', doc: 'SIEVE hand: ref of the next item to examine, NIL_REF to restart at the tail' },
  { name: 'smallCount', type: 'u32', guard: 'shard lock', doc: 'S3-FIFO: items in the small queue' },
  { name: 'ghostSeq', type: 'u32', guard: 'shard lock', doc: 'S3-FIFO: ghost insertions so far (wraps)' },
  { name: 'lfuLogFactor', type: 'u32', guard: 'shard lock', doc: 'LFU counter logarithm factor (Redis lfu-log-factor)' },
  { name: 'lfuDecayTime', type: 'u32', guard: 'shard lock', doc: 'LFU decay period in minutes (Redis lfu-decay-time), 0 disables decay' },
  { name: 'rng', type: 'u32', guard: 'shard lock', doc: 'xorshift32 state for sampling' },
  { name: 'evictMode', type: 'u32', guard: 'shard lock', doc: 'EvictMode: how a victim is chosen' },
  { name: 'expireCursor', type: 'u32', guard: 'shard lock', doc: 'next index slot the active expiry sweep examines' },
  { name: 'classCount', type: 'u32', guard: 'shard lock', doc: 'slab classes in use (classSize entries that are set)' },
  { name: 'flushEpoch', type: 'u32', guard: 'shard lock', doc: 'bumped when the whole shard is emptied at once (FLUSHALL, FLUSHDB): a WATCHed key that existed then is touched, one that did not is not, as in Redis' },
  { name: 'maxBytes', type: 'f64', guard: 'shard lock', doc: 'memory bound for this shard in bytes, 0 for none' },
  { name: 'startupBytes', type: 'f64', guard: 'written once at creation', doc: 'bytes the shard held when created empty (INFO used_memory_startup)' },
  // Counters: written under the lock by whichever thread runs the command; own cache line.
  { name: 'hits', type: 'f64', align: 64, guard: 'shard lock', doc: 'lookups that found a live key' },
  { name: 'misses', type: 'f64', guard: 'shard lock', doc: 'lookups that found nothing' },
  { name: 'expired', type: 'f64', guard: 'shard lock', doc: 'keys removed because their TTL passed' },
  { name: 'evicted', type: 'f64', guard: 'shard lock', doc: 'keys removed to respect maxmemory or maxEntries' },
  // Policy lists: head and tail refs per list, interleaved [head0, tail0, head1, tail1, ...].
  { name: 'lists', type: 'u32', count: LIST_COUNT * 2, align: 64, guard: 'shard lock', doc: 'policy list heads (MRU end) and tails (eviction end)' },
  // Slab classes.
  { name: 'classSize', type: 'u32', count: SLAB_CLASS_MAX, align: 64, guard: 'written once at creation', doc: 'chunk bytes of each slab class, ascending' },
  { name: 'classFree', type: 'u32', count: SLAB_CLASS_MAX, guard: 'shard lock', doc: 'head of each class free-chunk list (doubly linked through ItemHeader.prev/next)' },
  { name: 'classChunks', type: 'u32', count: SLAB_CLASS_MAX, guard: 'shard lock', doc: 'chunks each class owns (free or live)' },
  { name: 'classLive', type: 'u32', count: SLAB_CLASS_MAX, guard: 'shard lock', doc: 'live chunks of each class' },
  // Per-database counts (INFO keyspace, DBSIZE).
  { name: 'dbKeys', type: 'u32', count: MAX_DATABASES, align: 64, guard: 'shard lock', doc: 'live items per database' },
  { name: 'dbVolatile', type: 'u32', count: MAX_DATABASES, guard: 'shard lock', doc: 'live items with an expiry per database' },
  // WATCH (Redis multi.c keeps a dict of watched keys; this is its shared-memory counterpart).
  { name: 'watchers', type: 'u32', align: 64, guard: 'shard lock', doc: 'WATCH registrations of keys in this shard not yet released by EXEC, DISCARD, UNWATCH, RESET or disconnect; writes are tracked while it is nonzero' },
  { name: 'writeSeq', type: 'u32', guard: 'shard lock', doc: 'writes made while watchers > 0 (wraps): what a registration without a table slot compares' },
  { name: 'watchSlotsUsed', type: 'u32', guard: 'shard lock', doc: 'watchTable slots with refs > 0' },
  { name: 'watchTable', type: 'u32', count: (WATCH_SLOTS * WatchSlot.size) / 4, align: 64, guard: 'shard lock', doc: 'WATCH_SLOTS WatchSlot records' },
], { align: 64 });

/**
 * Policy ids as stored in ShardHeader.policy. Append-only.
 *   lruSeconds  LRU ordered by the second of each item's last access, the resolution of Redis's
 *               LRU clock: a hit relinks an item only when its access second changed, so a key
 *               read many times a second is relinked once a second, not on every read.
 */
export const PolicyId = {
  lru: 1,
  lfu: 2,
  fifo: 3,
  sieve: 4,
  s3fifo: 5,
  lruSeconds: 6,
} as const;
export type PolicyName = keyof typeof PolicyId;

/**
 * How a victim is chosen when memory or the entry bound is reached. Append-only.
 *   policy          the policy's own victim (allkeys-*)
 *   volatile        the policy's victim among keys with an expiry (volatile-lru, volatile-lfu)
 *   volatileTtl     the sampled key with the nearest expiry (volatile-ttl)
 *   random          a sampled key (allkeys-random)
 *   volatileRandom  a sampled key with an expiry (volatile-random)
 *   noeviction      none: the write fails with Redis's OOM error
 */
export const EvictMode = { policy: 0, volatile: 1, volatileTtl: 2, random: 3, volatileRandom: 4, noeviction: 5 } as const;
export type EvictModeId = (typeof EvictMode)[keyof typeof EvictMode];

/**
 * An index slot's u8 tag, 0 for an empty slot: bit 0 always set (a used slot's tag is never 0),
 * bits 1-6 a fragment of the key's hash (tagOf), so most probes that land on another key are
 * rejected without reading the arena, and TagBits.ttl set while the item has an expiry, so the
 * active expiry sweep passes the slots of keys without one reading only the tags.
 */
export const TagBits = { hash: 0x7f, ttl: 0x80 } as const;

/** Index region offsets for a given capacity. */
export function indexLayout(indexCap: number, ghostCap: number): { refs: number; ghost: number; tags: number; bytes: number } {
  const refs = 0;
  const ghost = refs + indexCap * 4;
  const tags = ghost + ghostCap * GhostSlot.size;
  return { refs, ghost, tags, bytes: tags + indexCap };
}
