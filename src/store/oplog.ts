/**
 * The op-log ring: every applied write appends one record; replication and the append-only file
 * read them back. It doubles as the replication backlog: writers never wait for readers, and a
 * reader that falls more than a ring behind gets SC_ERR_OPLOG_LAPPED and must resync in full.
 * Layout and the concurrency contract: native-layout/oplog.ts.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import {
  NO_VALUE,
  OPLOG_LAYOUT_VERSION,
  OpLogHeader,
  PAD_TYPE,
  RECORD_ALIGN,
  RecordHeader,
  type OpTypeCode,
} from '../../native-layout/oplog.ts';
import { alignUp } from '../../native-layout/struct.ts';
import { ErrorCode, scError } from '../errors.ts';
import { copyInto } from '../bytes.ts';
import { lockWord, unlockWord } from './lock.ts';

/** Smallest ring: a quarter of it (the largest record) stays far above any header. */
export const OPLOG_MIN_BYTES = 64 * 1024;
/** Largest ring: capacity fits a u32 and positions masked through ToInt32 stay non-negative. */
export const OPLOG_MAX_BYTES = 1024 * 1024 * 1024;

// Record fields: byte offsets for u8 fields, element indexes (relative to the record) otherwise.
const R = RecordHeader.fields;
const R_LEN = R.len.index;
const R_TYPE = R.type.offset;
const R_FLAGS = R.flags.offset;
const R_DB = R.db.index;
const R_KEY_LEN = R.keyLen.index;
const R_VAL_LEN = R.valLen.index;
const R_SEQ = R.seq.index;
const R_EXPIRE = R.expireAt.index;
const R_ARG = R.arg.index;
const R_SIZE = RecordHeader.size;

// Header fields: element indexes into the header's Int32/Uint32/Float64 views.
const H = OpLogHeader.fields;
const H_LOCK = H.lock.index;
const H_VERSION = H.layoutVersion.index;
const H_CAPACITY = H.capacity.index;
const H_WRITE_POS = H.writePos.index;
const H_NEXT_SEQ = H.nextSeq.index;
const H_GEN = H.pubGen.index;
const H_WAITERS = H.waiters.index;
const H_PUB_WRITE_POS = H.pubWritePos.index;
const H_PUB_NEXT_SEQ = H.pubNextSeq.index;
const H_TAIL_POS = H.tailPos.index;
const H_TAIL_SEQ = H.tailSeq.index;

/** Three views over the same bytes; record offsets are multiples of RECORD_ALIGN. */
export interface RecordViews {
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
}

export interface OpRecord {
  readonly seq: number;
  readonly type: OpTypeCode;
  readonly flags: number;
  readonly key: Buffer;
  readonly value: Buffer | null;
  readonly expireAt: number;
  readonly arg: number;
  /** Database (SELECT) of the key. */
  readonly db: number;
}

/** What a worker needs to attach to the same ring: postable (structured clone shares the buffer). */
export interface OpLogHandle {
  readonly buffer: SharedArrayBuffer;
}

// Usage: const v = recordViews(new ArrayBuffer(4096)); encodeRecord(v, 0, ...)
export function recordViews(buffer: ArrayBufferLike, byteOffset = 0, byteLength = buffer.byteLength - byteOffset): RecordViews {
  if (byteOffset % RECORD_ALIGN !== 0 || byteLength % RECORD_ALIGN !== 0) throw new RangeError('recordViews: offset and length must be multiples of RECORD_ALIGN');
  return {
    u8: new Uint8Array(buffer, byteOffset, byteLength),
    u16: new Uint16Array(buffer, byteOffset, byteLength / 2),
    u32: new Uint32Array(buffer, byteOffset, byteLength / 4),
    f64: new Float64Array(buffer, byteOffset, byteLength / 8),
  };
}

// Usage: recordSize(key.length, value === null ? 0 : value.length) -> bytes the record occupies.
export function recordSize(keyLen: number, valLen: number): number {
  return alignUp(R_SIZE + keyLen + valLen, RECORD_ALIGN);
}

// Usage: const len = encodeRecord(v, off, seq, OpType.SET, 0, key, value, 0, 0); no allocation.
// The caller has checked that recordSize(...) bytes fit at `off`.
export function encodeRecord(
  v: RecordViews,
  off: number,
  seq: number,
  type: number,
  flags: number,
  key: Uint8Array,
  value: Uint8Array | null,
  expireAt: number,
  arg: number,
  db = 0,
): number {
  const valLen = value === null ? 0 : value.length;
  const len = recordSize(key.length, valLen);
  const w = off >>> 2;
  const d = off >>> 3;
  v.u32[w + R_LEN] = len;
  v.u8[off + R_TYPE] = type;
  v.u8[off + R_FLAGS] = flags;
  v.u16[(off >>> 1) + R_DB] = db;
  v.u32[w + R_KEY_LEN] = key.length;
  v.u32[w + R_VAL_LEN] = value === null ? NO_VALUE : valLen;
  v.f64[d + R_SEQ] = seq;
  v.f64[d + R_EXPIRE] = expireAt;
  v.f64[d + R_ARG] = arg;
  const keyAt = off + R_SIZE;
  copyInto(v.u8, keyAt, key, 0, key.length);
  if (value !== null) copyInto(v.u8, keyAt + key.length, value, 0, valLen);
  for (let i = keyAt + key.length + valLen; i < off + len; i++) v.u8[i] = 0;
  return len;
}

// Usage: writePad(v, off, bytesToEnd). Only len and type are written: a PAD can be 8 bytes.
export function writePad(v: RecordViews, off: number, len: number): void {
  v.u32[(off >>> 2) + R_LEN] = len;
  v.u8[off + R_TYPE] = PAD_TYPE;
}

export function recordLen(v: RecordViews, off: number): number {
  return v.u32[(off >>> 2) + R_LEN]!;
}

export function recordType(v: RecordViews, off: number): number {
  return v.u8[off + R_TYPE]!;
}

// Usage: const rec = decodeRecord(v, off, limit) ?? corrupt(). Copies key and value out.
// Returns null when the header is inconsistent or the record would run past `limit`.
export function decodeRecord(v: RecordViews, off: number, limit: number = v.u8.length): OpRecord | null {
  const w = off >>> 2;
  const d = off >>> 3;
  const len = v.u32[w + R_LEN]!;
  const keyLen = v.u32[w + R_KEY_LEN]!;
  const rawValLen = v.u32[w + R_VAL_LEN]!;
  const valLen = rawValLen === NO_VALUE ? 0 : rawValLen;
  if (len < R_SIZE || len % RECORD_ALIGN !== 0 || off + len > limit || R_SIZE + keyLen + valLen > len) return null;
  const keyAt = off + R_SIZE;
  return {
    seq: v.f64[d + R_SEQ]!,
    type: v.u8[off + R_TYPE]! as OpTypeCode,
    flags: v.u8[off + R_FLAGS]!,
    key: copyOut(v.u8, keyAt, keyLen),
    value: rawValLen === NO_VALUE ? null : copyOut(v.u8, keyAt + keyLen, valLen),
    expireAt: v.f64[d + R_EXPIRE]!,
    arg: v.f64[d + R_ARG]!,
    db: v.u16[(off >>> 1) + R_DB]!,
  };
}

function copyOut(u8: Uint8Array, start: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  copyInto(b, 0, u8, start, n);
  return b;
}

function lappedError(): Error {
  return scError(ErrorCode.OPLOG_LAPPED);
}

/** One thread's views of a ring, plus scratch for the last published snapshot it took. */
class Ring {
  readonly buffer: SharedArrayBuffer;
  readonly cap: number;
  /** cap - 1. `pos & mask` is pos mod cap for any integer pos < 2^53: ToInt32 keeps the low 32 bits. */
  readonly mask: number;
  readonly maxRecord: number;
  /**
   * Writers free at least this much beyond what the next record needs, so the tail (and its
   * seqlock window) moves once every many appends; the backlog keeps >= cap - tailStep bytes.
   */
  readonly tailStep: number;
  readonly hi32: Int32Array;
  readonly hu32: Uint32Array;
  readonly hf64: Float64Array;
  readonly data: RecordViews;

  // Last snapshot (see snapshot()); single-threaded scratch, read right after taking it.
  gen = 0;
  pubWritePos = 0;
  pubNextSeq = 0;
  tailPos = 0;
  tailSeq = 0;

  constructor(buffer: SharedArrayBuffer, cap: number) {
    this.buffer = buffer;
    this.cap = cap;
    this.mask = cap - 1;
    this.maxRecord = cap / 4;
    this.tailStep = cap / 16;
    const hs = OpLogHeader.size;
    this.hi32 = new Int32Array(buffer, 0, hs / 4);
    this.hu32 = new Uint32Array(buffer, 0, hs / 4);
    this.hf64 = new Float64Array(buffer, 0, hs / 8);
    this.data = recordViews(buffer, hs, cap);
  }

  /** A consistent copy of the published fields (seqlock read; see native-layout/oplog.ts). */
  snapshot(): void {
    const h = this.hf64;
    for (;;) {
      const g = Atomics.load(this.hi32, H_GEN);
      // Odd: a writer is inside a window of a few stores. (One killed inside it, like one killed
      // holding the ring lock, leaves the ring unusable: terminate workers only when idle.)
      if ((g & 1) !== 0) continue;
      this.pubWritePos = h[H_PUB_WRITE_POS]!;
      this.pubNextSeq = h[H_PUB_NEXT_SEQ]!;
      this.tailPos = h[H_TAIL_POS]!;
      this.tailSeq = h[H_TAIL_SEQ]!;
      // An RMW, not a load: the plain reads above cannot drift past it.
      if (Atomics.compareExchange(this.hi32, H_GEN, g, g) === g) {
        this.gen = g;
        return;
      }
    }
  }

  /** After copying bytes from `start` on under snapshot generation `gen`: were any overwritten? */
  overwrittenSince(gen: number, start: number): boolean {
    if (Atomics.compareExchange(this.hi32, H_GEN, gen, gen) === gen) return false;
    this.snapshot();
    return this.tailPos > start;
  }

  /** Ring lock held. Drops whole records until tailPos >= min (callers add tailStep), then publishes the tail. */
  advanceTail(min: number): void {
    const h = this.hf64;
    const d = this.data;
    let t = h[H_TAIL_POS]!;
    let ts = h[H_TAIL_SEQ]!;
    while (t < min) {
      const off = t & this.mask;
      const len = d.u32[(off >>> 2) + R_LEN]!;
      if (len < RECORD_ALIGN) throw new Error(`op-log: corrupt record length ${len} at position ${t}`);
      if (d.u8[off + R_TYPE] !== PAD_TYPE) ts = d.f64[(off >>> 3) + R_SEQ]! + 1;
      t += len;
    }
    Atomics.add(this.hi32, H_GEN, 1);
    h[H_TAIL_POS] = t;
    h[H_TAIL_SEQ] = ts;
    Atomics.add(this.hi32, H_GEN, 1);
  }

  /** Ring lock held. Makes every record appended so far visible; true if there were any. */
  publish(): boolean {
    const h = this.hf64;
    if (h[H_PUB_WRITE_POS] === h[H_WRITE_POS]) return false;
    Atomics.add(this.hi32, H_GEN, 1);
    h[H_PUB_WRITE_POS] = h[H_WRITE_POS]!;
    h[H_PUB_NEXT_SEQ] = h[H_NEXT_SEQ]!;
    Atomics.add(this.hi32, H_GEN, 1);
    return true;
  }
}

export class OpLog {
  readonly #r: Ring;
  /** Whether this thread's instance holds the ring lock (lock() without unlock()). */
  #held = false;

  private constructor(ring: Ring) {
    this.#r = ring;
  }

  // Usage: const log = OpLog.create({ bytes: 64 << 20 }); bytes round up to a power of two.
  static create(opts: { bytes: number }): OpLog {
    const { bytes } = opts;
    if (!(bytes > 0) || bytes > OPLOG_MAX_BYTES) throw scError(ErrorCode.INVALID_ARG, `ERR op-log size must be between 1 and ${OPLOG_MAX_BYTES} bytes`);
    let cap = OPLOG_MIN_BYTES;
    while (cap < bytes) cap *= 2;
    const ring = new Ring(new SharedArrayBuffer(OpLogHeader.size + cap), cap);
    ring.hu32[H_VERSION] = OPLOG_LAYOUT_VERSION;
    ring.hu32[H_CAPACITY] = cap;
    ring.hf64[H_WRITE_POS] = 0;
    ring.hf64[H_NEXT_SEQ] = 1;
    ring.hf64[H_PUB_WRITE_POS] = 0;
    ring.hf64[H_PUB_NEXT_SEQ] = 1;
    ring.hf64[H_TAIL_POS] = 0;
    ring.hf64[H_TAIL_SEQ] = 1;
    return new OpLog(ring);
  }

  // Usage (in a worker): const log = OpLog.attach(workerData.oplog);
  static attach(handle: OpLogHandle): OpLog {
    const buffer = handle.buffer;
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < OpLogHeader.size + OPLOG_MIN_BYTES) {
      throw scError(ErrorCode.INVALID_ARG, 'ERR op-log handle does not hold an op-log buffer');
    }
    const header = new Uint32Array(buffer, 0, OpLogHeader.size / 4);
    const version = header[H_VERSION];
    const cap = header[H_CAPACITY]!;
    if (version !== OPLOG_LAYOUT_VERSION) throw scError(ErrorCode.INVALID_ARG, `ERR op-log layout version ${version}, expected ${OPLOG_LAYOUT_VERSION}`);
    if ((cap & (cap - 1)) !== 0 || buffer.byteLength !== OpLogHeader.size + cap) throw scError(ErrorCode.INVALID_ARG, 'ERR op-log header and buffer size disagree');
    return new OpLog(new Ring(buffer, cap));
  }

  // Usage: worker.postMessage({ oplog: log.handle() }).
  handle(): OpLogHandle {
    return { buffer: this.#r.buffer };
  }

  /** Data bytes in the ring. */
  get capacity(): number {
    return this.#r.cap;
  }

  /** Largest record append accepts: a quarter of the ring. */
  get maxRecordBytes(): number {
    return this.#r.maxRecord;
  }

  /** Seq the next record will get: exact while this instance holds the lock, else the published value. */
  get nextSeq(): number {
    if (this.#held) return this.#r.hf64[H_NEXT_SEQ]!;
    this.#r.snapshot();
    return this.#r.pubNextSeq;
  }

  // Usage: log.lock(); try { log.appendLocked(...); log.appendLocked(...); } finally { log.unlock(); }
  // Records appended under one hold get contiguous seqs and become visible together at unlock().
  lock(): void {
    if (this.#held) throw scError(ErrorCode.INVALID_ARG, 'ERR op-log lock is not reentrant');
    lockWord(this.#r.hi32, H_LOCK);
    this.#held = true;
  }

  unlock(): void {
    if (!this.#held) throw scError(ErrorCode.INVALID_ARG, 'ERR op-log unlock without lock');
    const r = this.#r;
    const published = r.publish();
    this.#held = false;
    unlockWord(r.hi32, H_LOCK);
    if (published && Atomics.load(r.hi32, H_WAITERS) > 0) Atomics.notify(r.hi32, H_GEN);
  }

  // Usage: const seq = log.append(OpType.SET, key, value, expireAt);
  append(type: number, key: Uint8Array, value: Uint8Array | null, expireAt: number, arg = 0, flags = 0, db = 0): number {
    this.lock();
    try {
      return this.appendLocked(type, key, value, expireAt, arg, flags, db);
    } finally {
      this.unlock();
    }
  }

  // Usage: between lock() and unlock(). Writes straight into the ring; allocates nothing.
  appendLocked(type: number, key: Uint8Array, value: Uint8Array | null, expireAt: number, arg = 0, flags = 0, db = 0): number {
    if (!this.#held) throw scError(ErrorCode.INVALID_ARG, 'ERR op-log appendLocked without lock');
    const r = this.#r;
    // Any u8 but PAD: the ring carries types newer than this file's OpType unchanged.
    if ((type & 0xff) !== type || type === PAD_TYPE || (flags & 0xff) !== flags) {
      throw scError(ErrorCode.INVALID_ARG, `ERR op-log record type ${type} / flags ${flags} out of range`);
    }
    const size = recordSize(key.length, value === null ? 0 : value.length);
    if (size > r.maxRecord) {
      throw scError(ErrorCode.INVALID_ARG, `ERR op-log record of ${size} bytes exceeds a quarter of the ring (${r.maxRecord} bytes)`);
    }
    const h = r.hf64;
    let pos = h[H_WRITE_POS]!;
    let off = pos & r.mask;
    const room = r.cap - off;
    const pad = size > room ? room : 0;
    const end = pos + pad + size;
    if (end - h[H_TAIL_POS]! > r.cap) r.advanceTail(end - r.cap + r.tailStep);
    if (pad !== 0) {
      writePad(r.data, off, pad);
      pos += pad;
      off = 0;
    }
    const seq = h[H_NEXT_SEQ]!;
    encodeRecord(r.data, off, seq, type, flags, key, value, expireAt, arg, db);
    h[H_WRITE_POS] = pos + size;
    h[H_NEXT_SEQ] = seq + 1;
    return seq;
  }

  // Usage: const rd = log.reader(); ... rd.poll(). From `fromSeq` if given, else from the next
  // record to be written. Throws SC_ERR_OPLOG_LAPPED if fromSeq was already overwritten.
  reader(fromSeq?: number): OpLogReader {
    const r = this.#r;
    r.snapshot();
    if (fromSeq === undefined || fromSeq === r.pubNextSeq) return new OpLogReader(r, r.pubWritePos, r.pubNextSeq);
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1 || fromSeq > r.pubNextSeq) {
      throw scError(ErrorCode.INVALID_ARG, `ERR op-log seq ${fromSeq} is not in 1..${r.pubNextSeq}`);
    }
    // Walk record lengths from the tail; retry if the tail moved under the walk.
    for (;;) {
      if (fromSeq < r.tailSeq) throw lappedError();
      const gen = r.gen;
      const start = r.tailPos;
      const end = r.pubWritePos;
      let pos = start;
      let seq = r.tailSeq;
      let ok = true;
      while (seq < fromSeq && pos < end) {
        const off = pos & r.mask;
        const len = recordLen(r.data, off);
        if (len < RECORD_ALIGN || len % RECORD_ALIGN !== 0 || len > r.cap - off) {
          ok = false;
          break;
        }
        if (recordType(r.data, off) !== PAD_TYPE) {
          if (r.data.f64[(off >>> 3) + R_SEQ] !== seq) {
            ok = false;
            break;
          }
          seq++;
        }
        pos += len;
      }
      if (r.overwrittenSince(gen, start)) continue; // r now holds a fresh snapshot
      if (!ok || seq !== fromSeq) throw new Error(`op-log: corrupt ring while seeking seq ${fromSeq}`);
      return new OpLogReader(r, pos, seq);
    }
  }
}

/**
 * A cursor over the ring, for one thread. Readers are invisible to writers: each keeps only its
 * own position, and any number may exist.
 */
export class OpLogReader {
  readonly #r: Ring;
  #pos: number;
  #seq: number;
  #lapped = false;

  /** Internal: use OpLog.reader(). */
  constructor(ring: Ring, pos: number, seq: number) {
    this.#r = ring;
    this.#pos = pos;
    this.#seq = seq;
  }

  /** Seq of the next record this reader returns. */
  get seq(): number {
    return this.#seq;
  }

  // Usage: for (const rec of rd.poll()) apply(rec). Returns up to `max` records published since
  // the last poll, in seq order, copied out. Throws SC_ERR_OPLOG_LAPPED (and keeps throwing) once
  // records it had not read were overwritten; the consumer must then resync in full.
  poll(max = Infinity): OpRecord[] {
    if (this.#lapped) throw lappedError();
    const r = this.#r;
    r.snapshot();
    const gen = r.gen;
    const end = r.pubWritePos;
    const start = this.#pos;
    if (r.tailPos > start) return this.#lap();
    const out: OpRecord[] = [];
    let pos = start;
    let seq = this.#seq;
    let corrupt = false;
    while (pos < end && out.length < max) {
      const off = pos & r.mask;
      const len = recordLen(r.data, off);
      if (len < RECORD_ALIGN || len % RECORD_ALIGN !== 0 || len > r.cap - off || pos + len > end) {
        corrupt = true;
        break;
      }
      if (recordType(r.data, off) !== PAD_TYPE) {
        const rec = decodeRecord(r.data, off, off + len);
        if (rec === null || rec.seq !== seq) {
          corrupt = true;
          break;
        }
        out.push(rec);
        seq++;
      }
      pos += len;
    }
    // Torn or inconsistent bytes are expected when a writer lapped us mid-copy, a bug otherwise.
    if (r.overwrittenSince(gen, start)) return this.#lap();
    if (corrupt) throw new Error(`op-log: corrupt record at position ${pos} (expected seq ${seq})`);
    this.#pos = pos;
    this.#seq = seq;
    return out;
  }

  // Usage (worker threads only): while (rd.waitForData(1000)) handle(rd.poll()).
  // Blocks the calling thread in Atomics.wait until a writer publishes past this reader's position
  // or timeoutMs passes: never call it on a thread that must not block (the main event loop).
  // True when data is available (or the reader was lapped; poll() then throws).
  waitForData(timeoutMs: number): boolean {
    const r = this.#r;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      r.snapshot();
      if (r.pubWritePos > this.#pos) return true;
      const left = deadline - performance.now();
      if (!(left > 0)) return false;
      // Count ourselves before re-checking the word, so a writer either sees us or changed pubGen.
      Atomics.add(r.hi32, H_WAITERS, 1);
      Atomics.wait(r.hi32, H_GEN, r.gen, left);
      Atomics.sub(r.hi32, H_WAITERS, 1);
    }
  }

  #lap(): never {
    this.#lapped = true;
    throw lappedError();
  }
}
