/**
 * INCRBYFLOAT's arithmetic, bit for bit as Redis does it on x86-64 (t_string.c
 * incrbyfloatCommand, util.c string2ld / ld2string): both operands are read with strtold into an
 * 80-bit long double (a 64-bit mantissa, exponents to ±16383), added with one rounding to
 * nearest-even, and printed with "%.17Lf" (the exact binary value rounded to 17 fractional
 * digits, ties to even, as glibc's printf does), then trailing zeros and a bare point dropped.
 *
 * A value is m × 2^e with m a BigInt: 0, or |m| in [2^63, 2^64). BigInt arithmetic keeps every
 * step exact until the one rounding each operation makes.
 */
import { ErrorCode, scError } from '../errors.ts';

export interface LongDouble {
  /** Signed mantissa: 0, or 2^63 <= |m| < 2^64. */
  readonly m: bigint;
  readonly e: number;
}

/** Zero. */
export const ZERO: LongDouble = { m: 0n, e: 0 };

const MANT_BITS = 64;
/** The largest binary exponent of a finite long double's leading bit. */
const MAX_EXP = 16383;
/** Below this leading-bit exponent a value is beyond even the subnormals: it reads as 0. */
const MIN_EXP = -16382 - 63;
/** util.c MAX_LONG_DOUBLE_CHARS: longer strings are not floats. */
export const MAX_CHARS = 5 * 1024;
const FRACTION_DIGITS = 17;
const TEN_17 = 10n ** BigInt(FRACTION_DIGITS);

const DEC_RE = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const HEX_RE = /^([+-])?0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;
const INF_RE = /^[+-]?inf(inity)?$/i;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/**
 * num / den × 2^e2 (num >= 0, den > 0) rounded to a 64-bit mantissa, ties to even; `neg` gives
 * the sign. Throws the NaN/Infinity error past the long double range.
 */
function round(num: bigint, den: bigint, e2: number, neg: boolean): LongDouble {
  if (num === 0n) return ZERO;
  let shift = MANT_BITS - (bitLength(num) - bitLength(den));
  for (;;) {
    const n = shift >= 0 ? num << BigInt(shift) : num;
    const d = shift < 0 ? den << BigInt(-shift) : den;
    let q = n / d;
    const len = bitLength(q);
    if (len > MANT_BITS) {
      shift--;
      continue;
    }
    if (len < MANT_BITS) {
      shift++;
      continue;
    }
    const twice = (n % d) * 2n;
    if (twice > d || (twice === d && (q & 1n) === 1n)) q++;
    if (q === 1n << BigInt(MANT_BITS)) {
      q >>= 1n;
      shift--;
    }
    const e = e2 - shift;
    const top = e + MANT_BITS - 1;
    if (top > MAX_EXP) throw scError(ErrorCode.NAN_OR_INF);
    if (top < MIN_EXP) return ZERO;
    return { m: neg ? -q : q, e };
  }
}

/**
 * string2ld: the whole string must be a float strtold reads (decimal or hexadecimal, with an
 * exponent), no leading space, at most 5 KiB. Infinity is read (the sum then fails as Redis's
 * does); a value out of range is not a float.
 */
export function parseLongDouble(s: string): LongDouble {
  if (s.length === 0 || s.length > MAX_CHARS) throw scError(ErrorCode.NOT_FLOAT);
  if (INF_RE.test(s)) throw scError(ErrorCode.NAN_OR_INF);
  const hex = HEX_RE.exec(s);
  if (hex !== null && (hex[2] !== '' || (hex[3] ?? '') !== '')) {
    const int = hex[2]!;
    const frac = hex[3] ?? '';
    const p = hex[4] === undefined ? 0 : Number(hex[4]);
    const mant = BigInt(`0x${int || '0'}${frac}`);
    if (mant === 0n) return ZERO;
    return inRange(() => round(mant, 1n, p - 4 * frac.length, hex[1] === '-'));
  }
  const m = DEC_RE.exec(s);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw scError(ErrorCode.NOT_FLOAT);
  const int = m[2]!;
  const frac = m[3] ?? '';
  const exp = (m[4] === undefined ? 0 : Number(m[4])) - frac.length;
  const mant = BigInt((int || '0') + frac);
  // Beyond these, the value is out of range whatever the digits (at most 5 KiB of them).
  if (mant === 0n) return ZERO;
  if (exp > 5000 || exp < -10000) throw scError(ErrorCode.NOT_FLOAT);
  const neg = m[1] === '-';
  return inRange(() => (exp >= 0 ? round(mant * 10n ** BigInt(exp), 1n, 0, neg) : round(mant, 10n ** BigInt(-exp), 0, neg)));
}

/**
 * strtold's ERANGE: a nonzero string that overflows, or underflows to zero, is not a float to
 * string2ld.
 */
function inRange(read: () => LongDouble): LongDouble {
  let x: LongDouble;
  try {
    x = read();
  } catch {
    throw scError(ErrorCode.NOT_FLOAT);
  }
  if (x.m === 0n) throw scError(ErrorCode.NOT_FLOAT);
  return x;
}

/** a + b with one rounding; the NaN/Infinity error on overflow. */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  const e = Math.min(a.e, b.e);
  const sum = (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e));
  return round(sum < 0n ? -sum : sum, 1n, e, sum < 0n);
}

/** ld2string in human mode: "%.17Lf", then trailing zeros and a bare point dropped. */
export function formatLongDouble(x: LongDouble): string {
  const neg = x.m < 0n;
  const mag = neg ? -x.m : x.m;
  let n: bigint;
  if (x.e >= 0) n = (mag << BigInt(x.e)) * TEN_17;
  else {
    const d = 1n << BigInt(-x.e);
    const scaled = mag * TEN_17;
    n = scaled / d;
    const twice = (scaled % d) * 2n;
    if (twice > d || (twice === d && (n & 1n) === 1n)) n++;
  }
  const digits = n.toString().padStart(FRACTION_DIGITS + 1, '0');
  const int = digits.slice(0, digits.length - FRACTION_DIGITS);
  const frac = digits.slice(digits.length - FRACTION_DIGITS).replace(/0+$/, '');
  const body = frac === '' ? int : `${int}.${frac}`;
  // ld2string avoids "-0" for a negative value that rounds to zero.
  return neg && body !== '0' ? `-${body}` : body;
}
