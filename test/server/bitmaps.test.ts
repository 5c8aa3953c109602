/**
 * GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO against redis-server 7.0: the same sequence of
 * commands, edge cases and errors included, gives the same bytes, and so do the keyspace events
 * they send; WATCH sees a SETBIT only when it writes; BITOP works over keys on every shard. (The
 * seeded differential fuzzer, test/server/difffuzz.ts, mixes these commands in too.)
 */
import { describe, expect, it } from 'vitest';
import { countReplies, enc, oursAndRedis, RawConn } from './harness.ts';

const both = oursAndRedis();

/** The commands both servers run, in order; keys b* are set up by the first ones. */
const SEQUENCE: string[][] = [
  ['SET', 'b1', 'foobar'], ['SET', 'b2', 'abcdef'], ['SET', 'bn', '12345'], ['SET', 'be', ''],
  ['GETBIT', 'b1', '0'], ['GETBIT', 'b1', '1'], ['GETBIT', 'b1', '47'], ['GETBIT', 'b1', '48'], ['GETBIT', 'b1', '4294967295'], ['GETBIT', 'nokey', '5'],
  ['GETBIT', 'b1', '-1'], ['GETBIT', 'b1', '4294967296'], ['GETBIT', 'b1', 'x'], ['GETBIT', 'b1', '1.5'], ['GETBIT', 'b1', '01'], ['GETBIT', 'nokey', '-1'],
  ['SETBIT', 'b1', '7', '1'], ['SETBIT', 'b1', '7', '1'], ['SETBIT', 'b1', '7', '0'], ['SETBIT', 'bs', '100', '1'], ['GET', 'bs'], ['STRLEN', 'bs'],
  ['SETBIT', 'b1', '4294967296', '1'], ['SETBIT', 'b1', '-1', '1'], ['SETBIT', 'b1', '1', '2'], ['SETBIT', 'b1', '1', '-1'], ['SETBIT', 'b1', '1', 'x'], ['SETBIT', 'b1', 'x', '2'],
  ['OBJECT', 'ENCODING', 'bn'], ['SETBIT', 'bn', '2', '1'], ['OBJECT', 'ENCODING', 'bn'], ['SET', 'bn', '12345'], ['SETBIT', 'bn', '3', '1'], ['OBJECT', 'ENCODING', 'bn'], ['GET', 'bn'],
  ['EXPIRE', 'b2', '1000'], ['SETBIT', 'b2', '3', '1'], ['TTL', 'b2'], ['SETBIT', 'b2', '200', '1'], ['TTL', 'b2'],
  ['BITCOUNT', 'b1'], ['BITCOUNT', 'b1', '0', '0'], ['BITCOUNT', 'b1', '1', '1'], ['BITCOUNT', 'b1', '-2', '-1'], ['BITCOUNT', 'b1', '5', '30', 'BIT'], ['BITCOUNT', 'b1', '-5', '-1', 'bit'],
  ['BITCOUNT', 'b1', '0', '-1', 'BYTE'], ['BITCOUNT', 'b1', '3', '1'], ['BITCOUNT', 'b1', '-1', '-3'], ['BITCOUNT', 'b1', '-1', '-3', 'NOPE'], ['BITCOUNT', 'b1', '0'], ['BITCOUNT', 'b1', '0', '1', 'BIT', 'x'],
  ['BITCOUNT', 'b1', 'x', '1'], ['BITCOUNT', 'b1', '0', 'x'], ['BITCOUNT', 'b1', '0', '1', 'NOPE'], ['BITCOUNT', 'nokey'], ['BITCOUNT', 'nokey', '0'], ['BITCOUNT', 'nokey', 'x', 'y'], ['BITCOUNT', 'be'],
  ['BITCOUNT', 'b1', '-9223372036854775808', '9223372036854775807'], ['BITCOUNT', 'b1', '9223372036854775807', '-9223372036854775808'],
  ['BITPOS', 'b1', '1'], ['BITPOS', 'b1', '0'], ['BITPOS', 'b1', '1', '2'], ['BITPOS', 'b1', '0', '2', '-1'], ['BITPOS', 'b1', '1', '7', '15', 'BIT'], ['BITPOS', 'b1', '0', '7', '15', 'bit'],
  ['BITPOS', 'b1', '1', '-1'], ['BITPOS', 'b1', '1', '3', '2'], ['BITPOS', 'b1', '2'], ['BITPOS', 'b1', 'x'], ['BITPOS', 'b1', '1', 'x'], ['BITPOS', 'b1', '1', '0', 'x'], ['BITPOS', 'b1', '1', '0', '1', 'NOPE'],
  ['BITPOS', 'b1', '1', 'x', '1', 'NOPE'], ['BITPOS', 'b1', '1', '0', 'x', 'NOPE'], ['BITPOS', 'b1', '1', '0', '1', 'BIT', 'x'], ['BITPOS', 'nokey', '0'], ['BITPOS', 'nokey', '1'], ['BITPOS', 'nokey', '1', 'x'],
  ['BITPOS', 'be', '0'], ['BITPOS', 'be', '1'], ['SET', 'bf', '\xff\xff\xff'], ['BITPOS', 'bf', '0'], ['BITPOS', 'bf', '0', '0'], ['BITPOS', 'bf', '0', '0', '-1'], ['BITPOS', 'bf', '0', '0', '23', 'BIT'],
  ['SET', 'bz', '\x00\x00\x00'], ['BITPOS', 'bz', '1'], ['BITPOS', 'bz', '0', '1'], ['BITPOS', 'bz', '1', '0', '-1', 'BIT'],
  ['BITOP', 'AND', 'd1', 'b1', 'b2'], ['GET', 'd1'], ['BITOP', 'or', 'd1', 'b1', 'b2', 'bs'], ['GET', 'd1'], ['BITOP', 'XOR', 'd1', 'b1', 'nokey'], ['GET', 'd1'], ['OBJECT', 'ENCODING', 'd1'],
  ['BITOP', 'NOT', 'd1', 'b1'], ['GET', 'd1'], ['BITOP', 'NOT', 'd1', 'b1', 'b2'], ['BITOP', 'NAND', 'd1', 'b1'], ['BITOP', 'constructor', 'd1', 'b1'], ['BITOP', 'toString', 'd1', 'b1'], ['BITOP', 'AND', 'd1'], ['BITOP', 'OR', 'd1', 'b1', 'b1'], ['GET', 'd1'],
  ['EXPIRE', 'd1', '100'], ['BITOP', 'OR', 'd1', 'b1'], ['TTL', 'd1'], ['BITOP', 'OR', 'd1', 'nokey', 'be'], ['EXISTS', 'd1'], ['BITOP', 'AND', 'd2', 'nokey'], ['EXISTS', 'd2'],
  ['SET', 'bi', '7'], ['BITOP', 'OR', 'd3', 'bi'], ['OBJECT', 'ENCODING', 'd3'], ['GET', 'd3'], ['BITOP', 'AND', 'b1', 'b1', 'b2'], ['GET', 'b1'],
  ['BITFIELD', 'f1', 'SET', 'i8', '0', '100', 'GET', 'i8', '0', 'INCRBY', 'i8', '0', '100', 'OVERFLOW', 'SAT', 'INCRBY', 'i8', '0', '100', 'OVERFLOW', 'FAIL', 'INCRBY', 'i8', '0', '1'],
  ['BITFIELD', 'f1', 'SET', 'u8', '#1', '-1', 'OVERFLOW', 'SAT', 'SET', 'u8', '#2', '-1', 'OVERFLOW', 'FAIL', 'SET', 'u8', '#3', '256', 'INCRBY', 'u2', '100', '-5'],
  ['BITFIELD', 'f1', 'GET', 'i64', '0', 'GET', 'u63', '1', 'INCRBY', 'i64', '0', '9223372036854775807', 'OVERFLOW', 'SAT', 'INCRBY', 'i64', '0', '9223372036854775807', 'INCRBY', 'i64', '0', '-9223372036854775808'],
  ['GET', 'f1'], ['OBJECT', 'ENCODING', 'f1'], ['BITFIELD', 'f1'], ['BITFIELD', 'nokey', 'GET', 'u4', '4'], ['EXISTS', 'nokey'], ['BITFIELD', 'f2', 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', '0', '9'], ['GET', 'f2'],
  ['BITFIELD', 'f1', 'GET', 'I8', '0'], ['BITFIELD', 'f1', 'GET', 'u64', '0'], ['BITFIELD', 'f1', 'GET', 'i65', '0'], ['BITFIELD', 'f1', 'GET', 'i0', '0'], ['BITFIELD', 'f1', 'GET', 'i8', '-1'], ['BITFIELD', 'f1', 'GET', 'i8', '#-1'],
  ['BITFIELD', 'f1', 'GET', 'i8'], ['BITFIELD', 'f1', 'SET', 'i8', '0'], ['BITFIELD', 'f1', 'SET', 'i8', '0', 'x'], ['BITFIELD', 'f1', 'OVERFLOW', 'NONE', 'GET', 'i8', '0'], ['BITFIELD', 'f1', 'FOO', 'i8', '0'],
  ['BITFIELD', 'f1', 'GET', 'u8', '#2305843009213693953'], ['BITFIELD', 'f1', 'GET', 'u8', '4294967296'], ['BITFIELD', 'f1', 'OVERFLOW'],
  ['BITFIELD_RO', 'f1', 'GET', 'u8', '0', 'GET', 'i4', '#3'], ['BITFIELD_RO', 'f1', 'SET', 'u8', '0', '1'], ['BITFIELD_RO', 'f1', 'OVERFLOW', 'SAT', 'GET', 'u8', '0'], ['BITFIELD_RO', 'f1', 'INCRBY', 'u8', '0', 'x'], ['BITFIELD_RO', 'f1'],
  ['EXPIRE', 'f1', '500'], ['BITFIELD', 'f1', 'SET', 'u16', '100', '65535'], ['TTL', 'f1'], ['STRLEN', 'f1'],
  ['GETBIT'], ['SETBIT', 'b1', '1'], ['BITCOUNT'], ['BITPOS', 'b1'], ['BITOP', 'AND', 'd1'], ['BITFIELD'], ['BITFIELD_RO'],
];

describe('bitmap commands', () => {
  it.skipIf(!both.hasRedis)('reply, and send keyspace events, as redis-server 7.0 does', async () => {
    const ours = { cmd: await both.conn(), sub: await both.conn() };
    const redis = { cmd: await RawConn.connect(both.redisPort()), sub: await RawConn.connect(both.redisPort()) };
    try {
      const replies: string[][] = [[], []];
      const events: string[] = [];
      for (const [i, s] of [ours, redis].entries()) {
        await s.cmd.request(enc('FLUSHALL'));
        await s.cmd.request(enc('CONFIG', 'SET', 'notify-keyspace-events', 'KEA'));
        await s.sub.request(enc('PSUBSCRIBE', '__keyevent@0__:*'));
        for (const argv of SEQUENCE) replies[i]!.push(await s.cmd.request(enc(...argv)));
        // A last event marks the end of the stream: everything before it has arrived.
        await s.cmd.request(enc('SET', 'end-marker', '1'));
        events.push(await s.sub.take((all) => all.includes('end-marker')));
        await s.cmd.request(enc('CONFIG', 'SET', 'notify-keyspace-events', ''));
      }
      for (let j = 0; j < SEQUENCE.length; j++) expect(replies[0]![j], SEQUENCE[j]!.join(' ')).toBe(replies[1]![j]);
      expect(countReplies(events[0]!)).toBeGreaterThan(20);
      expect(events[0]).toBe(events[1]);
    } finally {
      redis.cmd.close();
      redis.sub.close();
    }
  });

  it('WATCH is touched by a SETBIT that writes, not by one that changes nothing, nor by a refused BITFIELD', async () => {
    const [a, b] = [await both.conn(), await both.conn()];
    await a.request(enc('SET', 'wb', '\x01'));
    const run = async (setbit: string[]) => {
      await a.request(enc('WATCH', 'wb'));
      await a.request(enc('MULTI'));
      await a.request(enc('GET', 'wb'));
      expect(await b.request(enc(...setbit))).not.toMatch(/^-/);
      return a.request(enc('EXEC'));
    };
    // Bit 7 is already 1: no write, so EXEC runs.
    expect(await run(['SETBIT', 'wb', '7', '1'])).toBe('*1\r\n$1\r\n\x01\r\n');
    // Bit 6 changes: EXEC aborts.
    expect(await run(['SETBIT', 'wb', '6', '1'])).toBe('*-1\r\n');
    // The string grows (bit 8 is past its end), though the bit is set to 0: a write.
    expect(await run(['SETBIT', 'wb', '8', '0'])).toBe('*-1\r\n');
    // A BITFIELD whose one write overflows under FAIL lengthens the string, silently, as
    // Redis 7.0's does: EXEC runs.
    expect(await run(['BITFIELD', 'wb', 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', '100', '9'])).toMatch(/^\*1\r\n\$13\r\n/);
    await a.request(enc('DEL', 'wm'));
    await a.request(enc('WATCH', 'wm'));
    await a.request(enc('MULTI'));
    await a.request(enc('EXISTS', 'wm'));
    expect(await b.request(enc('BITFIELD', 'wm', 'OVERFLOW', 'FAIL', 'INCRBY', 'u2', '0', '9'))).toBe('*1\r\n$-1\r\n');
    expect(await a.request(enc('EXEC'))).toBe('*1\r\n:1\r\n');
  });

  it('a write inside a long bitmap changes it in place, and BITFIELD touches WATCH when a field changes', async () => {
    const [a, b] = [await both.conn(), await both.conn()];
    const bits = 8 * 1024 * 1024;
    expect(await a.request(enc('SETBIT', 'long', String(bits - 1), '1'))).toBe(':0\r\n');
    for (let i = 0; i < 200; i++) expect(await a.request(enc('SETBIT', 'long', String(i * 41_000), '1'))).toBe(':0\r\n');
    expect(await a.request(enc('BITFIELD', 'long', 'INCRBY', 'u8', '#1000', '7', 'GET', 'u8', '#1000'))).toBe('*2\r\n:7\r\n:7\r\n');
    expect(await a.request(enc('BITCOUNT', 'long'))).toBe(':204\r\n');
    expect(await a.request(enc('STRLEN', 'long'))).toBe(':1048576\r\n');
    expect(await a.request(enc('BITPOS', 'long', '1', '1'))).toBe(':8005\r\n');
    // As Redis 7.0: a BITFIELD is a write when a field changes; setting the value already there,
    // an INCRBY of 0, a refused overflow and a GET are not.
    const watched = async (...argv: string[]) => {
      await a.request(enc('WATCH', 'long'));
      await a.request(enc('MULTI'));
      await b.request(enc('BITFIELD', 'long', ...argv));
      return a.request(enc('EXEC'));
    };
    expect(await watched('SET', 'u8', '#1000', '7')).toBe('*0\r\n');
    expect(await watched('INCRBY', 'u8', '#1000', '0')).toBe('*0\r\n');
    expect(await watched('OVERFLOW', 'FAIL', 'INCRBY', 'u8', '#1000', '1000')).toBe('*0\r\n');
    expect(await watched('GET', 'u8', '#1000')).toBe('*0\r\n');
    expect(await watched('SET', 'u8', '#1000', '8')).toBe('*-1\r\n');
  });

  it('BITOP combines keys held on every shard, and bounds offsets by proto-max-bulk-len', async () => {
    const c = await both.conn();
    const keys = Array.from({ length: 40 }, (_, i) => `bo{${i}}`);
    for (const [i, k] of keys.entries()) await c.request(enc('SETBIT', k, String(i), '1'));
    expect(await c.request(enc('BITOP', 'OR', 'bo-all', ...keys))).toBe(':5\r\n');
    expect(await c.request(enc('BITCOUNT', 'bo-all'))).toBe(':40\r\n');
    expect(await c.request(enc('BITPOS', 'bo-all', '0'))).toBe(':40\r\n');
    expect(await c.request(enc('BITOP', 'AND', 'bo-all', ...keys))).toBe(':5\r\n');
    expect(await c.request(enc('BITCOUNT', 'bo-all'))).toBe(':0\r\n');
    expect(await c.request(enc('CONFIG', 'SET', 'proto-max-bulk-len', '1mb'))).toBe('+OK\r\n');
    try {
      expect(await c.request(enc('SETBIT', 'bo-big', String(8 * 1024 * 1024), '1'))).toBe('-ERR bit offset is not an integer or out of range\r\n');
      expect(await c.request(enc('SETBIT', 'bo-big', String(8 * 1024 * 1024 - 1), '1'))).toBe(':0\r\n');
      expect(await c.request(enc('STRLEN', 'bo-big'))).toBe(':1048576\r\n');
      expect(await c.request(enc('BITCOUNT', 'bo-big'))).toBe(':1\r\n');
      expect(await c.request(enc('BITPOS', 'bo-big', '1'))).toBe(`:${8 * 1024 * 1024 - 1}\r\n`);
    } finally {
      await c.request(enc('CONFIG', 'SET', 'proto-max-bulk-len', '512mb'));
    }
  });
});
