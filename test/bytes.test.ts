/**
 * copyInto is every byte copy into and out of the store's shared memory: it must copy exactly
 * the bytes asked for, whatever the kinds of buffer, the size (loop below 24 bytes, memmove above)
 * and the offsets, and touch nothing around them.
 */
import { describe, expect, it } from 'vitest';
import { copyInto } from '../src/bytes.ts';
import { seeded } from './seeded.ts';

describe('copyInto', () => {
  const rand = seeded(7);
  const kinds = {
    buffer: (n: number) => Buffer.alloc(n),
    'Uint8Array': (n: number) => new Uint8Array(n),
    'Buffer over a SharedArrayBuffer': (n: number) => Buffer.from(new SharedArrayBuffer(n)),
    'Uint8Array over a growable SharedArrayBuffer': (n: number) => new Uint8Array(new SharedArrayBuffer(n, { maxByteLength: n * 2 }), 0, n),
  };
  for (const [srcKind, makeSrc] of Object.entries(kinds)) {
    for (const [dstKind, makeDst] of Object.entries(kinds)) {
      it(`${srcKind} into ${dstKind}`, () => {
        for (const n of [0, 1, 23, 24, 25, 100, 1024, 70_000]) {
          const src = makeSrc(n + 40);
          for (let i = 0; i < src.length; i++) src[i] = rand(256);
          const dst = makeDst(n + 40);
          dst.fill(0xee);
          const off = rand(17);
          const at = rand(23);
          copyInto(dst, at, src, off, n);
          expect(Buffer.from(dst.subarray(at, at + n)).equals(Buffer.from(src.subarray(off, off + n))), `${n} bytes`).toBe(true);
          expect(dst.subarray(0, at).every((b) => b === 0xee)).toBe(true);
          expect(dst.subarray(at + n).every((b) => b === 0xee)).toBe(true);
        }
      });
    }
  }
});
