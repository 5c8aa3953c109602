/**
 * DUMP payloads of string values (layout: native-layout/dump.ts), as Redis 7.0 writes and reads
 * them, so values move between this server and Redis with DUMP and RESTORE (or Redis's MIGRATE).
 * Writing: a canonical integer of up to 11 characters within 32 bits is stored as an integer
 * (rdbTryIntegerEncoding), anything else as its bytes, uncompressed (Redis may LZF-compress a
 * string over 20 bytes; both read either). Reading: every string encoding, LZF included.
 */
import { Buffer } from 'node:buffer';
import {
  DUMP_FOOTER_BYTES,
  DUMP_RDB_VERSION,
  RDB_ENC_INT16,
  RDB_ENC_INT32,
  RDB_ENC_INT8,
  RDB_ENC_LZF,
  RDB_ENCVAL,
  RDB_LEN_14BIT,
  RDB_LEN_32BIT,
  RDB_LEN_64BIT,
  RDB_LEN_6BIT,
  RDB_TYPE_STRING,
} from '../../native-layout/dump.ts';
import { crc64 } from './crc64.ts';
import { parseInt64 } from './numbers.ts';

/** Why a payload was refused: its footer (version or checksum), or its contents. */
export type DumpError = 'footer' | 'format';

/** The DUMP payload of a string value. */
export function encodeDump(value: Uint8Array): Buffer {
  const body = encodeString(value);
  const out = Buffer.allocUnsafe(1 + body.length + DUMP_FOOTER_BYTES);
  out[0] = RDB_TYPE_STRING;
  body.copy(out, 1);
  let at = 1 + body.length;
  out.writeUInt16LE(DUMP_RDB_VERSION, at);
  at += 2;
  out.writeBigUInt64LE(crc64(out, 0, at), at);
  return out;
}

/** A string in RDB encoding (rdbSaveRawString without compression). */
function encodeString(v: Uint8Array): Buffer {
  const n = v.length <= 11 ? parseInt64(v, 0, v.length) : null;
  if (typeof n === 'number') {
    if (n >= -128 && n <= 127) return Buffer.from([(RDB_ENCVAL << 6) | RDB_ENC_INT8, n & 0xff]);
    if (n >= -32768 && n <= 32767) {
      const b = Buffer.allocUnsafe(3);
      b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT16;
      b.writeInt16LE(n, 1);
      return b;
    }
    if (n >= -2147483648 && n <= 2147483647) {
      const b = Buffer.allocUnsafe(5);
      b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT32;
      b.writeInt32LE(n, 1);
      return b;
    }
  }
  const len = encodeLength(v.length);
  const b = Buffer.allocUnsafe(len.length + v.length);
  len.copy(b, 0);
  b.set(v, len.length);
  return b;
}

/** An RDB length (rdbSaveLen): 6 bits, 14 bits, or 32 or 64 bits big-endian after a marker. */
function encodeLength(n: number): Buffer {
  if (n < 1 << 6) return Buffer.from([(RDB_LEN_6BIT << 6) | n]);
  if (n < 1 << 14) return Buffer.from([(RDB_LEN_14BIT << 6) | (n >>> 8), n & 0xff]);
  if (n <= 0xffffffff) {
    const b = Buffer.allocUnsafe(5);
    b[0] = RDB_LEN_32BIT;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.allocUnsafe(9);
  b[0] = RDB_LEN_64BIT;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/** The footer check of RESTORE (verifyDumpPayload): long enough, a version it knows, the checksum. */
export function verifyDump(p: Uint8Array): boolean {
  if (p.length < DUMP_FOOTER_BYTES) return false;
  const end = p.length - DUMP_FOOTER_BYTES;
  const version = p[end]! | (p[end + 1]! << 8);
  if (version > DUMP_RDB_VERSION) return false;
  const b = Buffer.from(p.buffer, p.byteOffset, p.length);
  return b.readBigUInt64LE(end + 2) === crc64(p, 0, end + 2);
}

/** The string value of a payload that passed verifyDump, or 'format' if it holds no string. */
export function decodeDump(p: Uint8Array): Buffer | 'format' {
  const r = new Reader(p, p.length - DUMP_FOOTER_BYTES);
  if (r.byte() !== RDB_TYPE_STRING) return 'format';
  return r.string() ?? 'format';
}

/** Reads RDB fields from p[0, end); every read returns null past the end or on a malformed field. */
class Reader {
  private at = 0;
  private readonly p: Uint8Array;
  private readonly end: number;
  constructor(p: Uint8Array, end: number) {
    this.p = p;
    this.end = end;
  }

  byte(): number | null {
    return this.at < this.end ? this.p[this.at++]! : null;
  }

  /** A length, or the encoding kind of an encoded string (as `{ enc }`). */
  private length(): number | { enc: number } | null {
    const b = this.byte();
    if (b === null) return null;
    const kind = b >> 6;
    if (kind === RDB_LEN_6BIT) return b & 0x3f;
    if (kind === RDB_LEN_14BIT) {
      const c = this.byte();
      return c === null ? null : ((b & 0x3f) << 8) | c;
    }
    if (kind === RDB_ENCVAL) return { enc: b & 0x3f };
    const size = b === RDB_LEN_32BIT ? 4 : b === RDB_LEN_64BIT ? 8 : 0;
    if (size === 0 || this.at + size > this.end) return null;
    let n = 0;
    for (let i = 0; i < size; i++) n = n * 256 + this.p[this.at++]!;
    return n;
  }

  private plainLength(): number | null {
    const n = this.length();
    return typeof n === 'number' ? n : null;
  }

  private take(n: number): Uint8Array | null {
    if (n > this.end - this.at) return null;
    const v = this.p.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }

  /** A string in any RDB encoding (rdbGenericLoadStringObject). */
  string(): Buffer | null {
    const n = this.length();
    if (n === null) return null;
    if (typeof n === 'number') {
      const v = this.take(n);
      return v === null ? null : Buffer.from(v);
    }
    const size = n.enc === RDB_ENC_INT8 ? 1 : n.enc === RDB_ENC_INT16 ? 2 : n.enc === RDB_ENC_INT32 ? 4 : 0;
    if (size !== 0) {
      const v = this.take(size);
      if (v === null) return null;
      const b = Buffer.from(v);
      return Buffer.from(String(size === 1 ? b.readInt8(0) : size === 2 ? b.readInt16LE(0) : b.readInt32LE(0)));
    }
    if (n.enc !== RDB_ENC_LZF) return null;
    const clen = this.plainLength();
    const len = this.plainLength();
    if (clen === null || len === null) return null;
    const c = this.take(clen);
    return c === null ? null : lzfDecompress(c, len);
  }
}

/**
 * liblzf's decompression (lzf_d.c's format): a control byte under 32 is a run of that many plus
 * one literal bytes; otherwise its top three bits (7: plus the next byte) plus 2 bytes are copied
 * from back in the output, the distance in its low five bits and the next byte. Null unless it
 * yields exactly `len` bytes within bounds.
 */
function lzfDecompress(c: Uint8Array, len: number): Buffer | null {
  const out = Buffer.allocUnsafe(len);
  let ip = 0;
  let op = 0;
  while (ip < c.length) {
    const ctrl = c[ip++]!;
    if (ctrl < 32) {
      const run = ctrl + 1;
      if (op + run > len || ip + run > c.length) return null;
      out.set(c.subarray(ip, ip + run), op);
      ip += run;
      op += run;
      continue;
    }
    let n = ctrl >> 5;
    if (n === 7) {
      if (ip >= c.length) return null;
      n += c[ip++]!;
    }
    if (ip >= c.length) return null;
    let ref = op - ((ctrl & 0x1f) << 8) - 1 - c[ip++]!;
    n += 2;
    if (ref < 0 || op + n > len) return null;
    // Byte by byte: the copy may overlap what it writes (a repeated run).
    for (let i = 0; i < n; i++) out[op++] = out[ref++]!;
  }
  return op === len ? out : null;
}
