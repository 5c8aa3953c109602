/**
 * Encoder and incremental parser for the binary protocol's frames (native-layout/frames.ts).
 * Both the server and the client use them, so the two cannot drift apart.
 *
 * The parser mirrors the RESP parser's contract: push() appends bytes, next() returns a frame,
 * NEED_MORE, or a FrameError after which the stream cannot be trusted and the connection closes.
 * A frame's key/meta/value are offsets into the parser's buffer, valid until the next push(): the
 * hot path reads them in place and copies only what it keeps.
 */
import { Buffer } from 'node:buffer';
import { copyInto } from '../../bytes.ts';
import { Entry, FRAME_MAGIC, FrameHeader, MAX_FRAME_BYTES, NIL_LEN } from '../../../native-layout/frames.ts';

export const HEADER_SIZE = FrameHeader.size;
const F = FrameHeader.fields;
const O_MAGIC = F.magic.offset;
const O_OPCODE = F.opcode.offset;
const O_FLAGS = F.flags.offset;
const O_LENGTH = F.length.offset;
const O_REQID = F.requestId.offset;
const O_KEYLEN = F.keyLen.offset;
const O_METALEN = F.metaLen.offset;
const O_COUNT = F.count.offset;
const ENTRY_SIZE = Entry.size;

/**
 * Stable codes of wire-level failures. They travel in ERROR frames like the store's codes do.
 * (Candidates for src/errors.ts's ErrorCode; kept here until that table has them.)
 */
export const WireErrorCode = {
  /** Bad magic byte or lengths that contradict each other: framing is lost. */
  PROTOCOL: 'SC_ERR_PROTOCOL',
  /** A header announced more than the receiver's frame limit. */
  FRAME_TOO_LARGE: 'SC_ERR_FRAME_TOO_LARGE',
  /** The peer stopped sending in the middle of a frame. */
  FRAME_TRUNCATED: 'SC_ERR_FRAME_TRUNCATED',
  /** A well-framed request with an opcode this server does not know. */
  UNKNOWN_OPCODE: 'SC_ERR_UNKNOWN_OPCODE',
  /** A well-framed request whose body does not fit its opcode. */
  BAD_REQUEST: 'SC_ERR_BAD_REQUEST',
  NOAUTH: 'SC_ERR_NOAUTH',
  WRONGPASS: 'SC_ERR_WRONGPASS',
} as const;
export type WireErrorCode = (typeof WireErrorCode)[keyof typeof WireErrorCode];

export const NEED_MORE = 0;
export type NeedMore = typeof NEED_MORE;

/** A framing failure: reply with an ERROR frame, then close. */
export class FrameError {
  readonly code: WireErrorCode;
  readonly message: string;
  /** The offending frame's request id when its header was readable, else 0. */
  readonly requestId: number;
  constructor(code: WireErrorCode, message: string, requestId = 0) {
    this.code = code;
    this.message = message;
    this.requestId = requestId;
  }
}

/** One parsed frame. The parser refills the object it is given; offsets index `buf`. */
export interface Frame {
  buf: Buffer;
  opcode: number;
  flags: number;
  requestId: number;
  count: number;
  keyOff: number;
  keyLen: number;
  metaOff: number;
  metaLen: number;
  valOff: number;
  valLen: number;
}

export function newFrame(): Frame {
  return { buf: EMPTY, opcode: 0, flags: 0, requestId: 0, count: 0, keyOff: 0, keyLen: 0, metaOff: 0, metaLen: 0, valOff: 0, valLen: 0 };
}

const EMPTY = Buffer.alloc(0);

export function frameKey(f: Frame): Buffer {
  return f.buf.subarray(f.keyOff, f.keyOff + f.keyLen);
}
export function frameMeta(f: Frame): Buffer {
  return f.buf.subarray(f.metaOff, f.metaOff + f.metaLen);
}
export function frameValue(f: Frame): Buffer {
  return f.buf.subarray(f.valOff, f.valOff + f.valLen);
}

/**
 * The `count` entries of a frame's value region as views (null for NIL_LEN), or null when the
 * entries overrun the region or leave bytes over.
 */
export function frameEntries(f: Frame, allowNil: boolean): (Buffer | null)[] | null {
  const out: (Buffer | null)[] = new Array(f.count);
  const b = f.buf;
  let p = f.valOff;
  const end = f.valOff + f.valLen;
  for (let i = 0; i < f.count; i++) {
    if (p + ENTRY_SIZE > end) return null;
    const n = b.readUInt32LE(p);
    p += ENTRY_SIZE;
    if (n === NIL_LEN) {
      if (!allowNil) return null;
      out[i] = null;
      continue;
    }
    if (p + n > end) return null;
    out[i] = b.subarray(p, p + n);
    p += n;
  }
  return p === end ? out : null;
}

export class FrameParser {
  /** Unconsumed bytes are buf[pos, end). */
  private buf: Buffer = Buffer.allocUnsafe(16 * 1024);
  private pos = 0;
  private end = 0;
  readonly maxFrame: number;

  constructor(maxFrame = MAX_FRAME_BYTES) {
    this.maxFrame = maxFrame;
  }

  /** Bytes received but not yet returned as frames. */
  get pending(): number {
    return this.end - this.pos;
  }

  /** Appends bytes. Views of earlier frames die here: only push moves bytes. */
  push(chunk: Uint8Array, off = 0, len = chunk.length - off): void {
    if (this.pos === this.end) this.pos = this.end = 0;
    if (this.end + len > this.buf.length) this.make(len);
    this.buf.set(off === 0 && len === chunk.length ? chunk : chunk.subarray(off, off + len), this.end);
    this.end += len;
  }

  /** Room for `len` more bytes: slide pending bytes to the front, growing when that is not enough. */
  private make(len: number): void {
    const keep = this.end - this.pos;
    const need = keep + len;
    let target = this.buf;
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      target = Buffer.allocUnsafe(size);
    }
    this.buf.copy(target, 0, this.pos, this.end);
    this.buf = target;
    this.pos = 0;
    this.end = keep;
  }

  next(into: Frame): Frame | NeedMore | FrameError {
    const avail = this.end - this.pos;
    if (avail === 0) return NEED_MORE;
    const b = this.buf;
    const p = this.pos;
    // Check what is checkable as early as it arrives: a wrong magic or an oversized length must
    // not wait for a body that may never come.
    if (b[p + O_MAGIC] !== FRAME_MAGIC) {
      return new FrameError(WireErrorCode.PROTOCOL, `bad frame magic 0x${b[p + O_MAGIC]!.toString(16)} (expected 0x${FRAME_MAGIC.toString(16)})`);
    }
    if (avail < O_LENGTH + 4) return NEED_MORE;
    const length = b.readUInt32LE(p + O_LENGTH);
    const reqId = avail >= O_REQID + 4 ? b.readUInt32LE(p + O_REQID) : 0;
    if (length > this.maxFrame) return new FrameError(WireErrorCode.FRAME_TOO_LARGE, `frame of ${length} bytes exceeds the limit of ${this.maxFrame}`, reqId);
    if (length < HEADER_SIZE) return new FrameError(WireErrorCode.PROTOCOL, `frame length ${length} is shorter than the ${HEADER_SIZE}-byte header`, reqId);
    if (avail < HEADER_SIZE) return NEED_MORE;
    const keyLen = b.readUInt32LE(p + O_KEYLEN);
    const metaLen = b.readUInt32LE(p + O_METALEN);
    if (keyLen + metaLen > length - HEADER_SIZE) {
      return new FrameError(WireErrorCode.PROTOCOL, `key (${keyLen}) and meta (${metaLen}) bytes overrun a ${length}-byte frame`, reqId);
    }
    if (avail < length) return NEED_MORE;
    into.buf = b;
    into.opcode = b[p + O_OPCODE]!;
    into.flags = b.readUInt16LE(p + O_FLAGS);
    into.requestId = reqId;
    into.count = b.readUInt32LE(p + O_COUNT);
    into.keyOff = p + HEADER_SIZE;
    into.keyLen = keyLen;
    into.metaOff = into.keyOff + keyLen;
    into.metaLen = metaLen;
    into.valOff = into.metaOff + metaLen;
    into.valLen = length - HEADER_SIZE - keyLen - metaLen;
    this.pos = p + length;
    return into;
  }

  /** Puts back `f`, the frame next() returned last: valid only before the next push(). */
  unread(f: Frame): void {
    this.pos = f.keyOff - HEADER_SIZE;
  }

  /** Declared length of the frame in progress, or 0 when none has started. */
  get partialFrameLength(): number {
    const avail = this.end - this.pos;
    if (avail === 0) return 0;
    if (avail < O_LENGTH + 4) return HEADER_SIZE;
    return this.buf.readUInt32LE(this.pos + O_LENGTH);
  }
}

/**
 * Frames into one growing buffer, taken as one socket write per batch. A frame is written in
 * place: begin() reserves the header, the parts follow, end() fills in the lengths.
 */
export class FrameWriter {
  buf: Buffer;
  len = 0;
  /** Start of the frame being written and where its meta and value begin. */
  private start = -1;
  private keyEnd = 0;
  private metaEnd = 0;

  constructor(initial = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Starts a frame; write its key, then meta, then value parts, then call end(). */
  begin(opcode: number, flags: number, requestId: number): void {
    this.ensure(HEADER_SIZE);
    const b = this.buf;
    const p = this.len;
    b[p + O_MAGIC] = FRAME_MAGIC;
    b[p + O_OPCODE] = opcode;
    b.writeUInt16LE(flags, p + O_FLAGS);
    b.writeUInt32LE(requestId >>> 0, p + O_REQID);
    this.start = p;
    this.len = p + HEADER_SIZE;
    this.keyEnd = this.metaEnd = this.len;
  }

  /** Appends bytes to the current part. */
  bytes(src: Uint8Array): void {
    const n = src.length;
    this.ensure(n);
    if (n < 16) {
      const b = this.buf;
      let o = this.len;
      for (let i = 0; i < n; i++) b[o++] = src[i]!;
    } else this.buf.set(src, this.len);
    this.len += n;
  }

  /** Appends a region of another buffer (the store's arena) without a view object. */
  bytesFrom(src: Uint8Array, off: number, n: number): void {
    this.ensure(n);
    copyInto(this.buf, this.len, src, off, n);
    this.len += n;
  }

  /** Ends the key part (everything written since begin()). */
  keyDone(): void {
    this.keyEnd = this.metaEnd = this.len;
  }

  /** Ends the meta part (everything written since keyDone()). */
  metaDone(): void {
    this.metaEnd = this.len;
  }

  /** An entry of a multi-key value region: length prefix and bytes, or NIL_LEN. */
  entry(src: Uint8Array | null): void {
    this.ensure(ENTRY_SIZE);
    if (src === null) {
      this.buf.writeUInt32LE(NIL_LEN, this.len);
      this.len += ENTRY_SIZE;
      return;
    }
    this.buf.writeUInt32LE(src.length, this.len);
    this.len += ENTRY_SIZE;
    this.bytes(src);
  }

  /** An entry copied from a region of another buffer. */
  entryFrom(src: Uint8Array, off: number, n: number): void {
    this.ensure(ENTRY_SIZE);
    this.buf.writeUInt32LE(n, this.len);
    this.len += ENTRY_SIZE;
    this.bytesFrom(src, off, n);
  }

  i64(v: bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64LE(v, this.len);
    this.len += 8;
  }

  /** Finishes the frame begun last: fills length, key and meta sizes, count and flags. */
  end(count = 0, orFlags = 0): void {
    const b = this.buf;
    const p = this.start;
    b.writeUInt32LE(this.len - p, p + O_LENGTH);
    b.writeUInt32LE(this.keyEnd - p - HEADER_SIZE, p + O_KEYLEN);
    b.writeUInt32LE(this.metaEnd - this.keyEnd, p + O_METALEN);
    b.writeUInt32LE(count >>> 0, p + O_COUNT);
    if (orFlags !== 0) b.writeUInt16LE(b.readUInt16LE(p + O_FLAGS) | orFlags, p + O_FLAGS);
    this.start = -1;
  }

  /** Drops the frame begun last (a handler threw half way through writing it). */
  abort(): void {
    if (this.start >= 0) this.len = this.start;
    this.start = -1;
  }

  /** A whole frame from parts in one call. */
  frame(opcode: number, flags: number, requestId: number, key: Uint8Array | null, meta: Uint8Array | null, value: Uint8Array | null, count = 0): void {
    this.begin(opcode, flags, requestId);
    if (key !== null) this.bytes(key);
    this.keyDone();
    if (meta !== null) this.bytes(meta);
    this.metaDone();
    if (value !== null) this.bytes(value);
    this.end(count);
  }

  /** The pending bytes as a buffer the socket may keep; the writer starts empty again. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.len);
    this.buf.copy(out, 0, 0, this.len);
    this.len = 0;
    return out;
  }
}

/** One frame as a standalone buffer (tests, rare paths). */
export function encodeFrame(opcode: number, flags: number, requestId: number, parts: { key?: Uint8Array; meta?: Uint8Array; value?: Uint8Array; count?: number } = {}): Buffer {
  const w = new FrameWriter(HEADER_SIZE + (parts.key?.length ?? 0) + (parts.meta?.length ?? 0) + (parts.value?.length ?? 0));
  w.frame(opcode, flags, requestId, parts.key ?? null, parts.meta ?? null, parts.value ?? null, parts.count ?? 0);
  return w.take();
}

/** A multi-key value region from a list of byte strings (null for NIL_LEN). */
export function encodeEntries(items: readonly (Uint8Array | null)[]): Buffer {
  const w = new FrameWriter(64);
  for (const it of items) w.entry(it);
  return w.take();
}
