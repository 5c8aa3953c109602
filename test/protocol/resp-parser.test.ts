/**
 * The request parser on its own: every request split at every byte boundary parses the same, and
 * hostile input gets Redis's exact protocol errors (tests/unit/protocol.tcl in Redis).
 */
import { describe, expect, it } from 'vitest';
import { NEED_MORE, ProtocolError, RespParser, splitInline } from '../../src/protocol/resp-parser.ts';

function parseAll(p: RespParser): (string[] | string)[] {
  const out: (string[] | string)[] = [];
  for (;;) {
    const r = p.next();
    if (r === NEED_MORE) return out;
    if (r instanceof ProtocolError) {
      out.push(`error: ${r.message}`);
      return out;
    }
    out.push(r.map((b) => b.toString('latin1')));
  }
}

const STREAM = Buffer.concat([
  Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$12\r\nhello\r\nworld\r\n'),
  Buffer.from('PING\r\n'),
  Buffer.from('set "a b" \'c\\\'d\' "\\x41\\n\\t"\n'),
  Buffer.from('*0\r\n'),
  Buffer.from('\r\n'),
  Buffer.from('*2\r\n$4\r\nECHO\r\n$0\r\n\r\n'),
  Buffer.from('*1\r\n$4\r\nPING\r\n'),
]);
const EXPECTED = [['SET', 'key', 'hello\r\nworld'], ['PING'], ['set', 'a b', "c'd", 'A\n\t'], ['ECHO', ''], ['PING']];

describe('RespParser', () => {
  it('parses a stream of multibulk and inline requests', () => {
    const p = new RespParser();
    p.push(STREAM);
    expect(parseAll(p)).toEqual(EXPECTED);
  });

  it('parses the same when the stream is split at every byte boundary', () => {
    for (let cut = 1; cut < STREAM.length; cut++) {
      const p = new RespParser();
      const got: (string[] | string)[] = [];
      p.push(STREAM, 0, cut);
      got.push(...parseAll(p));
      p.push(STREAM, cut, STREAM.length - cut);
      got.push(...parseAll(p));
      expect(got, `split at ${cut}`).toEqual(EXPECTED);
    }
  });

  it('parses the same when fed one byte at a time', () => {
    const p = new RespParser();
    const got: (string[] | string)[] = [];
    for (let i = 0; i < STREAM.length; i++) {
      p.push(STREAM, i, 1);
      got.push(...parseAll(p));
    }
    expect(got).toEqual(EXPECTED);
  });

  it('keeps a big bulk argument intact across many pushes', () => {
    const big = Buffer.alloc(300_000, 'x');
    const req = Buffer.concat([Buffer.from(`*2\r\n$3\r\nGET\r\n$${big.length}\r\n`), big, Buffer.from('\r\n')]);
    const p = new RespParser();
    let r: ReturnType<RespParser['next']> = NEED_MORE;
    for (let i = 0; i < req.length; i += 7001) {
      p.push(req, i, Math.min(7001, req.length - i));
      r = p.next();
      if (r !== NEED_MORE) break;
    }
    expect(Array.isArray(r)).toBe(true);
    expect((r as Buffer[])[1]!.equals(big)).toBe(true);
  });

  it('gives a grown query buffer back only when it holds nothing, and when idle or used to under half since the last look', () => {
    const p = new RespParser();
    const big = Buffer.concat([Buffer.from('*2\r\n$3\r\nGET\r\n$200000\r\n'), Buffer.alloc(200_000, 'x'), Buffer.from('\r\n')]);
    p.push(big, 0, 150_000);
    expect(p.capacity).toBe(256 * 1024);
    // Half a request held: never, whatever the caller says.
    expect(p.shrink(true)).toBe(false);
    p.push(big, 150_000);
    expect((p.next() as Buffer[])[1]!.length).toBe(200_000);
    // Empty, but it held most of its size since the last look.
    expect(p.shrink(false)).toBe(false);
    // Nothing large since: given back.
    p.push(Buffer.from('PING\r\n'));
    expect(parseAll(p)).toEqual([['PING']]);
    expect(p.shrink(false)).toBe(true);
    expect(p.capacity).toBe(16 * 1024);
    // Parsing goes on from the fresh buffer, requests split across it.
    p.push(big, 0, 100_000);
    expect(p.shrink(true)).toBe(false);
    p.push(big, 100_000);
    p.push(Buffer.from('*1\r\n$4\r\nPI'));
    const r = p.next() as Buffer[];
    expect([r[0]!.toString(), r[1]!.length]).toEqual(['GET', 200_000]);
    p.push(Buffer.from('NG\r\n'));
    expect(parseAll(p)).toEqual([['PING']]);
    // Idle: given back even right after a large request.
    expect(p.shrink(true)).toBe(true);
    expect(p.capacity).toBe(16 * 1024);
    expect(p.shrink(true)).toBe(false);
  });

  const hostile: [string, string][] = [
    ['*abc\r\n', 'Protocol error: invalid multibulk length'],
    ['*-10\r\n*1\r\n$4\r\nPING\r\n', ''],
    [`*${1024 * 1024 * 1024 + 1}\r\n`, 'Protocol error: invalid multibulk length'],
    ['*03\r\n', 'Protocol error: invalid multibulk length'],
    ['*+3\r\n', 'Protocol error: invalid multibulk length'],
    ['*1\r\nfoo\r\n', "Protocol error: expected '$', got 'f'"],
    ['*1\r\n\x01\r\n', "Protocol error: expected '$', got '\x01'"],
    ['*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
    ['*1\r\n$abc\r\n', 'Protocol error: invalid bulk length'],
    [`*1\r\n$${512 * 1024 * 1024 + 1}\r\n`, 'Protocol error: invalid bulk length'],
    ['"unbalanced\r\n', 'Protocol error: unbalanced quotes in request'],
    ["'unbalanced\r\n", 'Protocol error: unbalanced quotes in request'],
    ['"a"b\r\n', 'Protocol error: unbalanced quotes in request'],
    ['x'.repeat(65 * 1024), 'Protocol error: too big inline request'],
    ['*' + '1'.repeat(65 * 1024), 'Protocol error: too big mbulk count string'],
    ['*1\r\n$' + '1'.repeat(65 * 1024), 'Protocol error: too big bulk count string'],
  ];
  it('parses a request of thousands of arguments arriving in pieces, and the short requests after it', () => {
    // More arguments than the parser keeps offsets for between requests, with the buffer moved
    // (rebased) while the request is half read.
    const words = Array.from({ length: 3000 }, (_, i) => `w${i}`);
    const big = `*${words.length + 1}\r\n$4\r\nMSET\r\n${words.map((w) => `$${w.length}\r\n${w}\r\n`).join('')}`;
    const get = '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
    const stream = Buffer.from(`${get}${big}${get}${big}*1\r\n$4\r\nPING\r\n`);
    const p = new RespParser();
    const got: (string[] | string)[] = [];
    for (let at = 0; at < stream.length; at += 997) {
      p.push(stream, at, Math.min(997, stream.length - at));
      got.push(...parseAll(p));
    }
    expect(got).toEqual([['GET', 'k'], ['MSET', ...words], ['GET', 'k'], ['MSET', ...words], ['PING']]);
  });

  it('takes an inline request longer than the limit when its newline came with it, as Redis does', () => {
    const p = new RespParser();
    const arg = 'y'.repeat(70 * 1024);
    p.push(Buffer.from(`ECHO ${arg}\r\n`, 'latin1'));
    expect(parseAll(p)).toEqual([['ECHO', arg]]);
  });

  for (const [input, err] of hostile) {
    it(`rejects ${JSON.stringify(input.slice(0, 24))}${input.length > 24 ? '…' : ''}`, () => {
      const p = new RespParser();
      p.push(Buffer.from(input, 'latin1'));
      const out = parseAll(p);
      if (err === '') expect(out).toEqual([['PING']]);
      else expect(out[out.length - 1]).toBe(`error: ${err}`);
    });
  }

  it('never throws on random bytes, and reports each outcome as data', () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
    const alphabet = Buffer.from('*$\r\n0123456789-abc "\'\\x');
    for (let n = 0; n < 2000; n++) {
      const len = 1 + Math.floor(rand() * 64);
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = rand() < 0.8 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256);
      const p = new RespParser({ maxBulkLen: 1000 });
      p.push(b);
      expect(() => parseAll(p)).not.toThrow();
    }
  });

  it('a request with a limit configured lower is rejected at the header', () => {
    const p = new RespParser({ maxBulkLen: 10 });
    p.push(Buffer.from('*1\r\n$11\r\n'));
    expect(parseAll(p)).toEqual(['error: Protocol error: invalid bulk length']);
  });

  it('holds an unauthenticated connection to 10 arguments of 16 KiB, at the header, and no longer once it authenticates', () => {
    const at = (input: string, unauthenticated: boolean) => {
      const p = new RespParser();
      p.unauthenticated = unauthenticated;
      p.push(Buffer.from(input));
      return parseAll(p);
    };
    expect(at('*11\r\n', true)).toEqual(['error: Protocol error: unauthenticated multibulk length']);
    expect(at('*1\r\n$16385\r\n', true)).toEqual(['error: Protocol error: unauthenticated bulk length']);
    // The general limits are checked first, as in networking.c.
    expect(at('*1\r\n$-5\r\n', true)).toEqual(['error: Protocol error: invalid bulk length']);
    expect(at(`*10\r\n${'$1\r\na\r\n'.repeat(10)}`, true)).toEqual([Array.from({ length: 10 }, () => 'a')]);
    expect(at(`*1\r\n$16384\r\n${'x'.repeat(16384)}\r\n`, true)).toEqual([['x'.repeat(16384)]]);
    expect(at('*11\r\n', false)).toEqual([]);
    expect(at('*1\r\n$16385\r\n', false)).toEqual([]);
  });

  it('splitInline handles escapes and empty quotes', () => {
    const b = Buffer.from('a "" \'\' "\\"q\\"" \\x');
    expect(splitInline(b, 0, b.length)!.map((x) => x.toString())).toEqual(['a', '', '', '"q"', '\\x']);
  });
});
