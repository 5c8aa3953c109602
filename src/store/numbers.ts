/**
 * Redis's numeric string rules for INCR* and friends (util.c string2ll / string2ld, t_string.c).
 *
 * Integers: optional '-', no '+', no spaces, no leading zeros, at most 20 characters, within the
 * signed 64-bit range. Values up to 2^53 stay JS numbers; larger ones take the BigInt path.
 *
 * Floats: INCRBYFLOAT adds in decimal (BigInt mantissa and scale) rather than in binary doubles.
 * Redis adds 80-bit long doubles and prints "%.17Lf" with trailing zeros removed, so
 * 0.1 + 0.2 prints 0.3; exact decimal addition rounded to 17 fractional digits reproduces that,
 * where a JS double would print 0.30000000000000004.
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

// ---- decimal floats ----------------------------------------------------------------------------

export interface Decimal {
  /** value = mant / 10^scale */
  readonly mant: bigint;
  readonly scale: number;
}

const FLOAT_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const INF_RE = /^[+-]?inf(inity)?$/i;
/** Fractional digits Redis prints ("%.17Lf"). */
const FRACTION_DIGITS = 17;
/** 80-bit long double's decimal exponent range; beyond it Redis's sum is infinite. */
const LONG_DOUBLE_MAX_EXP = 4932;

/** Parses a Redis float string. 'inf' yields the NaN/Infinity error, as the sum would. */
export function parseDecimal(s: string): Decimal {
  const m = FLOAT_RE.exec(s);
  if (m === null || (m[2] === '' && (m[3] === undefined || m[3] === ''))) {
    if (INF_RE.test(s)) throw scError(ErrorCode.NAN_OR_INF);
    throw scError(ErrorCode.NOT_FLOAT);
  }
  const intPart = m[2]!;
  const frac = m[3] ?? '';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isFinite(exp) || Math.abs(exp) > 100000) throw scError(ErrorCode.NOT_FLOAT);
  let mant = BigInt((intPart || '0') + frac);
  if (m[1] === '-') mant = -mant;
  let scale = frac.length - exp;
  if (scale < 0) {
    mant *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { mant, scale };
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  const mant = a.mant * 10n ** BigInt(scale - a.scale) + b.mant * 10n ** BigInt(scale - b.scale);
  return { mant, scale };
}

/** Redis's human-friendly rendering: at most 17 fractional digits, trailing zeros dropped. */
export function formatDecimal(d: Decimal): string {
  let { mant, scale } = d;
  if (scale > FRACTION_DIGITS) {
    const div = 10n ** BigInt(scale - FRACTION_DIGITS);
    const q = mant / div;
    const r = mant % div;
    const twice = (r < 0n ? -r : r) * 2n;
    mant = twice >= div ? q + (mant < 0n ? -1n : 1n) : q;
    scale = FRACTION_DIGITS;
  }
  const neg = mant < 0n;
  let digits = (neg ? -mant : mant).toString();
  if (digits.length - scale > LONG_DOUBLE_MAX_EXP) throw scError(ErrorCode.NAN_OR_INF);
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    let int = digits.slice(0, digits.length - scale);
    let frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    if (int === '') int = '0';
    digits = frac === '' ? int : `${int}.${frac}`;
  }
  if (digits === '0') return '0';
  return neg ? `-${digits}` : digits;
}
