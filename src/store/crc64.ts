/**
 * CRC-64/Jones as Redis computes it (crc64.c: polynomial 0xad93d23594c935a9, input and output
 * reflected, initial value 0): the checksum of DUMP payloads and RDB files. Table-driven over the
 * reflected polynomial, in two 32-bit halves (no BigInt per byte).
 */

/** 0xad93d23594c935a9 bit-reversed, in halves. */
const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let b = 0; b < 8; b++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | (hi << 31)) >>> 0;
    hi >>>= 1;
    if (carry) {
      lo = (lo ^ POLY_LO) >>> 0;
      hi = (hi ^ POLY_HI) >>> 0;
    }
  }
  TABLE_HI[i] = hi;
  TABLE_LO[i] = lo;
}

/** The checksum of b[from, to), as a bigint. */
export function crc64(b: Uint8Array, from = 0, to = b.length): bigint {
  let hi = 0;
  let lo = 0;
  for (let i = from; i < to; i++) {
    const t = (lo ^ b[i]!) & 0xff;
    lo = (((lo >>> 8) | (hi << 24)) ^ TABLE_LO[t]!) >>> 0;
    hi = ((hi >>> 8) ^ TABLE_HI[t]!) >>> 0;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}
