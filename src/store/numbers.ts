/**
 * Redis's numeric string rules for INCR* and friends (util.c string2ll / string2ld, t_string.c).
 *
 * Integers: optional '-', no '+', no spaces, no leading zeros, at most 20 characters, within the
 * signed 64-bit range. Values up to 2^53 stay JS numbers; larger ones take the BigInt path.
 *
 * Floats (INCRBYFLOAT) are in long-double.ts.
 */
import { ErrorCode, scError } from '../errors.ts';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const CH_0 = 48;
const CH_9 = 57;
const CH_MINUS = 45;

/** Parses bytes[off, off+len) as a Redis integer; null if it is not one. */
export function parseInt64(b: Uint8Array, off: number, len: number): number | bigint | null {
  if (len === 0 || len > 20) return null;
  let i = off;
  const end = off + len;
  const neg = b[i] === CH_MINUS;
  if (neg) {
    i++;
    if (i === end) return null;
  }
  if (b[i] === CH_0 && (len > 1 || neg)) return null;
  const digits = end - i;
  if (digits <= 15) {
    let v = 0;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c < CH_0 || c > CH_9) return null;
      v = v * 10 + (c - CH_0);
    }
    return neg ? (v === 0 ? 0 : -v) : v;
  }
  let s = '';
  for (; i < end; i++) {
    const c = b[i]!;
    if (c < CH_0 || c > CH_9) return null;
    s += String.fromCharCode(c);
  }
  const v = neg ? -BigInt(s) : BigInt(s);
  if (v < INT64_MIN || v > INT64_MAX) return null;
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

/** a + b in signed 64 bits, or the overflow error. */
export function addInt64(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a + b;
    if (Number.isSafeInteger(r)) return r;
  }
  const r = BigInt(a) + BigInt(b);
  if (r < INT64_MIN || r > INT64_MAX) throw scError(ErrorCode.OVERFLOW);
  return Number.isSafeInteger(Number(r)) ? Number(r) : r;
}

/** Writes an integer's decimal digits into `out` at `off`; returns the byte count. */
export function writeInt(out: Uint8Array, off: number, v: number | bigint): number {
  const s = typeof v === 'number' ? String(v) : v.toString();
  for (let i = 0; i < s.length; i++) out[off + i] = s.charCodeAt(i);
  return s.length;
}
