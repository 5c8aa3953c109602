/**
 * Random command sequences for the differential test against redis-server (parity.test.ts):
 * string and key commands over a handful of keys and databases, with valid and invalid options,
 * arities and numbers mixed in, so both servers walk the same paths, errors included.
 */
type Rand = (n: number) => number;

const KEYS = ['k0', 'k1', 'k2', 'k3', 'n', '{t}a'];
const FLOAT_KEY = 'f';
const VALUES = [
  ...['', '0', '1', '-1', '10', '3.5', '-0.25', 'abc', 'hello world', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e3', ' 1', '0x10', '1.0', '01', '+5', 'inf', '-inf', 'nan', '1.5e308', 'x'.repeat(50), 'ab\r\ncd', '\u0000\u00ff'],
  // Integer and encoding edges: 0..9999 shared, 20 digits, a long's bounds, 44/45 bytes (embstr/raw).
  ...['9999', '10000', '-0', '007', '5.', '.5', '1e400', '-9223372036854775809', '18446744073709551615', '12345678901234567890', '1234567890123456789', '2147483648', 'x'.repeat(44), 'y'.repeat(45), 'a\u0000b'],
];
const NUMBERS = ['0', '1', '-1', '2', '5', '100', '1000', '-100', '3.5', 'abc', '', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '4611686018427387904', '1e3', '+1', ' 2', '536870911', '536870912'];

function pick<T>(r: Rand, xs: readonly T[]): T {
  return xs[r(xs.length)]!;
}

/** The arguments of `n` calls of `f`, in order. */
function some(n: number, f: () => string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(...f());
  return out;
}

const key = (r: Rand) => pick(r, KEYS);
const value = (r: Rand) => pick(r, VALUES);
const num = (r: Rand) => (r(4) === 0 ? pick(r, NUMBERS) : String(r(20) - 5));
/**
 * Expiry arguments that are no time near now (not positive, not numbers, or far off): a key that
 * expires during the run would expire at a different command on each server.
 */
const BAD_TTLS = NUMBERS.filter((n) => !(/^[1-9][0-9]*$/.test(n) && Number(n) < 1e15));
/** SETRANGE offsets: none that would make both servers build a string of hundreds of megabytes. */
const OFFSETS = NUMBERS.filter((n) => !(Number(n) >= 1e6 && Number(n) < 536870912));
const ttl = (r: Rand, live: number) => (r(3) === 0 ? pick(r, BAD_TTLS) : String(live + r(1000)));

function setOptions(r: Rand, expiry: readonly string[]): string[] {
  const out: string[] = [];
  const n = r(4);
  for (let i = 0; i < n; i++) {
    const o = pick(r, [...expiry, 'NX', 'XX', 'GET', 'KEEPTTL', 'PERSIST', 'BOGUS']);
    if (o === 'EX' || o === 'PX') out.push(o, ttl(r, o === 'EX' ? 1000 : 1_000_000));
    // A time already past: GETEX deletes the key, SET stores it expired (Redis 7.0).
    else if (o === 'EXAT' || o === 'PXAT') out.push(o, r(3) === 0 ? num(r) : String(o === 'EXAT' ? 4_000_000_000 + r(1000) : 4_000_000_000_000 + r(1000)));
    else out.push(o);
  }
  return out;
}

const GENERATORS: ((r: Rand) => string[])[] = [
  (r) => ['GET', key(r)],
  (r) => ['SET', key(r), value(r), ...setOptions(r, ['EX', 'PX', 'EXAT', 'PXAT'])],
  (r) => ['SETNX', key(r), value(r)],
  (r) => ['SETEX', key(r), ttl(r, 1000), value(r)],
  (r) => ['PSETEX', key(r), ttl(r, 1_000_000), value(r)],
  (r) => ['PSETEX', key(r), String(SHORT_TTL_MS), value(r)],
  (r) => ['GETSET', key(r), value(r)],
  (r) => ['GETDEL', key(r)],
  (r) => ['GETEX', key(r), ...setOptions(r, ['EX', 'PX', 'EXAT', 'PXAT'])],
  (r) => ['MGET', ...some(1 + r(4), () => [key(r)])],
  (r) => ['MSET', ...some(r(4), () => [key(r), value(r)]), ...(r(5) === 0 ? [key(r)] : [])],
  (r) => ['MSETNX', ...some(r(3), () => [key(r), value(r)]), ...(r(5) === 0 ? [key(r)] : [])],
  (r) => ['APPEND', key(r), value(r)],
  (r) => ['STRLEN', key(r)],
  (r) => [pick(r, ['GETRANGE', 'SUBSTR']), key(r), num(r), num(r)],
  (r) => ['SETRANGE', key(r), r(6) === 0 ? pick(r, OFFSETS) : String(r(12)), value(r)],
  (r) => [pick(r, ['INCR', 'DECR']), key(r)],
  (r) => [pick(r, ['INCRBY', 'DECRBY']), key(r), num(r)],
  // INCRBYFLOAT on the shared keys too: its results are embstr in Redis even when they read as
  // integers, which OBJECT ENCODING then checks.
  (r) => ['INCRBYFLOAT', r(2) ? FLOAT_KEY : key(r), r(2) ? value(r) : num(r)],
  (r) => (r(3) === 0 ? ['GET', FLOAT_KEY] : [pick(r, ['SET', 'APPEND']), FLOAT_KEY, value(r)]),
  (r) => ['LCS', key(r), key(r), ...some(r(3), () => { const o = pick(r, ['LEN', 'IDX', 'MINMATCHLEN', 'WITHMATCHLEN', 'BAD']); return o === 'MINMATCHLEN' ? [o, num(r)] : [o]; })],
  (r) => [pick(r, ['DEL', 'UNLINK', 'EXISTS', 'TOUCH']), ...some(1 + r(3), () => [key(r)])],
  (r) => [pick(r, ['EXPIRE', 'PEXPIRE']), key(r), ttl(r, 1_000_000), ...some(r(2), () => [pick(r, ['NX', 'XX', 'GT', 'LT', 'ZZ'])])],
  (r) => [pick(r, ['EXPIREAT', 'PEXPIREAT']), key(r), r(3) ? String(4_000_000_000_000 + r(100)) : num(r), ...some(r(2), () => [pick(r, ['NX', 'XX', 'GT', 'LT'])])],
  (r) => [pick(r, ['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME', 'PERSIST', 'TYPE']), key(r)],
  (r) => [pick(r, ['RENAME', 'RENAMENX']), key(r), key(r)],
  (r) => ['COPY', key(r), key(r), ...some(r(3), () => { const o = pick(r, ['DB', 'REPLACE', 'X']); return o === 'DB' ? [o, r(4) ? String(r(3)) : num(r)] : [o]; })],
  (r) => ['MOVE', key(r), r(4) ? String(r(3)) : num(r)],
  (r) => ['SELECT', r(6) ? String(r(3)) : num(r)],
  (r) => ['SWAPDB', String(r(3)), r(5) ? String(r(3)) : num(r)],
  // Patterns that match one key at most: KEYS inside EXEC is compared as it comes, unsorted.
  (r) => ['KEYS', pick(r, ['k0', 'k[1]', 'k[!3]', '{t}*', 'f*', 'n?', '*[', '\\k0', 'k[^0-2]'])],
  (r) => ['OBJECT', pick(r, ['ENCODING', 'FREQ', 'NOPE']), key(r)],
  (r) => [pick(r, ['ECHO', 'PING']), ...some(r(3), () => [value(r)])],
  (r) => (r(40) === 0 ? ['FLUSHDB', ...(r(2) ? [pick(r, ['ASYNC', 'SYNC', 'BAD'])] : [])] : ['STRLEN', key(r)]),
  (r) => [pick(r, ['NOSUCHCMD', 'get', 'Set']), ...some(r(3), () => [key(r)])],
  (r) => (r(3) === 0 ? [pick(r, ['WATCH', 'UNWATCH']), ...some(r(3), () => [key(r)])] : [pick(r, ['MULTI', 'EXEC', 'EXEC', 'DISCARD'])]),
];

/**
 * A key set to live SHORT_TTL_MS: after it the caller waits settleMs(), so the key is expired on
 * both servers when the next command runs, and it goes where that command finds it (with active
 * expiry off, exactly there).
 */
const SHORT_TTL_MS = 1;

/** Milliseconds to wait after `argv` before the next command. */
export function settleMs(argv: string[]): number {
  return argv[0] === 'PSETEX' && argv[2] === String(SHORT_TTL_MS) ? SHORT_TTL_MS + 2 : 0;
}

/** A random command: usually well-formed, sometimes with an argument dropped or added. */
export function randomCommand(r: Rand): string[] {
  const argv = pick(r, GENERATORS)(r);
  const m = r(25);
  if (m === 0 && argv.length > 1) argv.pop();
  else if (m === 1) argv.push(value(r));
  return argv;
}

/** Commands whose replies hold times: compared after positive numbers are masked. */
export const TIMED = new Set(['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']);

const CHANNELS = ['c1', 'c2', 'c3'];
const PATTERNS = ['c*', 'c[12]', 'x?'];

/**
 * Session state commands for one connection: pub/sub (also publishing to itself), HELLO and
 * RESET switching protocols, client names, AUTH without a password, client-side caching with
 * its invalidations to itself, and plain reads and writes to trigger them. No MULTI, QUIT or
 * CLIENT REPLY: each request is followed by a PING sentinel whose reply must come back.
 */
const SESSION: ((r: Rand) => string[])[] = [
  (r) => ['SUBSCRIBE', ...some(r(3), () => [pick(r, CHANNELS)])],
  (r) => ['UNSUBSCRIBE', ...some(r(3), () => [pick(r, CHANNELS)])],
  (r) => ['PSUBSCRIBE', ...some(r(3), () => [pick(r, PATTERNS)])],
  (r) => ['PUNSUBSCRIBE', ...some(r(3), () => [pick(r, PATTERNS)])],
  (r) => ['PUBLISH', pick(r, CHANNELS), value(r)],
  (r) => ['PUBSUB', pick(r, ['NUMSUB', 'NUMPAT', 'CHANNELS']), ...some(r(2), () => [pick(r, CHANNELS)])],
  (r) => ['PING', ...some(r(3), () => [value(r)])],
  (r) => ['ECHO', value(r)],
  (r) => ['HELLO', ...(r(4) === 0 ? [] : [pick(r, ['2', '3', '3', '4', 'x', '-1'])]), ...some(r(2), () => pick(r, [['SETNAME', pick(r, ['n1', 'a b', ''])], ['AUTH', 'default', 'pw'], ['BAD']]))],
  (r) => ['RESET'],
  (r) => ['CLIENT', 'SETNAME', pick(r, ['n1', 'n2', 'a b', '', 'x\ny'])],
  (r) => ['CLIENT', 'GETNAME'],
  (r) => [pick(r, ['AUTH', 'AUTH']), ...some(1 + r(2), () => [pick(r, ['default', 'pw', 'user'])])],
  (r) => ['SELECT', String(r(3))],
  (r) => ['CLIENT', 'TRACKING', pick(r, ['on', 'off', 'ON', 'maybe']), ...some(r(3), () => pick(r, [['BCAST'], ['PREFIX', pick(r, ['k', 'k1', ''])], ['OPTIN'], ['OPTOUT'], ['NOLOOP'], ['REDIRECT', '0']]))],
  (r) => ['CLIENT', 'CACHING', pick(r, ['yes', 'no', 'maybe'])],
  (r) => ['CLIENT', pick(r, ['GETREDIR', 'TRACKINGINFO'])],
  (r) => [pick(r, ['GET', 'GET', 'MGET', 'EXISTS', 'STRLEN']), pick(r, ['k1', 'k2'])],
  (r) => [pick(r, ['SET', 'APPEND']), pick(r, ['k1', 'k2']), value(r)],
  (r) => ['DEL', pick(r, ['k1', 'k2'])],
  (r) => ['FLUSHDB'],
];

export function randomSessionCommand(r: Rand): string[] {
  return pick(r, SESSION)(r);
}

/** Pieces of inline arguments: escapes Redis's sdssplitargs knows and ones it does not. */
const INLINE_PIECES = ['a', 'b1', 'x y', '\\n', '\\x41', '\\xZZ', '\\x4', '\\\\', '\\"', "\\'", '\\t', '\\r', '\\b', '\\a', '\\q', '\t', '', ' ', '\u00e9', '\u00ff'];

/**
 * An inline request (one byte per character) whose arguments come back in the reply: ECHO's,
 * or all of them in the unknown-command error. Quoted, single-quoted, unbalanced and wrongly
 * closed arguments, separated by spaces and tabs, ended by CRLF or LF.
 */
export function randomInlineLine(r: Rand): string {
  const token = (): string => {
    const body = some(r(4), () => [pick(r, INLINE_PIECES)]).join('');
    switch (r(6)) {
      case 0: return `"${body}"`;
      case 1: return `'${body}'`;
      case 2: return `"${body}`;
      case 3: return `"${body}"x`;
      default: return body.replace(/[ \t]/g, '') || 'w';
    }
  };
  const sep = () => pick(r, [' ', '  ', '\t', ' \t ']);
  return pick(r, ['NOSUCH', 'ECHO', 'nosuch']) + sep() + some(r(4), () => [token()]).join(sep()) + pick(r, ['\r\n', '\n']);
}

const PS_CHANNELS = ['c1', 'c2', 'news.a', 'news.b'];
const PS_PATTERNS = ['c*', 'news.*', 'c[12]', '*'];

/**
 * Pub/sub between connections: (un)subscriptions, publishes to others, the PUBSUB counts; shard
 * channels of the same names as the channels, which must stay apart from them.
 */
const PUBSUB: ((r: Rand) => string[])[] = [
  (r) => ['SUBSCRIBE', ...some(1 + r(2), () => [pick(r, PS_CHANNELS)])],
  (r) => ['UNSUBSCRIBE', ...some(r(2), () => [pick(r, PS_CHANNELS)])],
  (r) => ['PSUBSCRIBE', ...some(1 + r(2), () => [pick(r, PS_PATTERNS)])],
  (r) => ['PUNSUBSCRIBE', ...some(r(2), () => [pick(r, PS_PATTERNS)])],
  (r) => ['PUBLISH', pick(r, PS_CHANNELS), `m${r(100)}`],
  (r) => ['PUBLISH', pick(r, PS_CHANNELS), `m${r(100)}`],
  (r) => ['PUBSUB', 'NUMSUB', ...some(r(3), () => [pick(r, PS_CHANNELS)])],
  (r) => ['PUBSUB', 'NUMPAT'],
  (r) => ['PUBSUB', 'CHANNELS', pick(r, ['c1', 'news.a', 'x*'])],
  (r) => ['SSUBSCRIBE', ...some(1 + r(2), () => [pick(r, PS_CHANNELS)])],
  (r) => ['SUNSUBSCRIBE', ...some(r(2), () => [pick(r, PS_CHANNELS)])],
  (r) => ['SPUBLISH', pick(r, PS_CHANNELS), `s${r(100)}`],
  (r) => ['SPUBLISH', pick(r, PS_CHANNELS), `s${r(100)}`],
  (r) => ['PUBSUB', 'SHARDNUMSUB', ...some(r(3), () => [pick(r, PS_CHANNELS)])],
  (r) => ['PUBSUB', 'SHARDCHANNELS', pick(r, ['c1', 'news.b', 'x*'])],
  (r) => ['HELLO', pick(r, ['2', '3'])],
  (r) => ['RESET'],
];

export function randomPubsubCommand(r: Rand): string[] {
  return pick(r, PUBSUB)(r);
}

const TRACKED = ['k1', 'k2', 'p:1', 'p:2', 'q'];
/** In a tracking step's argv, the id of the connection that takes redirected invalidations. */
export const REDIRECT_ID = '$R';

/**
 * Client-side caching over three connections: 0 tracks (any mode, maybe redirected to 1, which
 * listens on __redis__:invalidate) and reads; 2 writes. Returns the connection and the request.
 */
const TRACKING: ((r: Rand) => [number, string[]])[] = [
  (r) => [0, ['CLIENT', 'TRACKING', pick(r, ['on', 'on', 'off']), ...(r(2) ? ['REDIRECT', REDIRECT_ID] : []), ...(r(3) === 0 ? ['BCAST', ...(r(2) ? ['PREFIX', pick(r, ['p:', 'k', 'x'])] : [])] : []), ...(r(4) === 0 ? [pick(r, ['OPTIN', 'OPTOUT'])] : []), ...(r(4) === 0 ? ['NOLOOP'] : [])]],
  (r) => [0, ['GET', pick(r, TRACKED)]],
  (r) => [0, ['MGET', pick(r, TRACKED), pick(r, TRACKED)]],
  (r) => [0, ['CLIENT', 'CACHING', pick(r, ['yes', 'no'])]],
  (r) => [0, ['SET', pick(r, TRACKED), 'v']],
  (r) => [0, ['HELLO', pick(r, ['2', '3'])]],
  (r) => [0, ['CLIENT', pick(r, ['GETREDIR', 'TRACKINGINFO'])]],
  (r) => [2, ['SET', pick(r, TRACKED), 'w']],
  (r) => [2, ['DEL', pick(r, TRACKED)]],
  (r) => [2, ['MSET', pick(r, TRACKED), '1', pick(r, TRACKED), '2']],
  (r) => [2, ['EXPIRE', pick(r, TRACKED), '1000']],
  (r) => [2, ['RENAME', pick(r, TRACKED), pick(r, TRACKED)]],
  (r) => [2, ['INCR', pick(r, TRACKED)]],
  (r) => [2, (r(4) === 0 ? ['FLUSHDB'] : ['PERSIST', pick(r, TRACKED)])],
];

export function randomTrackingStep(r: Rand): [number, string[]] {
  return pick(r, TRACKING)(r);
}
