/**
 * INCRBYFLOAT's arithmetic against Redis: golden values taken from redis-server 7.0.15 (80-bit
 * long doubles, "%.17Lf"), then a seeded random comparison with a live redis-server on an
 * ephemeral port.
 */
import { seeded } from '../seeded.ts';
import { describe, expect, test } from 'vitest';
import { hasBinary } from '../../src/bench/net.ts';
import { liveRedis } from '../live-redis.ts';
import { addLongDouble, formatLongDouble, parseLongDouble } from '../../src/store/long-double.ts';

function incr(cur: string, by: string): string {
  try {
    return formatLongDouble(addLongDouble(parseLongDouble(cur), parseLongDouble(by)));
  } catch (e) {
    return (e as Error).message;
  }
}

describe('long double INCRBYFLOAT', () => {
  const golden: [string, string, string][] = [
    ['0.1', '0.2', '0.3'],
    ['1000000.1', '0.2', '1000000.30000000000001137'],
    ['12345678.9', '0.01', '12345678.90999999999985448'],
    ['1234.5678', '-0.0001', '1234.56769999999999998'],
    ['-1882.5', '0.1', '-1882.40000000000000002'],
    ['0', '123456789012345678901', '123456789012345678904'],
    ['18446744073709551617', '1', '18446744073709551616'],
    ['0', '1e30', '1000000000000000000024696061952'],
    ['0', '0x10', '16'],
    ['0', '0X1p3', '8'],
    ['1e-20', '-2e-20', '0'],
    ['5.', '.5', '5.5'],
    ['1e-5000', '1', 'ERR value is not a valid float'],
    ['1', ' 1', 'ERR value is not a valid float'],
    ['1', 'inf', 'ERR increment would produce NaN or Infinity'],
    ['1e4932', '1e4932', 'ERR increment would produce NaN or Infinity'],
  ];
  for (const [cur, by, want] of golden) test(`${cur} + ${by} = ${want}`, () => expect(incr(cur, by)).toBe(want));
});

describe.skipIf(!hasBinary('redis-server'))('against a live redis-server', () => {
  const redis = liveRedis();

  test('600 seeded random sums print the same digits', async () => {
    const rnd = seeded(7);
    const forms = [
      () => String(rnd(1_000_000)),
      () => `${rnd(100_000)}.${String(rnd(100_000)).padStart(rnd(8) + 1, '0')}`,
      () => `${rnd(10)}.${rnd(10)}e${rnd(60) - 30}`,
      () => `${rnd(1000)}e${rnd(700) - 350}`,
      () => `0.${'0'.repeat(rnd(20))}${rnd(1_000_000)}`,
      () => `${rnd(2 ** 30)}${rnd(2 ** 30)}${rnd(2 ** 30)}`,
      () => `0x${rnd(65536).toString(16)}`,
      () => `${rnd(1000)}.${rnd(1000)}e${rnd(10)}`,
    ];
    const num = () => (rnd(3) === 0 ? '-' : '') + forms[rnd(forms.length)]!();
    const mismatches: string[] = [];
    for (let i = 0; i < 600; i++) {
      const cur = num();
      const by = num();
      await redis.client().set('f', cur);
      const theirs = await redis.client().incrbyfloat('f', by).then(String, (e: Error) => e.message);
      if (theirs !== incr(cur, by)) mismatches.push(`${cur} + ${by}: redis ${theirs}, ours ${incr(cur, by)}`);
    }
    expect(mismatches).toEqual([]);
  });
});
