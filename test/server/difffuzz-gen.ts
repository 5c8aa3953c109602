/**
 * The differential fuzzer's command mix (difffuzz.ts): string and key commands over eight keys
 * and a few odd ones, with option words in any letter case, edge integers, floats and expiries,
 * and arity mutations. Expiries are kept away from the present, so that no key expires mid-run
 * except those set in the past on purpose.
 */
import { Buffer } from 'node:buffer';
import { encodeDump } from '../../src/store/dump.ts';

/** A seeded generator (mulberry32). */
export interface Rng {
  f(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

export function rng(seed: number): Rng {
  let a = seed >>> 0;
  const f = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    f,
    int: (lo, hi) => lo + Math.floor(f() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(f() * xs.length)]!,
    chance: (p) => f() < p,
  };
}

export const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
const ODD_KEYS = ['', 'k\x00', 'K0', 'k0 ', 'nokey'];
export const ALL_KEYS = [...KEYS, ...ODD_KEYS];

const VALUES = [
  ...['', 'a', 'ab', 'abc', 'hello', 'world', 'ohmytext', 'mynewtext', 'abcbdab', 'bdcaba', 'xyzzy'],
  ...['0', '1', '-1', '2', '10', '42', '100', '9999', '10000', '-10000', '12345678', '007', '-0', '+1', ' 1', '1 '],
  ...['3.5', '-2.25', '0.1', '1e3', '1E3', '1.5e10', '.5', '5.', '0x10', 'inf', '-inf', 'nan', '1e400'],
  ...['9223372036854775807', '-9223372036854775808', '9223372036854775808', '-9223372036854775809'],
  ...['18446744073709551615', '99999999999999999999', '4611686018427387904', '123456789012345678901', '2147483647', '2147483648', '4294967296'],
  ...['x'.repeat(44), 'y'.repeat(45), 'z'.repeat(20), '12345678901234567890', '1234567890123456789', 'a\x00b', 'c\r\nd', '\xff\xfe', '  '],
];
const INTS = [
  ...['0', '1', '-1', '2', '3', '5', '7', '10', '-5', '100', '-100', '1000', '01', '+1', '-0', ' 1', '1 ', '', 'abc'],
  ...['1.0', '1.5', '1e2', '0x10', 'inf', '+inf', '-inf', 'nan', '9223372036854775807', '-9223372036854775808'],
  ...['9223372036854775808', '-9223372036854775809', '9223372036854775806', '-9223372036854775807'],
  ...['99999999999999999999999999', '4294967296', '2147483647', '2147483648', '-2147483648', '-2147483649', '00000000000000000000000000001', '1\x00', '\xff'],
];
const FLOATS = [
  ...['0', '1', '-1', '0.1', '0.2', '-0.1', '1.5', '3', '1e3', '1E-3', '-1e-20', '1e308', '-1e308', '1.7976931348623157e308'],
  ...['5e-324', '1e400', 'inf', '+inf', '-inf', 'nan', 'NaN', 'infinity', '0x10', ' 1', '1 ', '', '.5', '5.', '1e', 'abc'],
  ...['+0.5', '-0', '00.5', '1e+2', '10000000000000000000000', '123456789.123456789', '3.14159265358979323846', '9223372036854775807', '1_0'],
];

function randCase(r: Rng, s: string): string {
  if (!r.chance(0.15)) return s;
  return [...s].map((c) => (r.chance(0.5) ? c.toLowerCase() : c.toUpperCase())).join('');
}

export interface GenOptions {
  /** Command names left out of the mix, to look past a known difference. */
  exclude?: readonly string[];
  /** Weight multipliers by command name (e.g. watch: 8). */
  boost?: Readonly<Record<string, number>>;
  /** The clock absolute expiries are drawn around (default: now). */
  now?: number;
}

/** A seeded stream of commands: each call returns the next one's arguments. */
export function makeGen(seed: number, opts: GenOptions = {}): () => string[] {
  const r = rng(seed);
  const now = opts.now ?? Date.now();
  const key = () => (r.chance(0.03) ? r.pick(ODD_KEYS) : r.pick(KEYS));
  const val = () => (r.chance(0.7) ? r.pick(VALUES) : String(r.int(-20, 200)));
  const intArg = () => (r.chance(0.6) ? String(r.int(-10, 30)) : r.pick(INTS));
  const floatArg = () => (r.chance(0.3) ? (r.int(-300, 300) / 10).toString() : r.pick(FLOATS));
  const oneOf = (...fs: (() => string)[]) => r.pick(fs)();
  const relSec = () =>
    oneOf(
      () => String(r.int(100, 1_000_000)),
      () => r.pick(['0', '-1', '-100', '', 'abc', '1.5', '1e3', ' 100', '100 ', '+100', '0100']),
      () => r.pick(['9223372036854775807', '-9223372036854775808', '9223372036854775', '9223372036854776', '9223372036854775808', '92233720368547758', '9223372036854774', '-9223372036854775', '-9223372036854776', '4611686018427387', '99999999999999999999', '1000000000000', '17179869184']),
    );
  const relMs = () =>
    oneOf(
      () => String(r.int(100_000, 1_000_000_000)),
      () => r.pick(['0', '-1', '-100', '', 'abc', '1.5', '1e6']),
      () => r.pick(['9223372036854775807', '-9223372036854775808', '9223372036854775806', '9223372036854775808', '9223372036854000000', '-9223372036854775807', '4611686018427387904']),
    );
  const absSec = () =>
    oneOf(
      () => String(Math.floor(now / 1000) + r.int(1000, 1_000_000)),
      () => String(Math.floor(now / 1000) - r.int(10, 1000)),
      () => r.pick(['1', '0', '-1', '100', '', 'x', '9223372036854775807', '9223372036854775', '9223372036854776', '-9223372036854775808', '253402300799', '99999999999']),
    );
  const absMs = () =>
    oneOf(
      () => String(now + r.int(1_000_000, 1_000_000_000)),
      () => String(now - r.int(10_000, 1_000_000)),
      () => r.pick(['1', '0', '-1', '1000', '', 'x', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '253402300799999']),
    );
  const EXPIRY_ARG: Record<string, () => string> = { EX: relSec, PX: relMs, EXAT: absSec, PXAT: absMs };
  /** `n` option words from `words`, each expiry word with its argument (missing now and then). */
  const options = (counts: readonly number[], words: readonly string[]) => {
    const out: string[] = [];
    const n = r.pick(counts);
    for (let i = 0; i < n; i++) {
      const w = r.pick(words);
      out.push(randCase(r, w));
      const arg = EXPIRY_ARG[w];
      if (arg !== undefined && !r.chance(0.05)) out.push(arg());
    }
    return out;
  };
  const setOpts = () => options([0, 1, 1, 1, 2, 2, 3, 4], ['NX', 'XX', 'GET', 'EX', 'PX', 'EXAT', 'PXAT', 'KEEPTTL', 'EX', 'PX', 'GET', 'PERSIST', 'FOO']);
  const getexOpts = () => options([0, 0, 1, 1, 1, 2, 3], ['EX', 'PX', 'EXAT', 'PXAT', 'PERSIST', 'PERSIST', 'KEEPTTL', 'NX', 'GET']);
  const expOpts = () => options([0, 0, 0, 1, 1, 1, 2, 3], ['NX', 'XX', 'GT', 'LT', 'NX', 'XX', 'GT', 'LT', 'FOO', '']);
  /** A DUMP payload (as Redis writes it for these values), now and then damaged or not one at all. */
  const payload = () => {
    const p = encodeDump(Buffer.from(val(), 'latin1'));
    if (r.chance(0.05)) p[r.int(0, p.length - 1)]! ^= 1 << r.int(0, 7);
    if (r.chance(0.03)) return p.toString('latin1', 0, r.int(0, p.length - 1));
    return r.chance(0.02) ? r.pick(['', 'abc', '\x00']) : p.toString('latin1');
  };
  /** RESTORE's ttl, and whether it is absolute (ABSTTL): none mostly, else far from the present either way. */
  const restoreTtl = (): [string, boolean] => (r.chance(0.6) ? ['0', false] : r.chance(0.5) ? [relMs(), false] : [absMs(), true]);
  const restoreOpt = (w: string) => {
    const lw = w.toLowerCase();
    if (lw === 'idletime') return r.chance(0.9) ? [w, r.pick(['0', '10', '1000', '-1', 'x', '99999'])] : [w];
    if (lw === 'freq') return r.chance(0.9) ? [w, r.pick(['0', '5', '255', '256', '-1', 'x'])] : [w];
    return [w];
  };
  const dbArg = () => (r.chance(0.85) ? String(r.int(0, 3)) : r.pick(['15', '16', '-1', 'abc', '1.0', '', '2147483648', '9223372036854775807', '-2147483649', ' 1', '01']));
  const keysN = (lo: number, hi: number) => Array.from({ length: r.int(lo, hi) }, key);
  /**
   * A bit offset: within or just past the values mostly, else past the 512 MB bound or no integer.
   * Reads also get the last bit of that bound (a SETBIT there would build a 512 MB string).
   */
  const bitOffset = (read = false) =>
    r.chance(0.9) ? String(r.int(0, 400)) : r.pick(['-1', read ? '4294967295' : '4294967296', '4294967296', '9223372036854775807', '99999999999999999999', '', 'x', '1.0', '01', '+1', '#1']);
  /** A BITFIELD type: i1..i64 and u1..u63 mostly, else one out of range or malformed. */
  const fieldType = () =>
    r.chance(0.9) ? `${r.chance(0.9) ? r.pick(['i', 'u']) : r.pick(['I', 'U'])}${r.pick([1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 31, 32, 33, 53, 54, 62, 63, 64])}` : r.pick(['u64', 'i65', 'i0', 'x8', 'i', '', 'i-1', 'u08', 'i8\x00x']);
  /** A BITFIELD offset: small, #n, or out of range. */
  const fieldOffset = () =>
    r.chance(0.9) ? (r.chance(0.3) ? `#${r.int(0, 12)}` : String(r.int(0, 120))) : r.pick(['-1', '#-1', '4294967296', '#4294967296', '#2305843009213693953', 'x', '', '#']);
  /** BITFIELD's operations, read-only ones mostly for BITFIELD_RO. */
  const fieldOps = (ro: boolean) => {
    const out: string[] = [];
    const n = r.pick([0, 1, 1, 2, 2, 3, 4]);
    for (let i = 0; i < n; i++) {
      const op = ro && r.chance(0.85) ? 'GET' : r.pick(['GET', 'SET', 'INCRBY', 'INCRBY', 'OVERFLOW', 'FOO']);
      out.push(randCase(r, op));
      if (op === 'OVERFLOW') out.push(randCase(r, r.chance(0.9) ? r.pick(['WRAP', 'SAT', 'FAIL']) : r.pick(['NONE', ''])));
      else if (op !== 'FOO') {
        out.push(fieldType(), fieldOffset());
        if (op !== 'GET') out.push(r.chance(0.5) ? String(r.int(-300, 300)) : r.pick(INTS));
      }
    }
    return out;
  };
  /** BITCOUNT's / BITPOS's optional range: `upTo` bounds and then, with both, a unit now and then. */
  const bitRangeArgs = (upTo: number) => {
    const bound = () => (r.chance(0.85) ? String(r.int(-60, 60)) : r.pick(INTS));
    const n = r.pick([0, 0, 1, 2, 2, 3, upTo]);
    const out: string[] = [];
    for (let i = 0; i < Math.min(n, 2); i++) out.push(bound());
    if (n >= 3) out.push(randCase(r, r.chance(0.9) ? r.pick(['BYTE', 'BIT']) : r.pick(['BITS', '', 'byte '])));
    if (n > 3 || r.chance(0.02)) out.push(bound());
    return out;
  };
  const pairs = (name: string) => {
    const a = [name];
    const n = r.int(1, 3);
    for (let i = 0; i < n; i++) a.push(key(), val());
    if (r.chance(0.1)) a.pop();
    return a;
  };
  const withOptions = (head: string[], words: readonly string[], argOf: (w: string) => string | null) => {
    const a = [...head];
    const n = r.pick([0, 1, 1, 2, 3]);
    for (let i = 0; i < n; i++) {
      const w = r.pick(words);
      a.push(randCase(r, w));
      const arg = argOf(w);
      if (arg !== null) a.push(arg);
    }
    return a;
  };

  // [weight, name, generator]: the name is what --exclude and --boost match.
  const table: [number, string, () => string[]][] = [
    [6, 'get', () => ['GET', key()]],
    [10, 'set', () => ['SET', key(), val(), ...setOpts()]],
    [2, 'setnx', () => ['SETNX', key(), val()]],
    [2, 'setex', () => ['SETEX', key(), relSec(), val()]],
    [2, 'psetex', () => ['PSETEX', key(), relMs(), val()]],
    [2, 'getset', () => ['GETSET', key(), val()]],
    [2, 'getdel', () => ['GETDEL', key()]],
    [4, 'getex', () => ['GETEX', key(), ...getexOpts()]],
    [3, 'mget', () => ['MGET', ...keysN(1, 4)]],
    [2, 'mset', () => pairs('MSET')],
    [2, 'msetnx', () => pairs('MSETNX')],
    [3, 'append', () => ['APPEND', key(), r.chance(0.2) ? r.pick(['0', '1', '9', '-']) : val()]],
    [2, 'strlen', () => ['STRLEN', key()]],
    [3, 'getrange', () => [r.chance(0.7) ? 'GETRANGE' : 'SUBSTR', key(), intArg(), intArg()]],
    [3, 'setrange', () => ['SETRANGE', key(), r.chance(0.85) ? String(r.int(0, 50)) : r.pick(['-1', '536870912', '536870913', '9223372036854775807', '4294967296', 'abc', '', '1.0']), r.chance(0.15) ? '' : val()]],
    [3, 'incr', () => ['INCR', key()]],
    [3, 'decr', () => ['DECR', key()]],
    [3, 'incrby', () => ['INCRBY', key(), intArg()]],
    [3, 'decrby', () => ['DECRBY', key(), intArg()]],
    [4, 'incrbyfloat', () => ['INCRBYFLOAT', key(), floatArg()]],
    [3, 'lcs', () => withOptions(['LCS', key(), key()], ['LEN', 'IDX', 'MINMATCHLEN', 'WITHMATCHLEN', 'IDX', 'FOO'], (w) => (w !== 'MINMATCHLEN' ? null : r.chance(0.8) ? String(r.int(-1, 4)) : r.pick(['abc', '9223372036854775807', '-9223372036854775808', '1.5', ''])))],
    [3, 'del', () => ['DEL', ...keysN(1, 3)]],
    [1, 'unlink', () => ['UNLINK', ...keysN(1, 3)]],
    [3, 'exists', () => ['EXISTS', ...keysN(1, 4)]],
    [1, 'touch', () => ['TOUCH', ...keysN(1, 3)]],
    [3, 'expire', () => ['EXPIRE', key(), relSec(), ...expOpts()]],
    [3, 'pexpire', () => ['PEXPIRE', key(), relMs(), ...expOpts()]],
    [2, 'expireat', () => ['EXPIREAT', key(), absSec(), ...expOpts()]],
    [2, 'pexpireat', () => ['PEXPIREAT', key(), absMs(), ...expOpts()]],
    [2, 'expiretime', () => ['EXPIRETIME', key()]],
    [2, 'pexpiretime', () => ['PEXPIRETIME', key()]],
    [3, 'ttl', () => ['TTL', key()]],
    [3, 'pttl', () => ['PTTL', key()]],
    [2, 'persist', () => ['PERSIST', key()]],
    [2, 'type', () => ['TYPE', key()]],
    [2, 'rename', () => ['RENAME', key(), key()]],
    [2, 'renamenx', () => ['RENAMENX', key(), key()]],
    [3, 'copy', () => withOptions(['COPY', key(), key()], ['DB', 'REPLACE', 'DB', 'FOO'], (w) => (w === 'DB' && r.chance(0.95) ? dbArg() : null))],
    [2, 'move', () => ['MOVE', key(), dbArg()]],
    [1, 'dbsize', () => ['DBSIZE']],
    [2, 'select', () => ['SELECT', dbArg()]],
    [1, 'swapdb', () => ['SWAPDB', dbArg(), dbArg()]],
    [3, 'object', () => ['OBJECT', randCase(r, r.pick(['ENCODING', 'ENCODING', 'ENCODING', 'REFCOUNT', 'REFCOUNT', 'FOO'])), key()]],
    [1, 'keys', () => ['KEYS', r.pick(['*', 'k*', 'k[0-3]', '?1', 'k[^0]', 'x*', '*0*', 'k\\0', '[k]?'])]],
    [2, 'multi', () => ['MULTI']],
    [2, 'exec', () => ['EXEC']],
    [1, 'discard', () => ['DISCARD']],
    [1, 'watch', () => ['WATCH', ...keysN(1, 2)]],
    [1, 'unwatch', () => ['UNWATCH']],
    [1, 'unknown', () => [r.pick(['FOO', 'GETT', 'SETX', 'EXPIREX', 'OBJECTS', 'DELL', 'INCRBYFLOATS']), ...Array.from({ length: r.int(0, 3) }, val)]],
    [1, 'dump', () => ['DUMP', key()]],
    [2, 'restore', () => {
      const [ttl, abs] = restoreTtl();
      return ['RESTORE', key(), ttl, payload(), ...(abs ? [randCase(r, 'ABSTTL')] : []), ...options([0, 1, 1, 2, 3], ['REPLACE', 'REPLACE', 'IDLETIME', 'FREQ', 'FOO']).flatMap(restoreOpt)];
    }],
    [3, 'getbit', () => ['GETBIT', key(), bitOffset(true)]],
    [4, 'setbit', () => ['SETBIT', key(), bitOffset(), r.chance(0.9) ? r.pick(['0', '1']) : r.pick(['2', '-1', '', 'x', '01', '1.0', '+1', ' 1'])]],
    [3, 'bitcount', () => ['BITCOUNT', key(), ...bitRangeArgs(2)]],
    [3, 'bitpos', () => ['BITPOS', key(), r.chance(0.9) ? r.pick(['0', '1']) : r.pick(['2', '-1', '', 'x', '1.0']), ...bitRangeArgs(3)]],
    [2, 'bitop', () => {
      const op = randCase(r, r.chance(0.95) ? r.pick(['AND', 'OR', 'XOR', 'NOT']) : r.pick(['NAND', '', 'ANDx']));
      return ['BITOP', op, key(), ...keysN(op.toUpperCase() === 'NOT' && r.chance(0.9) ? 1 : 1, op.toUpperCase() === 'NOT' && r.chance(0.9) ? 1 : 3)];
    }],
    [3, 'bitfield', () => ['BITFIELD', key(), ...fieldOps(false)]],
    [2, 'bitfield_ro', () => ['BITFIELD_RO', key(), ...fieldOps(true)]],
    [1, 'ping', () => ['PING', ...(r.chance(0.5) ? [val()] : [])]],
    [1, 'echo', () => ['ECHO', val()]],
  ];
  const excluded = new Set((opts.exclude ?? []).map((x) => x.toLowerCase()));
  const rows = table.filter(([, name]) => !excluded.has(name)).map(([w, name, g]) => [w * (opts.boost?.[name] ?? 1), g] as const);
  const total = rows.reduce((s, [w]) => s + w, 0);

  return () => {
    let x = r.f() * total;
    let args: string[] | null = null;
    for (const [w, g] of rows) {
      x -= w;
      if (x < 0) {
        args = g();
        break;
      }
    }
    args ??= rows[0]![1]();
    // Arity mutations: drop or add an argument.
    if (r.chance(0.04) && args.length > 1) args = args.slice(0, r.int(1, args.length - 1));
    else if (r.chance(0.03)) args = [...args, r.pick([val(), key(), intArg()])];
    args[0] = randCase(r, args[0]!);
    return args;
  };
}
