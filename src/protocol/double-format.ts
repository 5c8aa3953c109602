/**
 * C's printf("%.17g", x), which Redis 7.0's addReplyDouble writes for a double reply (RESP2 bulk,
 * RESP3 `,`): 17 significant digits, rounded half to even from the double's exact binary value as
 * glibc rounds, trailing zeros dropped, the exponent form below 1e-4 and from 1e17 on.
 * JavaScript's toExponential rounds exact ties up instead, and its shortest form (String) prints
 * fewer digits than Redis: 0.1 here is "0.10000000000000001", as redis-server writes it.
 */

const DIGITS = 17;
const view = new DataView(new ArrayBuffer(8));

/** The exact decimal digits of |x| (finite, nonzero) and the decimal exponent of the first. */
function exactDigits(x: number): { digits: string; exp10: number } {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    m |= 1n << 52n;
    e2 = biased - 1075;
  }
  // |x| = m·2^e2 = m·5^-e2 / 10^-e2 for a negative e2: the digits of m·5^-e2, shifted.
  if (e2 >= 0) {
    const digits = (m << BigInt(e2)).toString();
    return { digits, exp10: digits.length - 1 };
  }
  const digits = (m * 5n ** BigInt(-e2)).toString();
  return { digits, exp10: digits.length - 1 + e2 };
}

/** `digits` rounded to DIGITS significant ones, half to even; the exponent moves on a carry (9.99… → 10.0…). */
function roundDigits(digits: string, exp10: number): { digits: string; exp10: number } {
  if (digits.length <= DIGITS) return { digits: digits.padEnd(DIGITS, '0'), exp10 };
  let head = BigInt(digits.slice(0, DIGITS));
  const first = digits.charCodeAt(DIGITS) - 48;
  const tail = digits.slice(DIGITS + 1);
  const up = first > 5 || (first === 5 && (/[1-9]/.test(tail) || (head & 1n) === 1n));
  if (up) head++;
  let out = head.toString();
  if (out.length > DIGITS) {
    out = out.slice(0, DIGITS);
    exp10++;
  }
  return { digits: out, exp10 };
}

/** printf("%.17g", x); NaN and the infinities as glibc prints them ("nan", "inf", "-inf"). */
export function formatDouble17g(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  const sign = x < 0 || Object.is(x, -0) ? '-' : '';
  if (x === Infinity || x === -Infinity) return `${sign}inf`;
  if (x === 0) return `${sign}0`;
  const exact = exactDigits(Math.abs(x));
  const { digits, exp10 } = roundDigits(exact.digits, exact.exp10);
  // %g: the exponent form when the exponent is below -4 or at least the precision.
  if (exp10 < -4 || exp10 >= DIGITS) {
    const frac = digits.slice(1).replace(/0+$/, '');
    const e = Math.abs(exp10);
    return `${sign}${digits[0]}${frac === '' ? '' : `.${frac}`}e${exp10 < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  const int = exp10 >= 0 ? digits.slice(0, exp10 + 1) : '0';
  const frac = (exp10 >= 0 ? digits.slice(exp10 + 1) : '0'.repeat(-exp10 - 1) + digits).replace(/0+$/, '');
  return `${sign}${int}${frac === '' ? '' : `.${frac}`}`;
}
