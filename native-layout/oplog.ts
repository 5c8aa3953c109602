/**
 * Byte layout of the op-log ring: one SharedArrayBuffer holding an OpLogHeader followed by
 * `capacity` data bytes (a power of two). Every applied write appends one record; replication and
 * the append-only file consume them, and the ring doubles as the replication backlog.
 *
 * Positions are absolute byte counts since creation (monotonic, exact in an f64 up to 2^53); the
 * data offset of position p is p mod capacity. Sequence numbers start at 1 and are contiguous.
 *
 * Concurrency contract:
 *  - Writers hold the ring lock (OpLogHeader.lock, src/store/lock.ts) for every append. They are
 *    the only threads that read or write the lock-guarded fields and the data bytes they own.
 *  - The `pub*` and `tail*` fields are what readers may see. A writer changes them only inside a
 *    seqlock window: Atomics.add(pubGen, 1) makes it odd, plain stores, Atomics.add(pubGen, 1)
 *    makes it even. Readers snapshot them between an Atomics.load of an even pubGen and an
 *    Atomics.compareExchange(pubGen, g, g) that must return the same g (an RMW, so the plain reads
 *    before it are ordered before any later writer window).
 *  - Before a writer overwrites data bytes it moves the tail past them and publishes the tail in
 *    its own window. A reader copies records from its position up to pubWritePos, then
 *    re-snapshots the tail: if the tail passed the reader's start, something it copied may have
 *    been overwritten and the reader is lapped. Writers never wait for readers.
 *  - Records become visible only when the writer releases the lock, so several records appended
 *    under one lock hold are published together.
 *
 * Data is in platform byte order (typed arrays over the shared bytes): the ring never leaves the
 * process; consumers re-encode for the wire or disk.
 */
import { struct } from './struct.ts';

/** Bumped on any change to a struct below, a constant in this file or an OpType number. */
export const OPLOG_LAYOUT_VERSION = 1;

/** Records start on, and are padded to, this many bytes: f64 fields stay aligned. */
export const RECORD_ALIGN = 8;

/** RecordHeader.valLen of a record without a value (value: null), as opposed to an empty one. */
export const NO_VALUE = 0xffffffff;

/**
 * Type of a PAD record, filling the ring from a writer's position to its physical end when the
 * next record would not fit there (records never straddle the end). A PAD may be as short as
 * RECORD_ALIGN bytes, so only its `len` and `type` fields are meaningful.
 */
export const PAD_TYPE = 0;

/** Record types. Append-only: numbers are persisted (AOF) and sent to replicas. */
export const OpType = {
  /** key, value; expireAt 0 for none. */
  SET: 1,
  DEL: 2,
  /** expireAt: absolute expiry in Unix ms; 0 = persist. */
  EXPIRE: 3,
  /** value: the integer delta as decimal ASCII. */
  INCRBY: 4,
  /** value: the delta as applied, decimal ASCII. */
  INCRBYFLOAT: 5,
  APPEND: 6,
  /** arg: byte offset. */
  SETRANGE: 7,
  /** Flush every database. Empty key. */
  FLUSH: 8,
  /** value: destination key. */
  RENAME: 9,
  /** value: destination key; flags: OpFlag.COPY_REPLACE. */
  COPY: 10,
  PERSIST: 11,
  /** arg: database number. Empty key. */
  FLUSHDB: 12,
} as const;
export type OpTypeCode = (typeof OpType)[keyof typeof OpType];

/** RecordHeader.flags bits. Append-only. */
export const OpFlag = {
  /** COPY ... REPLACE. */
  COPY_REPLACE: 1,
} as const;

export const OpLogHeader = struct('OpLogHeader', [
  // Cache line 0: the lock word alone, so spinning on it does not bounce the lines below.
  { name: 'lock', type: 'i32', align: 64, guard: 'atomic (Atomics.compareExchange / wait / notify)', doc: 'ring lock: 0 free, 1 held, 2 held with waiters' },
  // Cache line 1: immutable configuration and the writers' private state.
  { name: 'layoutVersion', type: 'u32', align: 64, guard: 'immutable after create', doc: 'OPLOG_LAYOUT_VERSION of the creator; attach refuses a mismatch' },
  { name: 'capacity', type: 'u32', guard: 'immutable after create', doc: 'data bytes after the header, a power of two' },
  { name: 'writePos', type: 'f64', guard: 'ring lock', doc: 'position where the next record (or PAD) goes; may run ahead of pubWritePos while the lock is held' },
  { name: 'nextSeq', type: 'f64', guard: 'ring lock', doc: 'seq the next appended record gets' },
  // Cache line 2: what readers see.
  { name: 'pubGen', type: 'i32', align: 64, guard: 'atomic (Atomics.add by writers, load / compareExchange / wait by readers)', doc: 'seqlock generation of the fields below: odd while a writer updates them; also the word readers park on in waitForData' },
  { name: 'waiters', type: 'i32', guard: 'atomic (Atomics.add / sub / load)', doc: 'readers parked on pubGen; writers call Atomics.notify only when nonzero' },
  { name: 'pubWritePos', type: 'f64', guard: 'ring lock to write, inside a pubGen window; readers snapshot under pubGen', doc: 'end of the published records: readers consume up to here' },
  { name: 'pubNextSeq', type: 'f64', guard: 'ring lock to write, inside a pubGen window; readers snapshot under pubGen', doc: 'seq of the first unpublished record' },
  { name: 'tailPos', type: 'f64', guard: 'ring lock to write, inside a pubGen window; readers snapshot under pubGen', doc: 'oldest position still readable: writers move it past bytes before overwriting them' },
  { name: 'tailSeq', type: 'f64', guard: 'ring lock to write, inside a pubGen window; readers snapshot under pubGen', doc: 'seq of the first record at or after tailPos' },
], { align: 64 });

/** Header of every record; key bytes follow it, value bytes follow the key, zero padding to RECORD_ALIGN. */
export const RecordHeader = struct('RecordHeader', [
  { name: 'len', type: 'u32', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'total record bytes: header, key, value, padding (multiple of RECORD_ALIGN)' },
  { name: 'type', type: 'u8', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'OpType, or PAD_TYPE' },
  { name: 'flags', type: 'u8', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'OpFlag bits of the type' },
  { name: 'db', type: 'u16', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'database number (SELECT) of the key' },
  { name: 'keyLen', type: 'u32', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'key bytes' },
  { name: 'valLen', type: 'u32', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'value bytes, NO_VALUE for a null value' },
  { name: 'seq', type: 'f64', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'sequence number' },
  { name: 'expireAt', type: 'f64', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'absolute expiry, Unix ms; 0 means none' },
  { name: 'arg', type: 'f64', guard: 'ring lock to write; readers re-check tailPos after copying', doc: 'numeric argument of the type (SETRANGE offset, FLUSHDB db)' },
], { align: RECORD_ALIGN });

// A PAD shorter than the header is read only through len and type.
if (RecordHeader.fields.type.offset + 1 > RECORD_ALIGN) throw new Error('RecordHeader: PAD fields must fit in RECORD_ALIGN bytes');
