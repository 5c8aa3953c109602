/**
 * Double replies as redis-server 7.0.15 prints them ("%.17g"): golden values it replied, then a
 * seeded random comparison with a live redis-server, which prints a sorted-set score with the same
 * addReplyDouble (ZSCORE).
 */
import { describe, expect, test } from 'vitest';
import { hasBinary } from '../../src/bench/net.ts';
import { liveRedis } from '../live-redis.ts';
import { formatDouble17g } from '../../src/protocol/double-format.ts';
import { ReplyWriter } from '../../src/protocol/resp-writer.ts';
import { seeded } from '../seeded.ts';

describe('formatDouble17g', () => {
  const golden: [number, string][] = [
    [1.234, '1.234'],
    [0.1, '0.10000000000000001'],
    [1e20, '1e+20'],
    [123456789012345678, '1.2345678901234568e+17'],
    [1e-5, '1.0000000000000001e-05'],
    [1e-4, '0.0001'],
    [1.0804140567779541, '1.0804140567779541'],
    [0, '0'],
    [-0, '-0'],
    [-2.5, '-2.5'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [5e-324, '4.9406564584124654e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    // An exact tie at the 18th digit: glibc rounds it to even, toExponential(16) would round up.
    [10001 / 2 ** 20, '0.0095376968383789062'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [NaN, 'nan'],
  ];
  for (const [x, want] of golden) test(`${x} prints ${want}`, () => expect(formatDouble17g(x)).toBe(want));

  test('ReplyWriter.double writes it as a bulk string in RESP2 and a double in RESP3', () => {
    const w = new ReplyWriter();
    w.double(0.1);
    w.resp = 3;
    w.double(0.1);
    expect(Buffer.from(w.buf.subarray(0, w.len)).toString()).toBe('$19\r\n0.10000000000000001\r\n,0.10000000000000001\r\n');
  });
});

describe.skipIf(!hasBinary('redis-server'))('against a live redis-server', () => {
  const redis = liveRedis();

  test('3,000 seeded random doubles print the same digits as ZSCORE', async () => {
    const rnd = seeded(17);
    const bits = new DataView(new ArrayBuffer(8));
    const xs: number[] = [];
    while (xs.length < 3000) {
      const form = rnd(3);
      let x: number;
      if (form === 0) {
        // Any finite double, subnormals included: random sign, exponent and mantissa bits.
        bits.setUint32(0, ((rnd(2) << 31) | (rnd(0x7ff) << 20) | rnd(1 << 20)) >>> 0);
        bits.setUint32(4, (rnd(1 << 16) * 65536 + rnd(1 << 16)) >>> 0);
        x = bits.getFloat64(0);
      } else if (form === 1) x = rnd(1_000_000) / 10 ** rnd(12);
      else x = rnd(1 << 24) / 2 ** rnd(40);
      if (Number.isFinite(x)) xs.push(x);
    }
    const p = redis.client().pipeline();
    p.del('z');
    xs.forEach((x, i) => p.zadd('z', String(x), `m${i}`));
    xs.forEach((_, i) => p.zscore('z', `m${i}`));
    const replies = (await p.exec())!.slice(1 + xs.length).map(([, v]) => v as string);
    const mismatches = xs.map((x, i) => [x, replies[i], formatDouble17g(x)]).filter(([, want, got]) => want !== got && !(want === '0' && got === '-0'));
    expect(mismatches).toEqual([]);
  });
});
