/**
 * Differential tests against a live redis-server 7: the same requests go to both servers over raw
 * connections and the reply bytes must be equal. Random sequences (parity-gen.ts) walk the string
 * and key commands with good and bad arguments; the fixed cases pin replies that once differed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { countReplies, RawConn, request, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomCommand, randomInlineLine, randomPubsubCommand, randomSessionCommand, randomTrackingStep, REDIRECT_ID, settleMs, TIMED } from './parity-gen.ts';
import { seeded } from '../seeded.ts';

/** TTL replies may differ by the time between the two requests: positive ones are masked. */
function normal(argv: string[], reply: string): string {
  return TIMED.has(argv[0]!.toUpperCase()) ? reply.replace(/^:[1-9]\d*/, ':N') : reply;
}

/** A mismatch report: the step, the requests up to it, both replies. */
function mismatch(i: number, requests: string[], ours: string | undefined, redis: string | undefined): string {
  return `#${i} ${requests.join(' ')}\n  ours:  ${JSON.stringify(ours)}\n  redis: ${JSON.stringify(redis)}`;
}

/** The top-level replies in `s`, each as its text. */
function replies(s: string): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > 0) {
    let k = 1;
    while (k < rest.length && countReplies(rest.slice(0, k)) === 0) k++;
    out.push(rest.slice(0, k));
    rest = rest.slice(k);
  }
  return out;
}

/**
 * What may differ in a session's replies: HELLO's version and client id; and Redis walks its
 * channel and pattern dictionaries in hash order, so the replies of UNSUBSCRIBE, PUNSUBSCRIBE or
 * SUNSUBSCRIBE without arguments (with their running counts) and a PUBLISH's pattern messages are compared
 * as sorted sets.
 */
function sessionNormal(argv: string[], s: string): string {
  const cmd = argv[0]!.toUpperCase();
  if (cmd === 'HELLO') return s.replace(/\$7\r\nversion\r\n\$\d+\r\n[^\r]*\r\n/, '').replace(/\$2\r\nid\r\n:\d+\r\n/, '');
  if ((cmd === 'UNSUBSCRIBE' || cmd === 'PUNSUBSCRIBE' || cmd === 'SUNSUBSCRIBE') && argv.length === 1) return replies(s).map((r) => r.replace(/:\d+\r\n$/, '')).sort().join('');
  if (cmd === 'PUBLISH') return replies(s).sort().join('');
  return s;
}

/**
 * A tracking step's replies on one connection, compared as a sorted set: Redis 7.0 sends a
 * client's own invalidations after the whole pipeline (here: after the command's reply, as Redis
 * 7.2 does). The redirect id is masked, and Redis 7.0's RESP3 null in a redirected RESP2 flush
 * message (`_`, the tracking client's protocol, which a RESP2 reader cannot parse) reads as the
 * RESP2 null we send.
 */
function trackingView(argv: string[], text: string, redirectId: string): string {
  let t = text.replace('__redis__:invalidate\r\n_\r\n', '__redis__:invalidate\r\n$-1\r\n');
  if (argv[1] === 'GETREDIR' || argv[1] === 'TRACKINGINFO') t = t.replaceAll(`:${redirectId}\r\n`, ':RID\r\n');
  return replies(sessionNormal(argv, t)).sort().join('');
}

describe.skipIf(!hasBinary('redis-server'))('replies equal redis-server 7 byte for byte', () => {
  let ours: TestServer;
  let redis: Running;
  const conns: RawConn[] = [];
  beforeAll(async () => {
    ours = await startServer(['--enable-debug-command', 'yes']);
    redis = await startRedis('0', ['--enable-debug-command', 'yes']);
  });
  afterAll(async () => {
    for (const c of conns) c.close();
    await ours.stop();
    await redis.stop();
  });

  /** A connection to each server, both at defaults (noeviction, no memory limit). */
  async function pair(protocol: 2 | 3): Promise<(argv: string[]) => Promise<[string, string]>> {
    const [[a], [b]] = (await connectEach(1)) as [[RawConn], [RawConn]];
    for (const [c, argv] of [[b, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']], [b, ['CONFIG', 'SET', 'maxmemory', '0']], [a, ['FLUSHALL']], [b, ['FLUSHALL']]] as const) await c.request(request([...argv]));
    if (protocol === 3) {
      await a.request(request(['HELLO', '3']));
      await b.request(request(['HELLO', '3']));
    }
    return (argv) => Promise.all([a.request(request(argv)), b.request(request(argv))]);
  }

  /** `n` connections to each server: [ours, redis]. */
  async function connectEach(n: number): Promise<RawConn[][]> {
    const sides: RawConn[][] = [];
    for (const port of [ours.port, redis.port]) {
      const cs: RawConn[] = [];
      for (let k = 0; k < n; k++) cs.push(await RawConn.connect(port));
      conns.push(...cs);
      sides.push(cs);
    }
    return sides;
  }

  /**
   * What connection `c` received until it was quiet for a while: a subscriber or tracking client
   * on another worker gets its message a moment after the writer's reply.
   */
  async function settle(c: RawConn): Promise<string> {
    // Long enough for a delivery through another worker on a loaded 2-core machine (CI runs
    // several test files at once); the senders' own replies end at a sentinel instead.
    const QUIET_MS = 15;
    let seen = -1;
    let text = await c.until(() => false, QUIET_MS);
    while (text.length !== seen) {
      seen = text.length;
      text = await c.until(() => false, QUIET_MS);
    }
    return c.take(() => true);
  }

  for (const [seed, protocol] of [[1, 2], [2, 3], [3, 2], [7, 3], [8, 2], [9, 2]] as const) {
    it(`random string and key commands, seed ${seed}, RESP${protocol}`, async () => {
      const send = await pair(protocol);
      const r = seeded(seed);
      const history: string[] = [];
      const mismatches: string[] = [];
      for (let i = 0; i < 1500 && mismatches.length < 5; i++) {
        const argv = randomCommand(r);
        history.push(JSON.stringify(argv));
        const [x, y] = await send(argv);
        if (settleMs(argv) > 0) await sleep(settleMs(argv));
        if (normal(argv, x) !== normal(argv, y)) mismatches.push(mismatch(i, history.slice(-4), x, y));
      }
      await send(['FLUSHALL']);
      expect(mismatches).toEqual([]);
    });
  }

  it('random session commands: pub/sub, HELLO and RESET, names, AUTH, tracking with invalidations', async () => {
    const [[a], [b]] = (await connectEach(1)) as [[RawConn], [RawConn]];
    // Each request is followed by PING <token>, whose reply (a bulk, or a pong array while
    // subscribed in RESP2) ends what the request produced, pushes included.
    const r = seeded(4);
    const history: string[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < 1500 && mismatches.length < 5; i++) {
      const argv = randomSessionCommand(r);
      history.push(JSON.stringify(argv));
      const [x, y] = await Promise.all([a, b].map((c) => c.exchange(Buffer.concat([request(argv), request(['PING', `sentinel-${i}`])]), (t) => t.endsWith(`sentinel-${i}\r\n`))));
      if (sessionNormal(argv, x!) !== sessionNormal(argv, y!)) mismatches.push(mismatch(i, history.slice(-4), x, y));
    }
    expect(mismatches).toEqual([]);
  });

  it('keyspace events of random string and key commands, in order, with lazy expiry only', async () => {
    const TX = new Set(['MULTI', 'EXEC', 'DISCARD', 'WATCH', 'UNWATCH']);
    const sides = (await connectEach(2)).map(([c, s]) => ({ c: c!, s: s! }));
    for (const { c, s } of sides) {
      // Without the active expiry cycle a key expires only when a command finds it expired, at
      // the same command on both servers.
      for (const argv of [['FLUSHALL'], ['CONFIG', 'SET', 'notify-keyspace-events', 'KEA'], ['DEBUG', 'SET-ACTIVE-EXPIRE', '0']]) await c.request(request(argv));
      await s.exchange(request(['PSUBSCRIBE', '__key*__:*']), (t) => t.endsWith(':1\r\n'));
      await s.exchange(request(['SUBSCRIBE', 'sentinel']), (t) => t.endsWith(':2\r\n'));
    }
    const r = seeded(2);
    const history: string[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < 1500 && mismatches.length < 5; i++) {
      let argv = randomCommand(r);
      // Outside MULTI: the sentinel PUBLISH after each command must run at once.
      while (TX.has(argv[0]!)) argv = randomCommand(r);
      history.push(JSON.stringify(argv));
      const token = `t${i}`;
      const [x, y] = await Promise.all(
        sides.map(async ({ c, s }) => {
          const events = s.take((t) => t.endsWith(`$${token.length}\r\n${token}\r\n`));
          await c.exchange(Buffer.concat([request(argv), request(['PUBLISH', 'sentinel', token])]), (t) => t.endsWith(':1\r\n'));
          return events;
        }),
      );
      if (settleMs(argv) > 0) await sleep(settleMs(argv));
      if (x !== y) mismatches.push(mismatch(i, history.slice(-4), x, y));
    }
    for (const { c } of sides) for (const argv of [['CONFIG', 'SET', 'notify-keyspace-events', ''], ['DEBUG', 'SET-ACTIVE-EXPIRE', '1'], ['FLUSHALL']]) await c.request(request(argv));
    expect(mismatches).toEqual([]);
  });

  it('random inline requests: quotes, escapes and separators split as sdssplitargs does', async () => {
    const r = seeded(6);
    const mismatches: string[] = [];
    for (let i = 0; i < 300 && mismatches.length < 5; i++) {
      const line = randomInlineLine(r);
      // A connection each: a malformed line is a protocol error, which closes it.
      const [x, y] = await Promise.all(
        [ours.port, redis.port].map(async (port) => {
          const c = await RawConn.connect(port);
          const out = await c.exchange(Buffer.from(line, 'latin1'), (t) => t.endsWith('\r\n'));
          c.close();
          return out;
        }),
      );
      if (x !== y) mismatches.push(mismatch(i, [JSON.stringify(line)], x, y));
    }
    expect(mismatches).toEqual([]);
  });

  it('random commands from three connections in turn: WATCH and MULTI/EXEC see one another', async () => {
    const sides = await connectEach(3);
    for (const cs of sides) await cs[0]!.request(request(['FLUSHALL']));
    const r = seeded(7);
    const history: string[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < 1500 && mismatches.length < 5; i++) {
      const who = r(3);
      const argv = randomCommand(r);
      history.push(`${who}:${JSON.stringify(argv)}`);
      const [x, y] = await Promise.all(sides.map((cs) => cs[who]!.request(request(argv))));
      if (settleMs(argv) > 0) await sleep(settleMs(argv));
      if (normal(argv, x) !== normal(argv, y)) mismatches.push(mismatch(i, history.slice(-6), x, y));
    }
    await sides[0]![0]!.request(request(['FLUSHALL']));
    await sides[1]![0]!.request(request(['FLUSHALL']));
    expect(mismatches).toEqual([]);
  });

  it('scripts over three connections: WATCH touched by writes, by a flush only of keys that existed, by expiry since WATCH, not by removal of a key expired at WATCH; PUBSUB NUMPAT; SET with a past expiry', async () => {
    // Steps: [connection, request], [connection, request, what the reply text ends with when
    // other messages come before it], or [milliseconds] to wait.
    const scripts: ([number, string[]] | [number, string[], string] | [number])[][] = [
      [[0, ['WATCH', 'x']], [1, ['FLUSHDB']], [0, ['MULTI']], [0, ['SET', 'x', '1']], [0, ['EXEC']]],
      [[0, ['SET', 'y', '1']], [0, ['WATCH', 'y']], [1, ['FLUSHALL']], [0, ['MULTI']], [0, ['GET', 'y']], [0, ['EXEC']]],
      [[1, ['SELECT', '1']], [1, ['SET', 'z', '1']], [0, ['WATCH', 'z']], [1, ['SWAPDB', '0', '1']], [0, ['MULTI']], [0, ['GET', 'z']], [0, ['EXEC']]],
      [[0, ['WATCH', 'z2']], [1, ['SWAPDB', '0', '1']], [0, ['MULTI']], [0, ['GET', 'z2']], [0, ['EXEC']]],
      [[0, ['PSETEX', 'w', '1', 'v']], [5], [0, ['WATCH', 'w']], [0, ['MULTI']], [0, ['GET', 'w']], [0, ['EXEC']]],
      [[0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '0']], [0, ['PSETEX', 'w', '30', 'v']], [0, ['WATCH', 'w']], [40], [0, ['MULTI']], [0, ['GET', 'w']], [0, ['EXEC']], [0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '1']]],
      // A key expired at WATCH: its removal by a lookup or a flush is no change; a write is.
      [[0, ['SET', 'w', 'v', 'PXAT', '1']], [0, ['WATCH', 'w']], [1, ['GET', 'w']], [0, ['MULTI']], [0, ['SET', 'z', '1']], [0, ['EXEC']]],
      [[0, ['SET', 'w', 'v', 'PXAT', '1']], [0, ['WATCH', 'w']], [1, ['FLUSHALL']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'w', 'v', 'PXAT', '1']], [0, ['WATCH', 'w']], [1, ['SET', 'w', '2']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'a', '1']], [0, ['WATCH', 'a']], [1, ['SET', 'a', '1']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'a', '1']], [0, ['WATCH', 'a']], [1, ['GET', 'a']], [1, ['PERSIST', 'a']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'a', '1']], [0, ['WATCH', 'a']], [1, ['EXPIRE', 'a', '100']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['WATCH', 'q']], [1, ['SET', 'q', '1']], [1, ['DEL', 'q']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'a', '1']], [0, ['WATCH', 'a']], [1, ['MOVE', 'a', '2']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['SET', 'a', '1']], [0, ['WATCH', 'a']], [1, ['FLUSHDB', 'ASYNC']], [0, ['MULTI']], [0, ['EXEC']]],
      [[0, ['MULTI']], [0, ['WATCH', 'a']], [0, ['EXEC']]],
      // SET with a time already past stores the key expired (Redis 7.0): DBSIZE counts it until a
      // lookup finds it, which sends 'expired'. Connection 1 reads every event up to its PING's reply.
      [
        [0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '0']], [0, ['CONFIG', 'SET', 'notify-keyspace-events', 'KEA']], [1, ['PSUBSCRIBE', '__keyevent@0__:*']],
        [0, ['SET', 'p', 'v', 'PXAT', '1']], [0, ['SET', 'p2', 'v', 'EXAT', '1', 'GET']], [0, ['DBSIZE']], [0, ['EXISTS', 'p']], [0, ['DBSIZE']],
        [20], [1, ['PING', 'end'], 'end\r\n'],
        [0, ['CONFIG', 'SET', 'notify-keyspace-events', '']], [0, ['DEBUG', 'SET-ACTIVE-EXPIRE', '1']],
      ],
      // PUBSUB NUMPAT counts patterns, not subscriptions (Redis 7).
      [[0, ['PSUBSCRIBE', 'c*']], [1, ['PSUBSCRIBE', 'c*']], [2, ['PUBSUB', 'NUMPAT']], [1, ['PSUBSCRIBE', 'd*']], [2, ['PUBSUB', 'NUMPAT']], [0, ['PUNSUBSCRIBE', 'c*']], [2, ['PUBSUB', 'NUMPAT']], [1, ['PUNSUBSCRIBE', 'c*']], [2, ['PUBSUB', 'NUMPAT']]],
    ];
    for (const script of scripts) {
      const outs: string[] = [];
      for (const cs of await connectEach(3)) {
        await cs[2]!.request(request(['FLUSHALL']));
        let out = '';
        for (const step of script) {
          if (step.length === 1) await sleep(step[0]);
          else {
            const [who, argv, end] = step;
            const reply = end === undefined ? await cs[who]!.request(request(argv)) : await cs[who]!.exchange(request(argv), (t) => t.endsWith(end));
            out += `${who}: ${argv.join(' ')} -> ${JSON.stringify(reply)}\n`;
          }
        }
        outs.push(out);
      }
      expect(outs[0]).toBe(outs[1]);
    }
  });

  it('pub/sub between three connections: deliveries to the others and the PUBSUB counts', async () => {
    const sides = await connectEach(3);
    const r = seeded(8);
    const history: string[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < 300 && mismatches.length < 5; i++) {
      const who = r(3);
      const argv = randomPubsubCommand(r);
      history.push(`${who}:${JSON.stringify(argv)}`);
      const token = `ps${i}`;
      const [x, y] = await Promise.all(
        sides.map(async (cs) => {
          // PING <token> after the request: its reply (a bulk, or ["pong", token] when subscribed)
          // marks the end of the sender's replies, however late a loaded machine delivers them;
          // the others are read until quiet.
          cs[who]!.write(Buffer.concat([request(argv), request(['PING', token])]));
          await cs[who]!.until((t) => t.endsWith(`${token}\r\n`));
          return (await Promise.all(cs.map(settle))).map((t, k) => `${k}<${sessionNormal(argv, t)}>`).join(' ');
        }),
      );
      if (x !== y) mismatches.push(mismatch(i, history.slice(-6), x, y));
    }
    expect(mismatches).toEqual([]);
  });

  it('client-side caching: which keys are invalidated, for whom, in which form (push, redirect)', async () => {
    const sides = await connectEach(3);
    const redirectIds: string[] = [];
    for (const cs of sides) {
      await cs[2]!.request(request(['FLUSHALL']));
      redirectIds.push(/:(\d+)/.exec(await cs[1]!.request(request(['CLIENT', 'ID'])))![1]!);
      await cs[1]!.exchange(request(['SUBSCRIBE', '__redis__:invalidate']), (t) => t.endsWith(':1\r\n'));
    }
    const r = seeded(9);
    const history: string[] = [];
    const mismatches: string[] = [];
    for (let i = 0; i < 300 && mismatches.length < 5; i++) {
      const [who, argv] = randomTrackingStep(r);
      history.push(`${who}:${JSON.stringify(argv)}`);
      const token = `tk${i}`;
      const [x, y] = await Promise.all(
        sides.map(async (cs, side) => {
          // The request is followed by PING <token> on its connection; the others are read until quiet.
          cs[who]!.write(Buffer.concat([request(argv.map((a) => (a === REDIRECT_ID ? redirectIds[side]! : a))), request(['PING', token])]));
          await cs[who]!.until((t) => t.endsWith(`${token}\r\n`));
          const texts = await Promise.all(cs.map(settle));
          return texts.map((t, k) => `${k}<${trackingView(argv, t, redirectIds[side]!)}>`).join(' ');
        }),
      );
      if (x !== y) mismatches.push(mismatch(i, history.slice(-6), x, y));
    }
    expect(mismatches).toEqual([]);
  });

  it('fixed cases: integer ranges, error texts, COPY/GETEX/INCRBYFLOAT order, encodings and shared integers', async () => {
    const send = await pair(2);
    const cases: string[][] = [
      // getIntFromObjectOrReply: an int64 first, then the C int range.
      ['SELECT', '9223372036854775807'], ['SELECT', '2147483648'], ['SELECT', 'x'], ['MOVE', 'a', '99999999999'],
      ['SWAPDB', '2147483648', '0'], ['SWAPDB', '0', 'x'], ['COPY', 'a', 'b', 'DB', '4294967296'], ['COPY', 'a', 'b', 'DB', '99', 'BOGUS'],
      // Any int64 is an integer for counts, ids and lengths.
      ['SET', 'f', 'abc'], ['LCS', 'f', 'f', 'MINMATCHLEN', '9223372036854775807'], ['LCS', 'f', 'f', 'MINMATCHLEN', '-9223372036854775808'],
      // CLIENT TRACKING checks the REDIRECT target where the option stands, then ON/OFF.
      ['CLIENT', 'TRACKING', 'maybe', 'REDIRECT', '0', 'PREFIX', ''], ['CLIENT', 'TRACKING', 'on', 'REDIRECT', '0'], ['CLIENT', 'TRACKING', 'on', 'REDIRECT', '99999', 'BOGUS'],
      ['CLIENT', 'TRACKING', 'on', 'BOGUS', 'REDIRECT', '99999'], ['CLIENT', 'TRACKING', 'on', 'REDIRECT', 'x'], ['CLIENT', 'TRACKING', 'off', 'REDIRECT', '99999', 'REDIRECT', '1'],
      ['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'p:', 'PREFIX', 'k'], ['CLIENT', 'TRACKINGINFO'], ['CLIENT', 'TRACKING', 'off'],
      ['CLIENT', 'KILL', 'ID', '9223372036854775807'], ['CLIENT', 'TRACKING', 'on', 'REDIRECT', '9223372036854775807'], ['SLOWLOG', 'RESET'], ['SLOWLOG', 'GET', '9223372036854775807'],
      // COPY refuses the same key before it looks the key up.
      ['COPY', 'zz', 'zz'], ['COPY', 'f', 'f'], ['COPY', 'f', 'f', 'DB', '1'],
      // GETEX answers nil for a missing key before it reads the expiry; SET reads it first.
      ['GETEX', 'missing', 'PX', 'abc'], ['GETEX', 'f', 'PX', 'abc'], ['SET', 'missing', 'v', 'PX', 'abc'],
      // INCRBYFLOAT reads the stored value, then the increment, then checks the sum.
      ['INCRBYFLOAT', 'f', '-inf'], ['SET', 'f', '-inf'], ['INCRBYFLOAT', 'f', 'abc'], ['INCRBYFLOAT', 'f', '1'], ['SET', 'f', 'nan'], ['INCRBYFLOAT', 'f', '1'],
      // Error texts print arguments as C's %s: up to a NUL; CR and LF become spaces.
      ['EXPIRE', 'f', '100', 'ab\r\ncd'], ['EXPIRE', 'f', '100', '\u0000\u00ff'], ['EXPIRE', 'f', '100', 'x\u0000y'], ['EXPIRE', 'f', '100', '\u00e9\u00ff'],
      ['NOSUCH\u0000CMD', 'a\r\nb', 'x'.repeat(200)], ['CLIENT', `no${'\u00ff'.repeat(200)}`],
      // Encodings: APPEND to an existing key and SETRANGE make raw strings; RENAME, MOVE and COPY keep the encoding.
      ['SET', 'e', '12'], ['OBJECT', 'ENCODING', 'e'], ['APPEND', 'e', '3'], ['OBJECT', 'ENCODING', 'e'], ['RENAME', 'e', 'e2'], ['OBJECT', 'ENCODING', 'e2'],
      ['COPY', 'e2', 'e3'], ['OBJECT', 'ENCODING', 'e3'], ['MOVE', 'e3', '1'], ['SELECT', '1'], ['OBJECT', 'ENCODING', 'e3'], ['COPY', 'e3', 'e4', 'DB', '0'], ['SELECT', '0'], ['OBJECT', 'ENCODING', 'e4'],
      ['SET', 'e2', '5'], ['OBJECT', 'ENCODING', 'e2'], ['DEL', 'g'], ['APPEND', 'g', '7'], ['OBJECT', 'ENCODING', 'g'], ['SETRANGE', 'h', '0', '8'], ['OBJECT', 'ENCODING', 'h'],
      ['SET', 'h', 'x'.repeat(44)], ['OBJECT', 'ENCODING', 'h'], ['SET', 'h', 'x'.repeat(45)], ['OBJECT', 'ENCODING', 'h'],
      // INCRBYFLOAT stores a string, never an integer; COPY duplicates it, and an integer COPY
      // makes is its own, never shared; RENAME moves the object as it is.
      ['SET', 'fl', '1'], ['INCRBYFLOAT', 'fl', '2'], ['GET', 'fl'], ['OBJECT', 'ENCODING', 'fl'], ['OBJECT', 'REFCOUNT', 'fl'], ['INCRBYFLOAT', 'fl', '1e40'], ['OBJECT', 'ENCODING', 'fl'],
      ['SET', 'fl', '1'], ['INCRBYFLOAT', 'fl', '0.5'], ['COPY', 'fl', 'fl2'], ['OBJECT', 'ENCODING', 'fl2'], ['RENAME', 'fl2', 'fl3'], ['OBJECT', 'ENCODING', 'fl3'], ['INCR', 'fl3'],
      ['SET', 'fl', '4'], ['INCRBYFLOAT', 'fl', '1'], ['INCR', 'fl'], ['OBJECT', 'ENCODING', 'fl'], ['OBJECT', 'REFCOUNT', 'fl'], ['INCRBYFLOAT', 'fl', '1'], ['APPEND', 'fl', '0'], ['OBJECT', 'ENCODING', 'fl'],
      ['SET', 'ci', '7'], ['COPY', 'ci', 'ci2'], ['OBJECT', 'ENCODING', 'ci2'], ['OBJECT', 'REFCOUNT', 'ci2'], ['OBJECT', 'REFCOUNT', 'ci'], ['COPY', 'ci2', 'ci3'], ['OBJECT', 'REFCOUNT', 'ci3'],
      ['RENAME', 'ci', 'ci4'], ['OBJECT', 'REFCOUNT', 'ci4'], ['MOVE', 'ci4', '1'], ['SELECT', '1'], ['OBJECT', 'REFCOUNT', 'ci4'], ['SELECT', '0'], ['SET', 'ci2', '7'], ['OBJECT', 'REFCOUNT', 'ci2'],
      ['SET', 'ci', 'x'.repeat(50)], ['COPY', 'ci', 'ci5'], ['OBJECT', 'ENCODING', 'ci5'], ['SET', 'ci', 'abc'], ['COPY', 'ci', 'ci6', 'REPLACE'], ['OBJECT', 'ENCODING', 'ci6'],
      // Shared integers 0..9999 while no LRU/LFU maxmemory policy is set.
      ['SET', 'i', '0'], ['OBJECT', 'REFCOUNT', 'i'], ['SET', 'i', '9999'], ['OBJECT', 'REFCOUNT', 'i'], ['SET', 'i', '10000'], ['OBJECT', 'REFCOUNT', 'i'],
      ['SET', 'i', '-1'], ['OBJECT', 'REFCOUNT', 'i'], ['INCR', 'i'], ['OBJECT', 'REFCOUNT', 'i'], ['SET', 'i', '007'], ['OBJECT', 'REFCOUNT', 'i'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'], ['OBJECT', 'REFCOUNT', 'i'], ['CONFIG', 'SET', 'maxmemory', '1gb'], ['SET', 'i', '5'], ['OBJECT', 'REFCOUNT', 'i'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'], ['SET', 'i', '5'], ['OBJECT', 'REFCOUNT', 'i'], ['CONFIG', 'SET', 'maxmemory', '0'],
      // Whether an integer is shared is decided when it is stored, and stays.
      ['SET', 'sh', '6'], ['CONFIG', 'SET', 'maxmemory', '1gb'], ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu'], ['OBJECT', 'REFCOUNT', 'sh'], ['SET', 'ns', '6'], ['INCR', 'sh'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'volatile-ttl'], ['OBJECT', 'REFCOUNT', 'ns'], ['OBJECT', 'REFCOUNT', 'sh'], ['SET', 'vt', '3'], ['OBJECT', 'REFCOUNT', 'vt'],
      ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'], ['CONFIG', 'SET', 'maxmemory', '0'],
      // GETRANGE compares negative indices exactly, beyond a double's integers too.
      ['SET', 'gr', 'hello'], ['GETRANGE', 'gr', '-9223372036854775807', '-9223372036854775808'], ['SUBSTR', 'gr', '-9007199254740993', '-9007199254740994'],
      ['GETRANGE', 'gr', '-9223372036854775808', '-9223372036854775807'], ['GETRANGE', 'gr', '-9223372036854775808', '9223372036854775807'], ['GETRANGE', 'gr', '9223372036854775807', '-9223372036854775808'],
      // EXPIRETIME rounds to the nearest second.
      ['SET', 'x', 'v'], ['PEXPIREAT', 'x', '33177117420500'], ['EXPIRETIME', 'x'], ['PEXPIREAT', 'x', '33177117420499'], ['EXPIRETIME', 'x'],
      // HELLO's version is an integer as string2ll reads one.
      ['HELLO', '3.0'], ['HELLO', '02'], ['HELLO', '+3'], ['HELLO', '-0'], ['HELLO', ' 3'], ['HELLO', '9223372036854775808'], ['HELLO', '4'],
      // A CLIENT PAUSE end past LLONG_MAX wraps into the past in Redis 7.0: nothing is held.
      ['CLIENT', 'PAUSE', '9223372036854775807'], ['PING'], ['CLIENT', 'UNPAUSE'],
      // CONFIG GET names a setting as asked; integers parse as string2ll; unbounded ranges print LLONG_MAX.
      ['CONFIG', 'GET', 'HZ'], ['CONFIG', 'GET', 'Hz', 'hz'], ['CONFIG', 'SET', 'hz', '010'], ['CONFIG', 'SET', 'hz', '-0'], ['CONFIG', 'SET', 'hz', '+5'],
      // proto-max-bulk-len lowered at run time bounds APPEND and SETRANGE results at once.
      ['CONFIG', 'SET', 'proto-max-bulk-len', '1mb'], ['SET', 'big', 'x'.repeat(700_000)], ['APPEND', 'big', 'y'.repeat(700_000)], ['SETRANGE', 'big', '1048576', 'z'],
      ['SETRANGE', 'big', '1048575', 'z'], ['STRLEN', 'big'], ['CONFIG', 'SET', 'proto-max-bulk-len', '512mb'], ['DEL', 'big'],
      ['CLIENT', 'UNBLOCK', '1'], ['CLIENT', 'UNBLOCK', '1', 'ERROR'], ['CLIENT', 'UNBLOCK', '1', 'bogus'], ['CLIENT', 'UNBLOCK', 'x'], ['CLIENT', 'UNBLOCK', '1', 'timeout', 'x'],
      ['SLOWLOG', 'GET', '1', '2'], ['SET', 'mu', 'v'], ['MEMORY', 'USAGE', 'mu', 'SAMPLES', '-1'], ['FUNCTION', 'FlUsH', 'a', 'b'],
      ['FUNCTION', 'LIST'], ['FUNCTION', 'LIST', 'withcode', 'LIBRARYNAME', 'x*'], ['FUNCTION', 'LIST', 'bogus'], ['FUNCTION', 'LIST', 'LIBRARYNAME'], ['FUNCTION', 'LIST', 'WITHCODE', 'withcode'],
      // save is validated and kept as the numbers read; dir and dbfilename are protected configs.
      ['CONFIG', 'SET', 'save', '01 1'], ['CONFIG', 'GET', 'save'], ['CONFIG', 'SET', 'save', '0 1'], ['CONFIG', 'SET', 'save', '1 -1'], ['CONFIG', 'SET', 'save', '3600'],
      ['CONFIG', 'SET', 'save', 'foo'], ['CONFIG', 'SET', 'save', '  '], ['CONFIG', 'SET', 'save', '1 1 '], ['CONFIG', 'SET', 'save', '3600 1 300 10'], ['CONFIG', 'GET', 'save'], ['CONFIG', 'SET', 'save', ''],
      ['CONFIG', 'SET', 'dir', '/tmp'], ['CONFIG', 'SET', 'dbfilename', 'x.rdb'], ['CONFIG', 'GET', 'dbfilename'], ['CONFIG', 'GET', 'enable-protected-configs'],
      ['CONFIG', 'SET', 'slowlog-max-len', '-1'], ['CONFIG', 'SET', 'latency-monitor-threshold', '-1'], ['CONFIG', 'SET', 'slowlog-log-slower-than', '-2'], ['CONFIG', 'GET', 'HZ'],
      ['FLUSHALL'],
    ];
    for (const argv of cases) {
      const [x, y] = await send(argv);
      expect(x, JSON.stringify(argv).slice(0, 200)).toBe(y);
    }
  });

  it('INFO has every field redis-server has, section by section, in its order', async () => {
    const send = await pair(2);
    const names = (text: string) => text.split('\r\n').filter((l) => /^[a-z_]+:/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    for (const section of ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu']) {
      const [x, y] = (await send(['INFO', section])).map(names);
      const theirs = new Set(y);
      expect(y!.length, section).toBeGreaterThan(3);
      expect(x!.filter((n) => theirs.has(n)), section).toEqual(y);
    }
  });

  it('MEMORY STATS and LATENCY HISTORY have the shape Redis gives them, in RESP2 and RESP3', async () => {
    // Numbers differ between servers; names, nesting and types must not.
    const shape = (t: string) =>
      t
        .replace(/\$\d+\r\n-?\d+(\.\d+)?(e[+-]\d+)?\r\n/g, 'DOUBLE\r\n')
        .replace(/,-?\d+(\.\d+)?(e[+-]\d+)?\r\n/g, 'DOUBLE\r\n')
        .replace(/:\d+\r\n/g, ':N\r\n');
    for (const protocol of [2, 3] as const) {
      const send = await pair(protocol);
      await send(['SET', 'in0', 'v']);
      await send(['SELECT', '3']);
      await send(['SET', 'in3', 'v']);
      const [x, y] = await send(['MEMORY', 'STATS']);
      expect(x!.length).toBeGreaterThan(500);
      expect(shape(x!)).toBe(shape(y!));
      // A threshold far above what the other commands take on a loaded machine: the one sample is
      // the sleep's (samples of one second merge, so a slow neighbour there adds none).
      await send(['CONFIG', 'SET', 'latency-monitor-threshold', '50']);
      await send(['LATENCY', 'RESET']);
      await send(['DEBUG', 'SLEEP', '0.1']);
      const [h, r] = await send(['LATENCY', 'HISTORY', 'command']);
      const sample = /^\*1\r\n\*2\r\n:\d+\r\n:(\d+)\r\n$/;
      expect(h).toMatch(sample);
      expect(Number(sample.exec(h!)![1])).toBeGreaterThanOrEqual(100);
      expect(shape(h!)).toBe(shape(r!));
      for (const argv of [['LATENCY', 'HISTORY', 'nosuch'], ['LATENCY', 'HISTORY'], ['LATENCY', 'HISTORY', 'a', 'b'], ['MEMORY', 'STATS', 'x'], ['MEMORY', 'PURGE'], ['MEMORY', 'PURGE', 'x'], ['MEMORY', 'MALLOC-STATS', 'x'], ['MEMORY', 'DOCTOR', 'x'], ['LATENCY', 'GRAPH', 'nosuch'], ['LATENCY', 'GRAPH'], ['LATENCY', 'DOCTOR', 'x'], ['LATENCY', 'HELP'], ['MEMORY', 'HELP'], ['LATENCY', 'RESET']]) {
        const [a, b] = await send(argv);
        expect(a, argv.join(' ')).toBe(b);
      }
      await send(['CONFIG', 'SET', 'latency-monitor-threshold', '0']);
    }
  });

  it('maxmemory-clients is set and read back as Redis takes it: bytes, a percentage, and its errors', async () => {
    const send = await pair(2);
    // Limits far above what the suite's clients hold (maxmemory is 0 here, so percentages are
    // no limit), so that neither server closes a connection of the test.
    try {
      for (const v of ['64mb', '1000000K', '10%', '0%', '100%', '101%', '1.5%', '-1', '-5%', 'abc', '%', ' 5%', '0']) {
        for (const argv of [['CONFIG', 'SET', 'maxmemory-clients', v], ['CONFIG', 'GET', 'maxmemory-clients']]) {
          const [a, b] = await send(argv);
          expect(a, argv.join(' ')).toBe(b);
        }
      }
    } finally {
      await send(['CONFIG', 'SET', 'maxmemory-clients', '0']);
    }
  });

  it('latency tracking: LATENCY HISTOGRAM and INFO latencystats in the shape Redis gives them, and its settings as Redis takes them', async () => {
    for (const protocol of [2, 3] as const) {
      const send = await pair(protocol);
      for (const argv of [
        ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '101'],
        ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 abc'],
        ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '-1'],
        ['CONFIG', 'SET', 'latency-tracking-info-percentiles', '0 100 50.50 1e1 99.990'],
        ['CONFIG', 'GET', 'latency-tracking'],
        ['CONFIG', 'GET', 'latency-tracking-info-percentiles'],
        ['CONFIG', 'SET', 'latency-tracking', 'maybe'],
        ['LATENCY', 'HISTOGRAM', 'nosuch'],
      ]) {
        const [a, b] = await send(argv);
        expect(a, argv.join(' ')).toBe(b);
      }
      // One call of each: one bucket each, whatever it took, so only the numbers may differ.
      await send(['CONFIG', 'RESETSTAT']);
      await send(['SET', 'lt', 'v']);
      await send(['GET', 'lt']);
      const numbers = (t: string) => t.replace(/:\d+\r\n/g, ':N\r\n');
      for (const argv of [['LATENCY', 'HISTOGRAM', 'set', 'GET', 'nosuch', 'set'], ['LATENCY', 'HISTOGRAM', 'config']]) {
        const [a, b] = await send(argv);
        expect(numbers(a!), argv.join(' ')).toBe(numbers(b!));
      }
      // INFO's lines, each command's in the order Redis keeps them in a dict: compared as sets.
      const lines = (t: string) =>
        t
          .split('\r\n')
          .slice(1)
          .map((l) => l.replace(/=\d+\.\d{3}/g, '=X'))
          .sort();
      const [x, y] = await send(['INFO', 'latencystats']);
      expect(lines(x!)).toEqual(lines(y!));
      expect(x).toMatch(/^(\$\d+|=\d+\r\ntxt:)\r?\n?# Latencystats\r\n/);
      await send(['CONFIG', 'SET', 'latency-tracking', 'no']);
      await send(['SET', 'lt', 'v']);
      const [xo, yo] = await send(['INFO', 'latencystats']);
      expect(xo).toBe(yo);
      const [ho, ro] = await send(['LATENCY', 'HISTOGRAM', 'set']);
      expect(numbers(ho!)).toBe(numbers(ro!));
      await send(['CONFIG', 'SET', 'latency-tracking', 'yes']);
      await send(['CONFIG', 'SET', 'latency-tracking-info-percentiles', '50 99 99.9']);
    }
  });

  it("INFO's tracking figures: keys remembered, client ids over them, BCAST prefixes, as Redis counts them", async () => {
    const send = await pair(2);
    const figures = (t: string) => t.split('\r\n').filter((l) => l.startsWith('tracking_total_')).join(' ');
    const seen: string[][] = [[], []];
    // A flush first: what earlier tests' clients had tracked is forgotten on both.
    for (const argv of [['FLUSHALL'], ['INFO', 'stats'], ['CLIENT', 'TRACKING', 'on'], ['GET', 'tk:a'], ['GET', 'tk:b'], ['MGET', 'tk:c', 'tk:a'], ['INFO', 'stats'], ['SET', 'tk:a', '1'], ['INFO', 'stats'], ['CLIENT', 'TRACKING', 'off'], ['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'tk:p', 'PREFIX', 'tk:q'], ['INFO', 'stats'], ['FLUSHALL'], ['INFO', 'stats'], ['CLIENT', 'TRACKING', 'off'], ['INFO', 'stats']]) {
      const [a, b] = await send(argv);
      if (argv[0] === 'INFO') {
        seen[0]!.push(figures(a!));
        seen[1]!.push(figures(b!));
      } else expect(a, argv.join(' ')).toBe(b);
    }
    expect(seen[0]).toEqual(seen[1]);
    // (Other tests' BCAST clients may still hold prefixes.)
    expect(seen[0]!.slice(0, 2).map((f) => f.replace(/ tracking_total_prefixes:\d+/, ''))).toEqual(['tracking_total_keys:0 tracking_total_items:0', 'tracking_total_keys:3 tracking_total_items:3']);
  });

  it('INFO commandstats and errorstats count calls, rejections, failures and errors as Redis does', async () => {
    const send = await pair(2);
    await send(['CONFIG', 'RESETSTAT']);
    for (const argv of [['SET', 's', 'abc'], ['MULTI'], ['INCR', 's'], ['GET', 's'], ['EXEC'], ['GET'], ['EXEC'], ['FOO'], ['CLIENT', 'LIST', 'ID', 'abc'], ['MULTI'], ['GET'], ['EXEC'], ['INCRBY', 's', 'x'], ['MGET', 's', 't'], ['DEL', 's']]) await send(argv);
    // Times differ; counts, names and the error codes must not. Redis lists commands in hash order.
    const norm = (text: string) =>
      text
        .split('\r\n')
        .filter((l) => l.startsWith('cmdstat_') || l.startsWith('errorstat_') || l.startsWith('total_error_replies'))
        .map((l) => l.replace(/usec=\d+,usec_per_call=[\d.]+/, 'usec=T'))
        .sort();
    const [x, y] = await send(['INFO', 'commandstats', 'errorstats', 'stats']);
    expect(norm(x).length).toBeGreaterThan(8);
    expect(norm(x)).toEqual(norm(y));
  });

  it('proto-max-bulk-len lowered at run time holds connections already open to it', async () => {
    const [[a], [b]] = (await connectEach(1)) as [[RawConn], [RawConn]];
    const setters = (await connectEach(1)).flat();
    try {
      for (const c of setters) await c.request(request(['CONFIG', 'SET', 'proto-max-bulk-len', '1mb']));
      const got = await Promise.all([a, b].map(async (c) => `${await c.request('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n')}${(await c.waitClosed(1000)) ? ' (closed)' : ''}`));
      expect(got[0]).toBe('-ERR Protocol error: invalid bulk length\r\n (closed)');
      expect(got[0]).toBe(got[1]);
    } finally {
      for (const c of setters) await c.request(request(['CONFIG', 'SET', 'proto-max-bulk-len', '512mb']));
    }
  });

  it('a transaction that kills its own connection: the reply up to the kill, then the close', async () => {
    for (const queued of [
      [['PING'], ['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'no'], ['PING']],
      [['CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'no'], ['SET', 'after-kill', '1']],
    ]) {
      const [[a], [b]] = (await connectEach(1)) as [[RawConn], [RawConn]];
      const got = await Promise.all(
        [a, b].map(async (c) => {
          await c.request(request(['MULTI']));
          for (const argv of queued) await c.request(request(argv));
          c.write(request(['EXEC']));
          const closed = await c.waitClosed(5000);
          return `${await c.take(() => true)}${closed ? ' (closed)' : ''}`;
        }),
      );
      expect(got[0], JSON.stringify(queued)).toBe(got[1]);
      // The commands after the kill ran all the same.
      const [[p], [q]] = (await connectEach(1)) as [[RawConn], [RawConn]];
      const [x, y] = await Promise.all([p.request(request(['GET', 'after-kill'])), q.request(request(['GET', 'after-kill']))]);
      expect(x).toBe(y);
      await Promise.all([p.request(request(['DEL', 'after-kill'])), q.request(request(['DEL', 'after-kill']))]);
    }
  });

  it('with requirepass: what an unauthenticated connection may do, and AUTH and HELLO AUTH errors', async () => {
    const setup = await pair(2);
    await setup(['CONFIG', 'SET', 'requirepass', 'pw']);
    try {
      const sides = await connectEach(1);
      const cases = [
        ['GET', 'a'], ['PING'], ['HELLO', '3'], ['HELLO'], ['HELLO', '2', 'SETNAME', 'x'], ['AUTH', 'nope'], ['AUTH', 'default', 'nope'], ['AUTH', 'other', 'pw'], ['AUTH', 'a', 'b', 'c'],
        ['HELLO', '3', 'AUTH', 'default', 'nope'], ['HELLO', '3', 'AUTH', 'default', 'pw', 'SETNAME', 'n'], ['CLIENT', 'GETNAME'], ['RESET'], ['GET', 'a'], ['AUTH', 'pw'], ['GET', 'a'], ['QUIT'],
      ];
      for (const argv of cases) {
        const [x, y] = await Promise.all(sides.map(([c]) => c!.request(request(argv))));
        expect(sessionNormal(argv, x!), JSON.stringify(argv)).toBe(sessionNormal(argv, y!));
      }
      // Requests over 10 arguments or with a bulk over 16 KiB: a protocol error and the close,
      // before the request is even buffered; at the limits, NOAUTH.
      const big = 'x'.repeat(16384);
      const raws = ['*11\r\n', '*2\r\n$3\r\nGET\r\n$16385\r\n', `*2\r\n$3\r\nGET\r\n$16384\r\n${big}\r\n`, `*10\r\n${'$1\r\na\r\n'.repeat(10)}`];
      for (const raw of raws) {
        const conns = await Promise.all([ours.port, redis.port].map((p) => RawConn.connect(p)));
        try {
          const got = await Promise.all(conns.map(async (c) => `${await c.request(raw)}${(await c.waitClosed(300)) ? ' (closed)' : ''}`));
          expect(got[0], raw.slice(0, 40)).toBe(got[1]);
        } finally {
          for (const c of conns) c.close();
        }
      }
    } finally {
      for (const port of [ours.port, redis.port]) {
        const c = await RawConn.connect(port);
        await c.request(request(['AUTH', 'pw']));
        await c.request(request(['CONFIG', 'SET', 'requirepass', '']));
        c.close();
      }
    }
  });

  it('CONFIG GET gives the values Redis gives for every setting both have', async () => {
    const send = await pair(2);
    const [all] = await send(['CONFIG', 'GET', '*']);
    const names = all.split('\r\n').filter((_, i) => i % 4 === 2);
    let compared = 0;
    // Where the two servers run (port, directory) and the default bind address are their own.
    for (const name of names.filter((n) => !['port', 'bind', 'dir'].includes(n))) {
      const [x, y] = await send(['CONFIG', 'GET', name]);
      if (y === '*0\r\n') continue;
      expect(x, name).toBe(y);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });
});
