/**
 * store/bits.ts against a plain model of a bitmap (an array of 0s and 1s): counts, searches and
 * combinations over seeded random strings, long enough for the word scans and placed at every
 * alignment, since the byte and the 32-bit-word paths must agree.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { bitAt, bitRange, combineBits, countBits, findBit } from '../../src/store/bits.ts';
import { seeded } from '../seeded.ts';

/** The bits of `b`, most significant first. */
function bitsOf(b: Uint8Array): number[] {
  return [...b].flatMap((v) => Array.from({ length: 8 }, (_, j) => (v >> (7 - j)) & 1));
}

/** A random string of n bytes: runs of zero and 0xff bytes mostly, so the searches skip words. */
function randomBytes(rnd: (n: number) => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rnd(4) === 0 ? rnd(256) : rnd(2) === 0 ? 0 : 0xff;
  if (rnd(3) === 0) b.fill(rnd(2) === 0 ? 0 : 0xff, 0, Math.max(0, n - rnd(3)));
  return b;
}

describe('bits', () => {
  it('count and find bits in any range as the model does, at every alignment', () => {
    const rnd = seeded(11);
    for (let round = 0; round < 400; round++) {
      const n = rnd(3) === 0 ? rnd(8) : rnd(300);
      const value = randomBytes(rnd, n);
      // The value at an offset in a larger buffer, as an item's value sits in the arena.
      const off = rnd(8);
      const arena = Buffer.alloc(off + n + 8, 0xa5);
      value.copy(arena, off);
      const model = bitsOf(value);
      for (let q = 0; q < 20 && n > 0; q++) {
        const first = rnd(n * 8);
        const last = first + rnd(n * 8 - first);
        const ones = model.slice(first, last + 1).filter((x) => x === 1).length;
        expect(countBits(arena, off, first, last), `count ${first}..${last} of ${n} at +${off}`).toBe(ones);
        for (const bit of [0, 1] as const) {
          const i = model.slice(first, last + 1).indexOf(bit);
          expect(findBit(arena, off, bit, first, last), `find ${bit} in ${first}..${last}`).toBe(i < 0 ? -1 : first + i);
        }
        const k = rnd(n * 8 + 16);
        expect(bitAt(arena, off, n, k)).toBe(model[k] ?? 0);
      }
    }
  });

  it('empty ranges count nothing and find nothing', () => {
    const a = Buffer.from([0xff, 0x00]);
    expect(countBits(a, 0, 5, 4)).toBe(0);
    expect(findBit(a, 0, 1, 5, 4)).toBe(-1);
  });

  it('resolve ranges as Redis: negative from the end, clamped, in bytes or bits', () => {
    expect(bitRange(10, 0, -1, false)).toEqual({ first: 0, last: 79 });
    expect(bitRange(10, -2, -1, false)).toEqual({ first: 64, last: 79 });
    expect(bitRange(10, 5, 3, false)).toEqual({ first: 1, last: 0 });
    expect(bitRange(10, -100, 100, false)).toEqual({ first: 0, last: 79 });
    expect(bitRange(10, 3, 12, true)).toEqual({ first: 3, last: 12 });
    expect(bitRange(10, -3, -1, true)).toEqual({ first: 77, last: 79 });
    expect(bitRange(0, 0, -1, false)).toEqual({ first: 1, last: 0 });
  });

  it('combine as BITOP: shorter sources and missing keys read as zero bytes', () => {
    const a = Buffer.from([0b1100_1010, 0xff]);
    const b = Buffer.from([0b1010_0110]);
    expect([...combineBits('and', [a, b])!]).toEqual([0b1000_0010, 0]);
    expect([...combineBits('or', [a, b])!]).toEqual([0b1110_1110, 0xff]);
    expect([...combineBits('xor', [a, b])!]).toEqual([0b0110_1100, 0xff]);
    expect([...combineBits('not', [a])!]).toEqual([0b0011_0101, 0]);
    expect([...combineBits('and', [a, null])!]).toEqual([0, 0]);
    expect([...combineBits('or', [null, b])!]).toEqual([0b1010_0110]);
    expect(combineBits('or', [null, Buffer.alloc(0)])).toBeNull();
    expect(combineBits('not', [null])).toBeNull();
  });
});
