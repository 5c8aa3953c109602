/**
 * Reply encoder for one connection: RESP2, or RESP3 after HELLO 3, into one growing buffer that
 * the connection flushes once per batch of requests (one write per read, the design's rule for
 * pipelines). Types without a RESP2 form degrade as Redis degrades them: maps become flat arrays,
 * doubles become bulk strings, booleans become 1/0, nulls become $-1 / *-1.
 */

import { Buffer } from 'node:buffer';
import { copyInto } from '../bytes.ts';
import { formatDouble17g } from './double-format.ts';

const CR = 0x0d;
const LF = 0x0a;
/** A buffer grown past this size for a big reply is dropped after it, so it does not pin memory. */
const MAX_KEPT = 1024 * 1024;
/** Below this many bytes, a reply that must wait in the socket's queue is copied out. */
const HANDOFF_BYTES = 8 * 1024;
const OK = Buffer.from('+OK\r\n', 'latin1');
const NIL_BULK = Buffer.from('$-1\r\n', 'latin1');
const NIL_ARRAY = Buffer.from('*-1\r\n', 'latin1');
const NULL3 = Buffer.from('_\r\n', 'latin1');
/** Strings shorter than this are checked for ASCII and stored byte by byte; longer ones go to Buffer#write. */
const SHORT_TEXT = 64;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

const DIGITS: Buffer[] = Array.from({ length: 10000 }, (_, i) => Buffer.from(String(i), 'latin1'));

export class ReplyWriter {
  buf: Buffer;
  len = 0;
  /** Protocol version: 2 or 3 (HELLO). */
  resp: 2 | 3 = 2;

  /** The size a new buffer starts at; ensure() grows it. */
  private readonly initial: number;

  constructor(initial = 16 * 1024) {
    this.initial = initial;
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const nb = Buffer.allocUnsafe(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Two byte stores: Buffer#writeUInt16LE checks its arguments and costs several times more. */
  private crlf(): void {
    const b = this.buf;
    b[this.len] = CR;
    b[this.len + 1] = LF;
    this.len += 2;
  }

  /** Latin-1 text by a loop: Buffer#write with an encoding costs more than these short strings. */
  private ascii(s: string): void {
    const b = this.buf;
    let o = this.len;
    for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
    this.len = o;
  }

  private prefixNumber(type: number, n: number): void {
    this.ensure(24);
    this.buf[this.len++] = type;
    if (n >= 0 && n < 10000) {
      // A few bytes: a loop, not Buffer#copy (a call into C++ per reply).
      const d = DIGITS[n]!;
      const b = this.buf;
      let o = this.len;
      for (let i = 0; i < d.length; i++) b[o++] = d[i]!;
      this.len = o;
    } else this.ascii(String(n));
    this.crlf();
  }

  /** +OK */
  simple(s: string): void {
    this.ensure(s.length + 3);
    this.buf[this.len++] = 0x2b;
    this.ascii(s);
    this.crlf();
  }

  ok(): void {
    this.constant(OK);
  }

  /** Appends fixed bytes (a few, so a loop beats Buffer#copy's call). */
  constant(b: Uint8Array): void {
    this.ensure(b.length);
    const out = this.buf;
    let o = this.len;
    for (let i = 0; i < b.length; i++) out[o++] = b[i]!;
    this.len = o;
  }

  /**
   * An error line; `msg` starts with its code ("ERR ...", "WRONGTYPE ..."), one character per
   * byte (arguments in it come from cstr()). As Redis's addReplyErrorFormat: CR and LF at the ends
   * are trimmed and each one inside becomes a space, so the reply stays one line.
   */
  error(msg: string): void {
    const clean = msg.replace(/^[\r\n]+|[\r\n]+$/g, '').replace(/[\r\n]/g, ' ');
    this.ensure(clean.length + 3);
    this.buf[this.len++] = 0x2d;
    this.len += this.buf.write(clean, this.len, 'latin1');
    this.crlf();
  }

  int(n: number | bigint): void {
    if (typeof n === 'bigint') {
      this.ensure(24);
      this.buf[this.len++] = 0x3a;
      this.ascii(n.toString());
      this.crlf();
    } else this.prefixNumber(0x3a, n);
  }

  /** A bulk string from bytes, or the null bulk. */
  bulk(b: Uint8Array | null): void {
    if (b === null) return this.nil();
    this.bulkFrom(b, 0, b.length);
  }

  /** A bulk string from a JS string, as UTF-8. */
  bulkStr(s: string): void {
    if (s.length < SHORT_TEXT && isAscii(s)) {
      // The common case (reply words, field names): byte stores, no calls into C++.
      this.prefixNumber(0x24, s.length);
      this.ensure(s.length + 2);
      this.ascii(s);
      this.crlf();
      return;
    }
    const n = Buffer.byteLength(s);
    this.prefixNumber(0x24, n);
    this.ensure(n + 2);
    this.len += this.buf.write(s, this.len);
    this.crlf();
  }

  /** A bulk string copied from a region of another buffer (the store's arena). */
  bulkFrom(src: Uint8Array, off: number, n: number): void {
    this.prefixNumber(0x24, n);
    this.ensure(n + 2);
    copyInto(this.buf, this.len, src, off, n);
    this.len += n;
    this.crlf();
  }

  nil(): void {
    this.constant(this.resp === 3 ? NULL3 : NIL_BULK);
  }

  nilArray(): void {
    this.constant(this.resp === 3 ? NULL3 : NIL_ARRAY);
  }

  array(n: number): void {
    this.prefixNumber(0x2a, n);
  }

  map(n: number): void {
    if (this.resp === 3) this.prefixNumber(0x25, n);
    else this.prefixNumber(0x2a, n * 2);
  }

  set(n: number): void {
    this.prefixNumber(this.resp === 3 ? 0x7e : 0x2a, n);
  }

  push(n: number): void {
    this.prefixNumber(this.resp === 3 ? 0x3e : 0x2a, n);
  }

  /** A double as Redis 7.0's addReplyDouble writes it ("%.17g"). */
  double(x: number): void {
    const s = formatDouble17g(x);
    if (this.resp === 3) {
      this.ensure(s.length + 3);
      this.buf[this.len++] = 0x2c;
      this.ascii(s);
      this.crlf();
    } else this.bulkStr(s);
  }

  bool(b: boolean): void {
    if (this.resp === 3) {
      this.ensure(4);
      this.ascii(b ? '#t\r\n' : '#f\r\n');
    } else this.int(b ? 1 : 0);
  }

  /** RESP3 verbatim string ("txt"), a bulk string in RESP2 (INFO, CLIENT LIST...). */
  verbatim(s: string): void {
    if (this.resp !== 3) return this.bulkStr(s);
    const n = Buffer.byteLength(s) + 4;
    this.prefixNumber(0x3d, n);
    this.ensure(n + 2);
    this.ascii('txt:');
    this.len += this.buf.write(s, this.len);
    this.crlf();
  }

  /** Appends already-encoded protocol bytes. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Appends the bytes `other` holds and empties it. */
  rawFrom(other: ReplyWriter): void {
    this.raw(other.buf.subarray(0, other.len));
    other.len = 0;
  }

  /** The pending bytes as a buffer the socket may keep; the writer starts empty again. */
  take(): Buffer {
    const n = this.len;
    this.len = 0;
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, 0, n);
    return out;
  }

  /**
   * Writes the pending bytes to `socket` straight out of the writer's buffer, without a copy.
   * When the socket took them all at once (the usual case: the kernel had room), nothing refers
   * to the buffer any more and it is reused. Otherwise the socket keeps it until written and the
   * writer starts a new one. Replies that queue behind unwritten bytes anyway are copied out if
   * small (see HANDOFF_BYTES). No write callback: a fresh one per write would cost Writable its
   * batching of write completions. `writeNow(b, n)`, when given, is tried first: it writes what
   * it can of b[0, n) past the stream and returns how much (server/adopt.ts); the stream gets
   * the rest.
   */
  writeTo(socket: { write(b: Buffer): boolean; readonly writableLength: number }, writeNow?: (b: Buffer, n: number) => number): number {
    const n = this.len;
    // Behind bytes the socket still holds, these will wait too: a small reply is copied out at its
    // own size, so a slow reader's queue holds no more memory than it counts.
    if (socket.writableLength !== 0 && n < HANDOFF_BYTES) {
      socket.write(this.take());
      return n;
    }
    const base = this.buf;
    this.len = 0;
    const done = writeNow === undefined ? 0 : writeNow(base, n);
    if (done === n) {
      if (base.length > MAX_KEPT) this.buf = Buffer.allocUnsafe(this.initial);
      return n;
    }
    socket.write(base.subarray(done, n));
    if (socket.writableLength !== 0 || base.length > MAX_KEPT) this.buf = Buffer.allocUnsafe(this.initial);
    return n;
  }
}
