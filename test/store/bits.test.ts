/**
 * store/bits.ts against a plain model of a bitmap (an array of 0s and 1s): counts, searches and
 * combinations over seeded random strings, long enough for the word scans and placed at every
 * alignment, since the byte and the 32-bit-word paths must agree.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { bitAt, bitRange, combineBits, countBits, findBit } from '../../src/store/bits.ts';
import { seeded } from '../seeded.ts';
import { Store } from '../../src/store/store.ts';
import { OpType } from '../../native-layout/oplog.ts';
import { verifyStore } from '../../src/store/verify.ts';

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

describe('Store bit writes', () => {
  it('lengthen a bitmap in place while its chunk or pages have room, and keep the store consistent', () => {
    const store = Store.create({ shards: 1 });
    // Freed chunks and pages full of ones, where the bitmap will grow: its new bytes must read 0.
    for (let i = 0; i < 300; i++) store.set(`junk${i}`, Buffer.alloc(1 + i * 997, 0xff));
    for (let i = 0; i < 300; i++) store.del(`junk${i}`);
    const model: number[] = [];
    const rnd = seeded(5);
    // Rising offsets, as a bitmap of growing ids is built, across slab classes and page runs.
    for (let bit = 0; bit < 200_000 * 8; bit += 1 + rnd(4000)) {
      expect(store.setBit('bm', bit, 1)).toEqual({ old: 0, written: true });
      model.push(bit);
    }
    verifyStore(store);
    const last = model[model.length - 1]!;
    expect(store.strlen('bm')).toBe(Math.floor(last / 8) + 1);
    expect(store.readString('bm', -1, (a, off, len) => countBits(a, off, 0, len * 8 - 1))).toBe(model.length);
    expect(store.readString('bm', [] as number[], (a, off, len) => model.map((b) => bitAt(a, off, len, b)))).toEqual(model.map(() => 1));
    // A bit already set is no write; clearing one is.
    expect(store.setBit('bm', model[3]!, 1)).toEqual({ old: 1, written: false });
    expect(store.setBit('bm', model[3]!, 0)).toEqual({ old: 1, written: true });
    // editString: grown in place or anew, the bytes before stay, the new ones read as zero.
    const before = store.get('bm')!;
    let seen = '';
    const wrote = store.editString('bm', before.length + 3, (v, grown) => {
      seen = `${grown} ${v.length} ${v.subarray(before.length).every((x) => x === 0)}`;
      v[before.length + 1] = 0x42;
      return { from: before.length + 1, to: before.length + 2 };
    });
    expect([wrote, seen]).toEqual([true, `true ${before.length + 3} true`]);
    expect(store.get('bm')![before.length + 1]).toBe(0x42);
    // A string long enough already, with nothing changed: no write, and the bytes stay.
    expect(store.editString('bm', 1, (_v, grown) => (grown ? { from: 0, to: 1 } : null))).toBe(false);
    expect(store.get('bm')!.subarray(0, before.length).equals(before)).toBe(true);
    expect(store.strlen('bm')).toBe(before.length + 3);
    verifyStore(store);
  });
});

describe('bit writes in the op log', () => {
  it('replaying the records rebuilds every string the bit writes changed, grown or in place', () => {
    const store = Store.create({ shards: 2, oplog: { bytes: 8 * 1024 * 1024 } });
    const reader = store.oplog!.reader();
    // What a replica would hold: SET replaces, SETRANGE writes at an offset, padding with zeros.
    const model = new Map<string, Buffer>();
    const replay = () => {
      for (const rec of reader.poll()) {
        const k = Buffer.from(rec.key).toString('latin1');
        if (rec.type === OpType.SET) model.set(k, Buffer.from(rec.value!));
        else if (rec.type === OpType.SETRANGE) {
          const old = model.get(k) ?? Buffer.alloc(0);
          const next = Buffer.alloc(Math.max(old.length, rec.arg + rec.value!.length));
          old.copy(next);
          Buffer.from(rec.value!).copy(next, rec.arg);
          model.set(k, next);
        } else throw new Error(`unexpected record type ${rec.type}`);
      }
    };
    const rnd = seeded(9);
    const keys = ['a', 'b', 'c'];
    for (let i = 0; i < 3000; i++) {
      const k = keys[rnd(3)]!;
      const r = rnd(10);
      if (r < 5) store.setBit(k, rnd(r < 3 ? 200 : 40_000), rnd(2) as 0 | 1);
      else if (r < 8) {
        // A write of one byte, the string grown one byte past it: its last byte is new and 0.
        const at = rnd(3000);
        const byte = Math.floor(at / 8);
        store.editString(k, byte + 2, (v, grown) => {
          const before = v[byte]!;
          v[byte] = rnd(256);
          return grown || v[byte] !== before ? { from: byte, to: byte + 1 } : null;
        });
      } else store.set(k, 'reset');
      replay();
      expect(model.get(k)?.equals(store.get(k)!), `op ${i} on ${k}`).toBe(true);
    }
  });
});
