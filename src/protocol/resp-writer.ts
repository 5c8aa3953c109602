/**
 * Reply encoder for one connection: RESP2, or RESP3 after HELLO 3, into one growing buffer that
 * the connection flushes once per batch of requests (one write per read, the design's rule for
 * pipelines). Types without a RESP2 form degrade as Redis degrades them: maps become flat arrays,
 * doubles become bulk strings, booleans become 1/0, nulls become $-1 / *-1.
 */

import { copyInto } from './copy.ts';

const CR = 0x0d;
const LF = 0x0a;
/** From this many pending bytes, take() hands its buffer over instead of copying out of it. */
const HANDOFF_BYTES = 8 * 1024;
/** Buffers above this size are not kept as spares (a one-off huge reply does not pin memory). */
const MAX_SPARE = 1024 * 1024;
const OK = Buffer.from('+OK\r\n', 'latin1');
const NIL_BULK = Buffer.from('$-1\r\n', 'latin1');
const NIL_ARRAY = Buffer.from('*-1\r\n', 'latin1');
const NULL3 = Buffer.from('_\r\n', 'latin1');
const DIGITS: Buffer[] = Array.from({ length: 10000 }, (_, i) => Buffer.from(String(i), 'latin1'));

export class ReplyWriter {
  buf: Buffer;
  len = 0;
  /** Protocol version: 2 or 3 (HELLO). */
  resp: 2 | 3 = 2;

  constructor(initial = 16 * 1024) {
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
  private constant(b: Buffer): void {
    this.ensure(b.length);
    const out = this.buf;
    let o = this.len;
    for (let i = 0; i < b.length; i++) out[o++] = b[i]!;
    this.len = o;
  }

  /** An error line; `msg` starts with its code ("ERR ...", "WRONGTYPE ..."). CR/LF become spaces. */
  error(msg: string): void {
    const clean = msg.replace(/[\r\n]+/g, ' ');
    const n = Buffer.byteLength(clean);
    this.ensure(n + 3);
    this.buf[this.len++] = 0x2d;
    this.len += this.buf.write(clean, this.len);
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
    this.prefixNumber(0x24, b.length);
    this.ensure(b.length + 2);
    this.buf.set(b, this.len);
    this.len += b.length;
    this.crlf();
  }

  /** A bulk string from a JS string, as UTF-8. */
  bulkStr(s: string): void {
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

  double(x: number): void {
    const s = Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
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

  /** The pending bytes as a buffer the socket may keep; the writer starts empty again. */
  take(): Buffer {
    const n = this.len;
    this.len = 0;
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, 0, n);
    return out;
  }

  /**
   * Writes the pending bytes to `socket`. Big replies go out of the writer's own buffer, which
   * is swapped for a spare and recycled once the socket has written it, so large values are
   * neither copied again nor allocated per flush; small ones are copied (cheap, pooled).
   */
  writeTo(socket: { write(b: Buffer, cb: (err?: Error | null) => void): boolean; write(b: Buffer): boolean }): number {
    const n = this.len;
    if (n < HANDOFF_BYTES) {
      socket.write(this.take());
      return n;
    }
    const base = this.buf;
    this.len = 0;
    this.buf = this.spares.pop() ?? Buffer.allocUnsafe(base.length);
    socket.write(base.subarray(0, n), () => {
      if (this.spares.length < 2 && base.length <= MAX_SPARE) this.spares.push(base);
    });
    return n;
  }
  private readonly spares: Buffer[] = [];
}
