/**
 * The DUMP payload codec on its own: Redis's CRC-64 check value, values through encode and
 * decode, and hostile payloads (a correct footer over a malformed body) refused, never thrown.
 */
import { describe, expect, it } from 'vitest';
import { crc64 } from '../../src/store/crc64.ts';
import { decodeDump, encodeDump, verifyDump } from '../../src/store/dump.ts';

/** A payload of `body` (type byte included) with a footer of `version` and the right checksum. */
function payload(body: number[], version = 10): Buffer {
  const b = Buffer.alloc(body.length + 10);
  Buffer.from(body).copy(b);
  b.writeUInt16LE(version, body.length);
  b.writeBigUInt64LE(crc64(b, 0, body.length + 2), body.length + 2);
  return b;
}

describe('DUMP payloads', () => {
  it("CRC-64/Jones gives Redis's check value", () => {
    expect(crc64(Buffer.from('123456789')).toString(16)).toBe('e9c6d914c4b8d9ca');
    expect(crc64(Buffer.alloc(0))).toBe(0n);
  });

  it('values go through encode and decode unchanged, in every length and integer form', () => {
    for (const v of ['', '0', '-1', '127', '128', '-129', '32767', '40000', '-2147483648', '2147483648', '99999999999', '-0', '01', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(16383), 'w'.repeat(16384), 'v'.repeat(70_000)]) {
      const p = encodeDump(Buffer.from(v));
      expect(verifyDump(p)).toBe(true);
      expect((decodeDump(p) as Buffer).toString(), v.slice(0, 10)).toBe(v);
    }
    // Integers take Redis's integer forms; the rest their bytes.
    expect(encodeDump(Buffer.from('127')).subarray(0, 3)).toEqual(Buffer.from([0, 0xc0, 0x7f]));
    expect(encodeDump(Buffer.from('-0')).subarray(0, 4)).toEqual(Buffer.from([0, 2, 0x2d, 0x30]));
  });

  it('reads an LZF-compressed string (literal runs and back references)', () => {
    // "abcabcabcabc": 3 literals, then a back reference of 9 bytes at distance 3.
    const body = [0, 0xc3, 7, 12, 2, 0x61, 0x62, 0x63, (7 << 5) | 0, 0, 2];
    expect((decodeDump(payload(body)) as Buffer).toString()).toBe('abcabcabcabc');
  });

  it('refuses a bad footer and a malformed body without throwing', () => {
    const good = encodeDump(Buffer.from('value'));
    expect(verifyDump(good.subarray(0, 9))).toBe(false);
    for (const i of [0, 3, good.length - 9, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[i]! ^= 0x10;
      expect(verifyDump(bad), String(i)).toBe(false);
    }
    expect(verifyDump(payload([0, 1, 0x61], 11))).toBe(false);
    expect(verifyDump(payload([0, 1, 0x61], 9))).toBe(true);
    for (const body of [
      [], [1, 1, 0x61], [0], [0, 5, 0x61], [0, 0x40], [0, 0x82, 0, 0, 0, 1], [0, 0x80, 0, 0, 1], [0, 0xc4], [0, 0xc1, 1], [0, 0xc2, 1, 2, 3],
      [0, 0xc3, 3, 9, 0, 0x61, 0x62], [0, 0xc3, 2, 4, 0, 0x61], [0, 0xc3, 3, 5, 0, 0x61, (1 << 5) | 0, 5], [0, 0xc3, 2, 3, 0x20, 0], [0, 0xc3, 9, 2, 5, 1, 2],
    ]) {
      const p = payload(body);
      expect(verifyDump(p)).toBe(true);
      expect(decodeDump(p), JSON.stringify(body)).toBe('format');
    }
  });
});
