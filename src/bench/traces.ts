/**
 * Streaming readers for the cache traces under shared/traces (see its README for the formats).
 *
 * Keys come out in batches rather than one callback per request so that replaying millions of
 * requests allocates nothing per request. Every key is a 64-bit value carried as two u32 halves,
 * because INT64 and ORACLE ids do not fit in a double; the canonical key bytes are the 8-byte
 * big-endian two's complement of the value, so a replay can write them into one reused buffer.
 */

import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';

export const TRACE_FORMATS = ['arc', 'lirs', 'int32', 'int64', 'uint32', 'oracle'] as const;
export type TraceFormat = (typeof TRACE_FORMATS)[number];

export function isTraceFormat(s: string): s is TraceFormat {
  return (TRACE_FORMATS as readonly string[]).includes(s);
}

/**
 * `keys[2*i]` is the high half and `keys[2*i+1]` the low half of key i, for i < count.
 * The generator refills the same batch object on every step, so a consumer must finish with
 * (or copy) a batch before asking for the next one.
 */
export interface KeyBatch {
  readonly keys: Uint32Array;
  count: number;
}

export const DEFAULT_BATCH_KEYS = 65536;

// Large chunks amortise the per-chunk cost (stream machinery, DataView, carry handling).
const READ_CHUNK = 1 << 20;
const INFLATE_CHUNK = 256 << 10;
const TWO32 = 4294967296;

const MAGIC_GZIP = [0x1f, 0x8b];
const MAGIC_ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const MAGIC_XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

export type Compression = 'gzip' | 'zstd' | 'xz' | 'none';

export function detectCompression(path: string): Compression {
  const head = Buffer.alloc(6);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const starts = (m: number[]): boolean => n >= m.length && m.every((b, i) => head[i] === b);
  if (starts(MAGIC_GZIP)) return 'gzip';
  if (starts(MAGIC_ZSTD)) return 'zstd';
  if (starts(MAGIC_XZ)) return 'xz';
  return 'none';
}

/** The decompressed bytes of a trace file, whatever its compression (judged by magic bytes). */
export function openTrace(path: string): Readable {
  const kind = detectCompression(path);
  if (kind === 'none') return createReadStream(path, { highWaterMark: READ_CHUNK });
  if (kind === 'xz') return spawnXz(path);
  const inflate =
    kind === 'gzip' ? createGunzip({ chunkSize: INFLATE_CHUNK }) : createZstdDecompress({ chunkSize: INFLATE_CHUNK });
  // pipeline() destroys every stage on error, so a read error surfaces on the stream we return.
  return pipeline(createReadStream(path, { highWaterMark: READ_CHUNK }), inflate, () => {});
}

/**
 * Node has no xz decoder, so this shells out to xz-utils. The output only ends once xz has
 * exited 0: a corrupt or truncated file makes xz exit 1 after writing partial output, and
 * ending on stdout's EOF alone would pass that off as a short trace.
 */
function spawnXz(path: string): Readable {
  const out = new PassThrough({ readableHighWaterMark: READ_CHUNK });
  const child = spawn('xz', ['-dc', '--', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  child.stdout.pipe(out, { end: false });
  child.on('error', (err: NodeJS.ErrnoException) => {
    const hint = err.code === 'ENOENT' ? ' (the xz binary is missing: install xz-utils)' : '';
    out.destroy(new Error(`cannot run xz for ${path}${hint}: ${err.message}`));
  });
  child.on('close', (code, signal) => {
    if (code === 0) out.end();
    else if (!out.destroyed) out.destroy(new Error(`xz -dc ${path} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
  });
  // A consumer that stops early must not leave xz blocked on a full pipe.
  out.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
  return out;
}

/** Turns byte chunks into keys; `fill` stops when the batch is full or the input runs out. */
interface Decoder {
  feed(chunk: Uint8Array): void;
  /** Writes keys from `count` on; returns the new count. Below `cap` means the input is used up. */
  fill(keys: Uint32Array, count: number, cap: number): number;
  /** The input has ended: flush a last unterminated line, or reject a partial record. */
  finish(): void;
}

/**
 * ARC (`start nblocks ignored reqno`) and LIRS (one block number per line) share one byte-level
 * state machine so that no line is ever turned into a string. Its state survives chunk ends, so
 * a line split across chunks needs no copying.
 */
class TextDecoder implements Decoder {
  private readonly arc: boolean;
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private line = 1;
  private field = 0;
  private inTok = false;
  private digits = 0;
  private neg = false;
  private star = false;
  private hi = 0;
  private lo = 0;
  private nblocks = 0;
  // ARC lines can expand into more keys than a batch has room for.
  private pendHi = 0;
  private pendLo = 0;
  private pendLeft = 0;
  private ended = false;

  constructor(arc: boolean) {
    this.arc = arc;
  }

  feed(chunk: Uint8Array): void {
    this.buf = chunk;
    this.pos = 0;
  }

  finish(): void {
    this.ended = true;
  }

  fill(keys: Uint32Array, count: number, cap: number): number {
    count = this.drain(keys, count, cap);
    if (count === cap) return count;
    const buf = this.buf;
    const len = buf.length;
    let pos = this.pos;
    let field = this.field;
    let inTok = this.inTok;
    let digits = this.digits;
    let hi = this.hi;
    let lo = this.lo;
    let nblocks = this.nblocks;
    while (pos < len) {
      const c = buf[pos++]!;
      if (c === 10) {
        if (inTok) field++;
        this.field = field;
        this.digits = digits;
        this.hi = hi;
        this.lo = lo;
        this.nblocks = nblocks;
        this.endLine();
        field = 0;
        inTok = false;
        digits = 0;
        hi = 0;
        lo = 0;
        nblocks = 0;
        if (this.pendLeft > 0) {
          count = this.drain(keys, count, cap);
          if (count === cap) break;
        }
      } else if (c === 32 || c === 9 || c === 13) {
        if (inTok) {
          inTok = false;
          field++;
        }
      } else {
        inTok = true;
        const d = c - 48;
        if (field === 0) {
          if (d >= 0 && d <= 9 && !this.star) {
            lo = lo * 10 + d;
            if (hi !== 0 || lo >= TWO32) {
              // Wider than 32 bits: carry into the high half, wrapping at 2^64 like a u64 would.
              const carry = Math.floor(lo / TWO32);
              lo -= carry * TWO32;
              hi = (hi * 10 + carry) % TWO32;
            }
            digits++;
          } else if (c === 45 && digits === 0 && !this.neg && !this.star) {
            this.neg = true;
          } else if (c === 42 && digits === 0 && !this.neg && !this.star) {
            this.star = true;
          } else {
            this.bad(c);
          }
        } else if (field === 1 && this.arc) {
          if (d >= 0 && d <= 9) nblocks = nblocks * 10 + d;
          else this.bad(c);
        }
        // Further fields (ARC's ignored and request-number columns) are skipped unread.
      }
    }
    this.pos = pos;
    this.field = field;
    this.inTok = inTok;
    this.digits = digits;
    this.hi = hi;
    this.lo = lo;
    this.nblocks = nblocks;
    if (pos === len && this.ended && (field > 0 || inTok)) {
      // The last line has no newline: end of input ends it.
      if (inTok) this.field++;
      this.endLine();
      this.field = 0;
      this.inTok = false;
      this.digits = 0;
      this.hi = 0;
      this.lo = 0;
      this.nblocks = 0;
      count = this.drain(keys, count, cap);
    }
    return count;
  }

  private endLine(): void {
    const field = this.field;
    const star = this.star;
    const neg = this.neg;
    this.star = false;
    this.neg = false;
    if (field === 0) {
      this.line++;
      return; // empty or blank line
    }
    this.parsedLine(field, star, neg);
    this.line++;
  }

  private parsedLine(field: number, star: boolean, neg: boolean): void {
    if (star) {
      if (field === 1) return; // a lone `*` is a LIRS checkpoint marker
      throw this.error('`*` followed by more fields');
    }
    if (this.digits === 0) throw this.error('no block number');
    let hi = this.hi;
    let lo = this.lo;
    if (neg) {
      lo = TWO32 - lo;
      hi = (~hi >>> 0) + (lo === TWO32 ? 1 : 0);
      if (lo === TWO32) lo = 0;
      hi %= TWO32;
    }
    if (this.arc) {
      if (field < 2) throw this.error('ARC lines need `start nblocks`');
      this.pendHi = hi;
      this.pendLo = lo;
      this.pendLeft = this.nblocks;
    } else {
      this.pendHi = hi;
      this.pendLo = lo;
      this.pendLeft = 1;
    }
  }

  private drain(keys: Uint32Array, count: number, cap: number): number {
    let left = this.pendLeft;
    if (left === 0) return count;
    let hi = this.pendHi;
    let lo = this.pendLo;
    while (left > 0 && count < cap) {
      keys[2 * count] = hi;
      keys[2 * count + 1] = lo;
      count++;
      left--;
      if (++lo === TWO32) {
        lo = 0;
        hi = (hi + 1) % TWO32;
      }
    }
    this.pendHi = hi;
    this.pendLo = lo;
    this.pendLeft = left;
    return count;
  }

  private bad(c: number): never {
    throw this.error(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`);
  }

  private error(what: string): Error {
    return new Error(`${this.arc ? 'arc' : 'lirs'} trace, line ${this.line}: ${what}`);
  }
}

/**
 * Fixed-size binary records. A record cut by a chunk end is completed by prefixing the few
 * leftover bytes to the next chunk; that copy happens once per chunk, not per record.
 */
class BinaryDecoder implements Decoder {
  private readonly format: 'int32' | 'int64' | 'uint32' | 'oracle';
  private readonly size: number;
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private pos = 0;
  private carry: Uint8Array | null = null;
  private decoded = 0; // bytes of whole records so far, to say where a stray tail starts

  constructor(format: 'int32' | 'int64' | 'uint32' | 'oracle') {
    this.format = format;
    this.size = format === 'oracle' ? 24 : format === 'int64' ? 8 : 4;
  }

  feed(chunk: Uint8Array): void {
    if (this.carry !== null) {
      const joined = new Uint8Array(this.carry.length + chunk.length);
      joined.set(this.carry, 0);
      joined.set(chunk, this.carry.length);
      chunk = joined;
      this.carry = null;
    }
    this.buf = chunk;
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pos = 0;
  }

  finish(): void {
    if (this.carry !== null) {
      throw new Error(
        `${this.format} trace ends with ${this.carry.length} stray bytes after offset ${this.decoded}: not a whole ${this.size}-byte record`,
      );
    }
  }

  fill(keys: Uint32Array, count: number, cap: number): number {
    const v = this.view;
    const size = this.size;
    let pos = this.pos;
    const whole = Math.floor((this.buf.length - pos) / size);
    const n = whole < cap - count ? whole : cap - count;
    const end = pos + n * size;
    let k = 2 * count;
    switch (this.format) {
      case 'int32':
        for (; pos < end; pos += 4) {
          const x = v.getInt32(pos);
          keys[k++] = x < 0 ? 0xffffffff : 0;
          keys[k++] = x;
        }
        break;
      case 'uint32':
        for (; pos < end; pos += 4) {
          keys[k++] = 0;
          keys[k++] = v.getUint32(pos);
        }
        break;
      case 'int64':
        for (; pos < end; pos += 8) {
          keys[k++] = v.getUint32(pos);
          keys[k++] = v.getUint32(pos + 4);
        }
        break;
      case 'oracle':
        // {u32 timestamp; u64 obj_id; u32 obj_size; i64 next}, little-endian: the key is obj_id.
        for (; pos < end; pos += 24) {
          keys[k++] = v.getUint32(pos + 8, true);
          keys[k++] = v.getUint32(pos + 4, true);
        }
        break;
    }
    this.decoded += n * size;
    count += n;
    if (count < cap && pos < this.buf.length) {
      // All whole records are out; keep the partial one for the next chunk.
      this.carry = this.buf.slice(pos);
      pos = this.buf.length;
    }
    this.pos = pos;
    return count;
  }
}

export function createDecoder(format: TraceFormat): Decoder {
  switch (format) {
    case 'arc':
      return new TextDecoder(true);
    case 'lirs':
      return new TextDecoder(false);
    default:
      return new BinaryDecoder(format);
  }
}

/** Decodes any byte source (a file stream, or chunks in a test) into key batches. */
export async function* decodeTrace(
  source: AsyncIterable<Uint8Array>,
  format: TraceFormat,
  batchKeys = DEFAULT_BATCH_KEYS,
): AsyncGenerator<KeyBatch, void, undefined> {
  if (!(batchKeys >= 1)) throw new RangeError(`batchKeys must be >= 1, got ${batchKeys}`);
  const dec = createDecoder(format);
  const batch: KeyBatch = { keys: new Uint32Array(2 * batchKeys), count: 0 };
  let count = 0;
  for await (const chunk of source) {
    dec.feed(chunk);
    for (;;) {
      count = dec.fill(batch.keys, count, batchKeys);
      if (count < batchKeys) break;
      batch.count = count;
      yield batch;
      count = 0;
    }
  }
  dec.finish();
  for (;;) {
    count = dec.fill(batch.keys, count, batchKeys);
    if (count < batchKeys) break;
    batch.count = count;
    yield batch;
    count = 0;
  }
  if (count > 0) {
    batch.count = count;
    yield batch;
  }
}

/** All requests of a trace file, in order, as reused key batches (see KeyBatch). */
export function readTrace(path: string, format: TraceFormat, batchKeys = DEFAULT_BATCH_KEYS): AsyncGenerator<KeyBatch, void, undefined> {
  return decodeTrace(openTrace(path), format, batchKeys);
}

/** Key i of a batch as a signed 64-bit value (for tests and diagnostics, not hot loops). */
export function keyAt(batch: KeyBatch, i: number): bigint {
  return BigInt.asIntN(64, (BigInt(batch.keys[2 * i]!) << 32n) | BigInt(batch.keys[2 * i + 1]!));
}

/** Writes key i's canonical 8 bytes (big-endian) into `dst` at `off`. */
export function writeKey(batch: KeyBatch, i: number, dst: DataView, off = 0): void {
  dst.setUint32(off, batch.keys[2 * i]!);
  dst.setUint32(off + 4, batch.keys[2 * i + 1]!);
}

const DIR_FORMATS: Record<string, TraceFormat> = {
  arc: 'arc',
  lirs: 'lirs',
  cache2k: 'int32',
  scarab: 'int64',
};

/**
 * Guesses the format from where the file sits, following the layout of shared/traces: the
 * formats have no self-describing header, so the directory is the only reliable hint.
 */
export function detectFormat(path: string): TraceFormat | null {
  const name = basename(path);
  if (/\.oracleGeneral/i.test(name)) return 'oracle';
  const dirs = path.split(/[\\/]/).slice(0, -1).reverse();
  for (const d of dirs) {
    const f = DIR_FORMATS[d.toLowerCase()];
    if (f !== undefined) return f;
  }
  if (/\.lis(\.|$)/i.test(name)) return 'arc';
  return null;
}

export interface TraceFile {
  /** Absolute (or dir-joined) path of the file. */
  path: string;
  /** Path relative to the traces dir without compression or trace suffixes, e.g. `lirs/sprite`. */
  name: string;
  format: TraceFormat;
  bytes: number;
}

const NOT_TRACES = /^(readme|license|licence|copying|notice)(\.|$)|\.(md|txt)$/i;
const TRACE_SUFFIXES = /(\.(gz|xz|zst|zstd|bin|trace|lis|trc|oracleGeneral))+$/i;

/** Every trace file under `dir` (recursively) whose format can be told, sorted by name. */
export function listTraces(dir: string): TraceFile[] {
  const out: TraceFile[] = [];
  const walk = (d: string): void => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && !ent.name.startsWith('.') && !NOT_TRACES.test(ent.name)) {
        const format = detectFormat(relative(dir, p));
        if (format === null) continue;
        const name = relative(dir, p).split(sep).join('/').replace(TRACE_SUFFIXES, '');
        out.push({ path: p, name, format, bytes: statSync(p).size });
      }
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
