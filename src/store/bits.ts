/**
 * Bit operations over a string value's bytes, as Redis's bitops.c defines them: bit 0 is the most
 * significant bit of byte 0, and a string reads as zero bits past its end. Each function works on
 * the range a[off, off + len) of a buffer (an item's value in the arena), so no copy is made.
 */
import { Buffer } from 'node:buffer';

/** Set bits of each byte value. */
const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1]!;

/** Bit `bit` (0 = the first byte's high bit) of a[off, off + len); 0 past the end. */
export function bitAt(a: Uint8Array, off: number, len: number, bit: number): number {
  const byte = Math.floor(bit / 8);
  if (byte >= len) return 0;
  return (a[off + byte]! >> (7 - (bit % 8))) & 1;
}

/** Sets bit `bit` of `a` (0 = the first byte's high bit) to `on`; `a` is long enough. */
export function setBitAt(a: Uint8Array, bit: number, on: number): void {
  const byte = Math.floor(bit / 8);
  const mask = 0x80 >> (bit % 8);
  a[byte] = on === 1 ? a[byte]! | mask : a[byte]! & ~mask;
}

/** Below this many bytes a scan goes byte by byte; above, by aligned 32-bit words. */
const WORD_SCAN_MIN = 64;

/**
 * The 4-byte-aligned middle of a[from, to) as 32-bit words, with the byte offsets where it starts
 * and ends; null when the range is too short for words to pay.
 */
function wordsOf(a: Uint8Array, from: number, to: number): { w: Uint32Array; start: number; end: number } | null {
  if (to - from < WORD_SCAN_MIN) return null;
  const start = from + ((4 - ((a.byteOffset + from) % 4)) % 4);
  const count = Math.floor((to - start) / 4);
  return { w: new Uint32Array(a.buffer, a.byteOffset + start, count), start, end: start + count * 4 };
}

/** Set bits in bytes a[from, to). */
function popcount(a: Uint8Array, from: number, to: number): number {
  const words = wordsOf(a, from, to);
  const byteEnd = words === null ? to : words.start;
  let n = 0;
  for (let i = from; i < byteEnd; i++) n += POPCOUNT[a[i]!]!;
  if (words === null) return n;
  const w = words.w;
  for (let i = 0; i < w.length; i++) {
    // SWAR: bit counts per 2, 4 and 8 bits, then the four byte counts summed by one multiply.
    let x = w[i]!;
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    x = (x + (x >>> 4)) & 0x0f0f0f0f;
    n += Math.imul(x, 0x01010101) >>> 24;
  }
  for (let i = words.end; i < to; i++) n += POPCOUNT[a[i]!]!;
  return n;
}

/** The first byte of a[from, to) other than `skip`, or -1. */
function firstByteNot(a: Uint8Array, from: number, to: number, skip: number): number {
  const words = wordsOf(a, from, to);
  const byteEnd = words === null ? to : words.start;
  for (let i = from; i < byteEnd; i++) if (a[i] !== skip) return i;
  if (words === null) return -1;
  const w = words.w;
  const skipWord = skip === 0 ? 0 : 0xffffffff;
  for (let i = 0; i < w.length; i++) {
    if (w[i] === skipWord) continue;
    for (let j = words.start + i * 4; ; j++) if (a[j] !== skip) return j;
  }
  for (let i = words.end; i < to; i++) if (a[i] !== skip) return i;
  return -1;
}

/**
 * A BITCOUNT / BITPOS range, resolved as Redis resolves it against a string of `len` bytes:
 * negative indices count from the end, then both are clamped into the string. The result is an
 * inclusive range of bits, empty when first > last.
 */
export function bitRange(len: number, start: number, end: number, unitBits: boolean): { first: number; last: number } {
  const total = unitBits ? len * 8 : len;
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return { first: 1, last: 0 };
  return unitBits ? { first: start, last: end } : { first: start * 8, last: end * 8 + 7 };
}

/**
 * Set bits among bits first..last (inclusive) of a[off, ...); the range lies inside the value.
 * Bit positions reach 2^32 (a 512 MB string), past what JavaScript's 32-bit shifts take, so
 * bytes are found by division.
 */
export function countBits(a: Uint8Array, off: number, first: number, last: number): number {
  if (first > last) return 0;
  const fb = Math.floor(first / 8);
  const lb = Math.floor(last / 8);
  // Whole bytes, less the bits of the edge bytes outside the range.
  let n = popcount(a, off + fb, off + lb + 1);
  n -= POPCOUNT[a[off + fb]! & ((0xff << (8 - (first % 8))) & 0xff)]!;
  n -= POPCOUNT[a[off + lb]! & ((1 << (7 - (last % 8))) - 1)]!;
  return n;
}

/** The first bit equal to `bit` among bits first..last (inclusive) of a[off, ...), or -1. */
export function findBit(a: Uint8Array, off: number, bit: 0 | 1, first: number, last: number): number {
  if (first > last) return -1;
  const inByte = (b: number, lo: number, hi: number): number => {
    const v = a[off + b]!;
    for (let j = lo; j <= hi; j++) if (((v >> (7 - j)) & 1) === bit) return b * 8 + j;
    return -1;
  };
  const fb = Math.floor(first / 8);
  const lb = Math.floor(last / 8);
  if (fb === lb) return inByte(fb, first % 8, last % 8);
  const head = inByte(fb, first % 8, 7);
  if (head >= 0) return head;
  // The whole bytes between the edges: the first one holding such a bit (not all zeros when
  // looking for a 1, not all ones when looking for a 0).
  const m = firstByteNot(a, off + fb + 1, off + lb, bit === 1 ? 0 : 0xff);
  if (m >= 0) return inByte(m - off, 0, 7);
  return inByte(lb, 0, last % 8);
}

export type BitOp = 'and' | 'or' | 'xor' | 'not';

/**
 * BITOP over the sources (null for a missing key, which reads as an empty string): the result is
 * as long as the longest source, shorter ones reading as zero bytes past their end. Null when
 * every source is empty (Redis then deletes the destination).
 */
export function combineBits(op: BitOp, srcs: readonly (Uint8Array | null)[]): Buffer | null {
  let max = 0;
  for (const s of srcs) if (s !== null && s.length > max) max = s.length;
  if (max === 0) return null;
  const out = Buffer.alloc(max);
  const first = srcs[0];
  if (first !== null && first !== undefined) out.set(first);
  if (op === 'not') {
    for (let i = 0; i < max; i++) out[i] = ~out[i]! & 0xff;
    return out;
  }
  for (let j = 1; j < srcs.length; j++) {
    const s = srcs[j] ?? null;
    const n = s === null ? 0 : s.length;
    if (op === 'and') {
      for (let i = 0; i < n; i++) out[i]! &= s![i]!;
      out.fill(0, n);
    } else if (op === 'or') for (let i = 0; i < n; i++) out[i]! |= s![i]!;
    else for (let i = 0; i < n; i++) out[i]! ^= s![i]!;
  }
  return out;
}

/**
 * The `bits`-bit field at bit `at` of a[off, off + len) as an unsigned integer, most significant
 * bit first (BITFIELD's GET); bits past the string's end read as 0.
 */
export function readField(a: Uint8Array, off: number, len: number, at: number, bits: number): bigint {
  let v = 0n;
  for (let i = 0; i < bits; i++) v = (v << 1n) | BigInt(bitAt(a, off, len, at + i));
  return v;
}

/** Writes the low `bits` bits of `v` as the field at bit `at` of `a`, which is long enough. */
export function writeField(a: Uint8Array, at: number, bits: number, v: bigint): void {
  for (let i = 0; i < bits; i++) setBitAt(a, at + i, Number((v >> BigInt(bits - 1 - i)) & 1n));
}
