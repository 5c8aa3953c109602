/**
 * The server facing hostile and fragmented input over real TCP: Redis's exact protocol errors,
 * the connection closed after the error (as Redis does), and the server and other connections
 * unaffected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer();
});
afterAll(async () => {
  await srv.stop();
});

/** Sends each inline request on one connection and checks its whole reply line. */
async function expectReplies(cases: [string, string][]): Promise<void> {
  const c = await RawConn.connect(srv.port);
  for (const [request, reply] of cases) expect(`${request} -> ${await c.request(`${request}\r\n`)}`).toBe(`${request} -> ${reply}\r\n`);
  c.close();
}

async function expectAlive(): Promise<void> {
  const c = await RawConn.connect(srv.port);
  expect(await c.request('*1\r\n$4\r\nPING\r\n')).toBe('+PONG\r\n');
  c.close();
}

describe('protocol errors close the connection with Redis text', () => {
  const cases: [string, string, string][] = [
    ['invalid multibulk length', '*abc\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['expected $', '*1\r\nfoo\r\n', "-ERR Protocol error: expected '$', got 'f'\r\n"],
    // The byte itself, as Redis's %c sends it; CR and LF become spaces.
    ['expected $, a control byte', '*1\r\n\x01\r\n', "-ERR Protocol error: expected '$', got '\x01'\r\n"],
    ['expected $, a byte over 127', '*1\r\n\xe9\r\n', "-ERR Protocol error: expected '$', got '\xe9'\r\n"],
    ['expected $, a LF', '*1\r\n\n\r\n', "-ERR Protocol error: expected '$', got ' '\r\n"],
    ['expected $, a CR', '*1\r\n\r\r\n', "-ERR Protocol error: expected '$', got ' '\r\n"],
    ['invalid bulk length', '*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['bulk over proto-max-bulk-len', `*2\r\n$3\r\nSET\r\n$${512 * 1024 * 1024 + 1}\r\n`, '-ERR Protocol error: invalid bulk length\r\n'],
    ['multibulk too long', `*${1024 * 1024 * 1024 + 1}\r\n`, '-ERR Protocol error: invalid multibulk length\r\n'],
    ['unbalanced quotes', 'SET "a b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
    ['too big inline', 'A'.repeat(70 * 1024), '-ERR Protocol error: too big inline request\r\n'],
  ];
  for (const [name, input, reply] of cases) {
    it(name, async () => {
      const c = await RawConn.connect(srv.port);
      c.write(Buffer.from('*1\r\n$4\r\nPING\r\n' + input, 'latin1'));
      const got = await c.until((s) => s.includes('-ERR Protocol'));
      expect(got).toBe('+PONG\r\n' + reply);
      expect(await c.waitClosed()).toBe(true);
      await expectAlive();
    });
  }
});

describe('cross-protocol scripting guard (Redis securityWarningCommand)', () => {
  for (const request of ['POST / HTTP/1.1\r\nHost: localhost\r\n\r\n', 'Host: localhost\r\n']) {
    it(`drops a connection that sends ${JSON.stringify(request.split('\r\n')[0])} without a reply`, async () => {
      const c = await RawConn.connect(srv.port);
      c.write(request);
      expect(await c.waitClosed()).toBe(true);
      expect(await c.until(() => true)).toBe('');
      await expectAlive();
    });
  }
});

describe('a connection closed after its reply is gone from the server', () => {
  /** Waits until CLIENT LIST no longer shows a client named `name`; false after 3 s. */
  async function gone(name: string): Promise<boolean> {
    const obs = await RawConn.connect(srv.port);
    try {
      for (let i = 0; i < 60; i++) {
        const list = await obs.request('CLIENT LIST\r\n');
        if (!list.includes(`name=${name} `)) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    } finally {
      obs.close();
    }
  }

  // The client keeps sending after the reply: the server must not keep a half-closed socket.
  const cases: [string, string][] = [
    ['QUIT', 'QUIT\r\n'],
    ['a protocol error', '*x\r\n'],
  ];
  for (const [what, input] of cases) {
    it(`after ${what}, even when the client sends more`, async () => {
      const name = `closing-${what.length}`;
      const c = await RawConn.connect(srv.port);
      expect(await c.request(`CLIENT SETNAME ${name}\r\n`)).toBe('+OK\r\n');
      c.write(input);
      await c.until((s) => s.includes('\r\n'));
      c.write('PING\r\n');
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      expect(await gone(name)).toBe(true);
    });
  }
});

describe('commands', () => {
  it('unknown commands, wrong arity and non-string types get Redis errors; the connection stays', async () => {
    const c = await RawConn.connect(srv.port);
    expect(await c.request('*2\r\n$6\r\nFOOBAR\r\n$1\r\nx\r\n')).toBe("-ERR unknown command 'FOOBAR', with args beginning with: 'x' \r\n");
    expect(await c.request('*1\r\n$3\r\nGET\r\n')).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(await c.request('LPUSH list a\r\n')).toBe("-ERR unknown command 'LPUSH', with args beginning with: 'list' 'a' \r\n");
    expect(await c.request('SET k v EX 0\r\n')).toBe("-ERR invalid expire time in 'set' command\r\n");
    expect(await c.request('SET k v NX XX\r\n')).toBe('-ERR syntax error\r\n');
    expect(await c.request('SET k v\r\nINCR k\r\n', 2)).toBe('+OK\r\n-ERR value is not an integer or out of range\r\n');
    expect(await c.request('CLIENT NOSUCH\r\n')).toBe("-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.\r\n");
    expect(await c.request('PING\r\n')).toBe('+PONG\r\n');
    c.close();
  });

  it("SET and GETEX options parse as Redis's: a repeated expiry wins, only the last value is read", async () => {
    await expectReplies([
      ['SET ro v EX 10 EX 20', '+OK'],
      ['TTL ro', ':20'],
      ['SET ro v EX abc EX 30', '+OK'],
      ['TTL ro', ':30'],
      ['SET ro v EX 10 EX abc', '-ERR value is not an integer or out of range'],
      ['SET ro v EX 10 PX 20', '-ERR syntax error'],
      ['SET ro v KEEPTTL EX 10', '-ERR syntax error'],
      ['SET ro v KEEPTTL KEEPTTL', '+OK'],
      ['SET ro v GET GET', '$1\r\nv'],
      ['GETEX ro PERSIST PERSIST', '$1\r\nv'],
      ['GETEX ro EX 10 EX 40', '$1\r\nv'],
      ['TTL ro', ':40'],
      ['GETEX ro EX 10 PERSIST', '-ERR syntax error'],
      ['GETEX ro GET', '-ERR syntax error'],
      ['GETEX ro EX 0', "-ERR invalid expire time in 'getex' command"],
    ]);
  });

  it('expiry times reach as far as int64 milliseconds, as in Redis', async () => {
    await expectReplies([
      ['SET far v EX 9007199254740', '+OK'],
      ['TTL far', ':9007199254740'],
      ['EXPIRE far 922337203685477', ':1'],
      ['TTL far', ':922337203685477'],
      ['PEXPIREAT far 9223372036854775807', ':1'],
      ['PEXPIRETIME far', ':9223372036854775807'],
      ['SETEX far 922337203685477 v', '+OK'],
      ['SET far v PX 9223372036854775807', "-ERR invalid expire time in 'set' command"],
      ['EXPIRE far 9223372036854775807', "-ERR invalid expire time in 'expire' command"],
      ['EXPIRE far -9223372036854775', ':1'],
      ['EXISTS far', ':0'],
    ]);
  });

  it('SCAN reads its cursor as strtoul does and takes any positive COUNT', async () => {
    await expectReplies([
      ['SELECT 9', '+OK'],
      ['FLUSHDB', '+OK'],
      ['SET scanned 1', '+OK'],
      ['SCAN -0', '*2\r\n$1\r\n0\r\n*1\r\n$7\r\nscanned'],
      ['SCAN 18446744073709551615', '*2\r\n$1\r\n0\r\n*0'],
      ['SCAN 18446744073709551616', '-ERR invalid cursor'],
      ['SCAN 1x', '-ERR invalid cursor'],
      ['SCAN 0 COUNT 9223372036854775807', '*2\r\n$1\r\n0\r\n*1\r\n$7\r\nscanned'],
      ['SCAN 0 COUNT 0', '-ERR syntax error'],
    ]);
  });

  it('OBJECT is a container: each subcommand has its own arity and Redis 7 error texts', async () => {
    await expectReplies([
      ['SET objenc 12', '+OK'],
      ['OBJECT ENCODING objenc', '$3\r\nint'],
      ['OBJECT REFCOUNT objenc', ':2147483647'],
      ['OBJECT ENCODING', "-ERR wrong number of arguments for 'object|encoding' command"],
      ['OBJECT FOO', "-ERR unknown subcommand 'FOO'. Try OBJECT HELP."],
      ['OBJECT HELP x', "-ERR wrong number of arguments for 'object|help' command"],
      ['OBJECT ENCODING nosuchkey', '$-1'],
    ]);
  });

  it('SETRANGE checks in Redis order: an empty value answers the length before the size check', async () => {
    await expectReplies([
      ['SETRANGE sr:missing 4294967296 ""', ':0'],
      ['SETRANGE sr:missing 9223372036854775807 ""', ':0'],
      ['SETRANGE sr:missing 9223372036854775807 x', '-ERR string exceeds maximum allowed size (proto-max-bulk-len)'],
      ['SETRANGE sr:missing -1 x', '-ERR offset is out of range'],
      ['SETRANGE sr:missing 9223372036854775808 x', '-ERR value is not an integer or out of range'],
    ]);
  });

  it('a refused EXEC discards the transaction with EXECABORT and the reason, as Redis 7 does', async () => {
    const c = await RawConn.connect(srv.port);
    expect(await c.request('MULTI\r\nSET tx 1\r\n', 2)).toBe('+OK\r\n+QUEUED\r\n');
    expect(await c.request('EXEC x\r\n')).toBe("-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    // The transaction is gone: the next EXEC has no MULTI, and commands run at once.
    expect(await c.request('EXEC\r\n')).toBe('-ERR EXEC without MULTI\r\n');
    expect(await c.request('GET tx\r\n')).toBe('$-1\r\n');
    expect(await c.request('EXEC x\r\n')).toBe("-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    c.close();
  });

  it('queued commands keep their arguments while later reads reuse the input buffer', async () => {
    const c = await RawConn.connect(srv.port);
    expect(await c.request('MULTI\r\n')).toBe('+OK\r\n');
    // Each request its own read, of one length, so each lands where the one before it was.
    const reqs = ['a', 'b', 'c', 'd'].map((x) => enc('SET', `q:${x}`, x.repeat(40)));
    for (const r of reqs) expect(await c.request(r)).toBe('+QUEUED\r\n');
    expect(await c.request('EXEC\r\n')).toBe('*4\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n');
    expect(await c.request(enc('MGET', 'q:a', 'q:b', 'q:c', 'q:d'))).toBe(`*4\r\n${['a', 'b', 'c', 'd'].map((x) => `$40\r\n${x.repeat(40)}\r\n`).join('')}`);
    c.close();
  });

  it('MONITOR inside a transaction is refused when EXEC runs it', async () => {
    const c = await RawConn.connect(srv.port);
    expect(await c.request('MULTI\r\nMONITOR\r\nEXEC\r\n', 3)).toBe("+OK\r\n+QUEUED\r\n*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n");
    expect(await c.request('PING\r\n')).toBe('+PONG\r\n');
    c.close();
  });

  it('PUBSUB NUMSUB is a flat array in RESP3 too; PUBSUB CHANNELS takes one pattern at most', async () => {
    const c = await RawConn.connect(srv.port);
    await c.request('HELLO 3\r\n');
    expect(await c.request('PUBSUB NUMSUB a b\r\n')).toBe('*4\r\n$1\r\na\r\n:0\r\n$1\r\nb\r\n:0\r\n');
    expect(await c.request('PUBSUB CHANNELS a b\r\n')).toBe("-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.\r\n");
    c.close();
  });

  it('inline commands work as from telnet, with quotes', async () => {
    const c = await RawConn.connect(srv.port);
    expect(await c.request('set "inline key" \'a value\'\r\n')).toBe('+OK\r\n');
    expect(await c.request('get "inline key"\n')).toBe('$7\r\na value\r\n');
    expect(await c.request('\r\n\r\nPING\r\n')).toBe('+PONG\r\n');
    c.close();
  });

  it('a pipeline split at every byte boundary gets the same replies', async () => {
    const pipeline = '*3\r\n$3\r\nSET\r\n$2\r\nsp\r\n$5\r\nva\r\nl\r\n*2\r\n$3\r\nGET\r\n$2\r\nsp\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n';
    const expected = '+OK\r\n$5\r\nva\r\nl\r\n+PONG\r\n$0\r\n\r\n';
    const c = await RawConn.connect(srv.port);
    c.socket.setNoDelay(true);
    for (let i = 0; i < pipeline.length; i++) {
      c.write(pipeline[i]!);
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.until((s) => s.length >= expected.length)).toBe(expected);
    c.close();
  });

  it('every two-piece split of a pipeline parses the same', async () => {
    const pipeline = '*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\nPING\r\n';
    const c = await RawConn.connect(srv.port);
    c.socket.setNoDelay(true);
    for (let cut = 1; cut < pipeline.length; cut++) {
      c.write(pipeline.slice(0, cut));
      await new Promise((r) => setTimeout(r, 1));
      expect(await c.request(pipeline.slice(cut), 2)).toBe('$3\r\nabc\r\n+PONG\r\n');
    }
    c.close();
  });
});

describe('pipelines mixing fast-path GET/SET with state-changing commands', () => {
  it('MULTI, CLIENT REPLY and SUBSCRIBE in one write apply to the GETs and SETs after them', async () => {
    const c = await RawConn.connect(srv.port);
    const write =
      enc('SET', 'fp', '1') + enc('MULTI') + enc('SET', 'fp', '2') + enc('GET', 'fp') + enc('EXEC') + enc('get', 'fp') +
      enc('CLIENT', 'REPLY', 'OFF') + enc('SET', 'fp', 'silent') + enc('CLIENT', 'REPLY', 'ON') + enc('GET', 'fp') +
      enc('SUBSCRIBE', 'fpch') + enc('GET', 'fp');
    const expected =
      '+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\n2\r\n$1\r\n2\r\n' +
      '+OK\r\n$6\r\nsilent\r\n' +
      '*3\r\n$9\r\nsubscribe\r\n$4\r\nfpch\r\n:1\r\n' +
      "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";
    c.write(write);
    expect(await c.until((s) => s.length >= expected.length)).toBe(expected);
    c.close();
  });

  it('a GET or SET split anywhere still parses; a bad one after good ones gets the usual error', async () => {
    const c = await RawConn.connect(srv.port);
    c.socket.setNoDelay(true);
    const whole = enc('SET', 'fq', 'abc') + enc('GET', 'fq') + enc('GET', 'nope');
    for (let cut = 1; cut < whole.length; cut += 3) {
      c.write(whole.slice(0, cut));
      await new Promise((r) => setTimeout(r, 1));
      expect(await c.request(whole.slice(cut), 3)).toBe('+OK\r\n$3\r\nabc\r\n$-1\r\n');
    }
    expect(await c.request(enc('GET', 'fq') + '*2\r\n$3\r\nGET\r\n$-3\r\n', 2)).toBe('$3\r\nabc\r\n-ERR Protocol error: invalid bulk length\r\n');
    c.close();
  });
});

describe('fuzz', () => {
  it('random bytes never kill the server or disturb other connections', async () => {
    const control = await RawConn.connect(srv.port);
    let seed = 987654321;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const alphabet = Buffer.from('*$\r\n0123456789-+:PINGSETGETabc "\'\\');
    for (let round = 0; round < 60; round++) {
      const conns = await Promise.all([0, 1, 2].map(() => RawConn.connect(srv.port)));
      for (const c of conns) {
        const len = 1 + Math.floor(rand() * 400);
        const b = Buffer.alloc(len);
        for (let i = 0; i < len; i++) b[i] = rand() < 0.85 ? alphabet[Math.floor(rand() * alphabet.length)]! : Math.floor(rand() * 256);
        c.write(b);
      }
      expect(await control.request(`*2\r\n$4\r\nECHO\r\n$${String(round).length}\r\n${round}\r\n`)).toBe(`$${String(round).length}\r\n${round}\r\n`);
      for (const c of conns) c.close();
    }
    control.close();
    await expectAlive();
    expect(srv.proc.exitCode).toBeNull();
  });
});
