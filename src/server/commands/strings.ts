/**
 * String commands.
 */
import { Buffer } from 'node:buffer';
import { ErrorCode, ShardcacheError } from '../../errors.ts';
import type { SetOptions } from '../../store/store.ts';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { notify } from '../notify.ts';
import { clampToSafe, expireAtArg, int64Arg, intArg, negatedDecrement, replyError, syntaxError, word } from './args.ts';
import { ALL_KEYS, cmd, KEY1 } from './types.ts';
import type { CommandSpec } from './types.ts';


// GET key
function get(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (!c.store.getInto(argv[1]!, c.out)) c.out.nil();
}

/** SET's and GETEX's options, as parsed by parseExpiryOptions. */
interface ExpiryOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  persist: boolean;
  /** The expiry option given last and its argument, read by expiryAt(). */
  unit: (typeof EXPIRY_WORDS)[number] | null;
  value: Buffer | null;
}

const EXPIRY_WORDS = ['ex', 'px', 'exat', 'pxat'] as const;

/**
 * SET's and GETEX's options from argv[from], with Redis's rules (t_string.c
 * parseExtendedStringArgumentsOrReply): the expiry options exclude one another and KEEPTTL or
 * PERSIST, but repeating the same one is allowed and the last wins; only the last expiry value
 * is read, by expiryAt().
 */
function parseExpiryOptions(argv: Buffer[], from: number, command: 'set' | 'getex'): ExpiryOptions {
  const o: ExpiryOptions = { nx: false, xx: false, get: false, keepTtl: false, persist: false, unit: null, value: null };
  const isSet = command === 'set';
  for (let i = from; i < argv.length; i++) {
    const w = word(argv[i]!);
    const hasNext = i + 1 < argv.length;
    const expiryWord = EXPIRY_WORDS.find((e) => e === w);
    if (isSet && w === 'nx' && !o.xx) o.nx = true;
    else if (isSet && w === 'xx' && !o.nx) o.xx = true;
    else if (isSet && w === 'get') o.get = true;
    else if (isSet && w === 'keepttl' && o.unit === null) o.keepTtl = true;
    else if (!isSet && w === 'persist' && o.unit === null) o.persist = true;
    else if (expiryWord !== undefined && !o.keepTtl && !o.persist && (o.unit === null || o.unit === expiryWord) && hasNext) {
      o.unit = expiryWord;
      o.value = argv[++i]!;
    } else throw syntaxError();
  }
  return o;
}

/** The absolute Unix ms of the options' expiry (getExpireMillisecondsOrReply), if one was given. */
function expiryAt(o: ExpiryOptions, command: 'set' | 'getex', now: number): number | undefined {
  if (o.unit === null) return undefined;
  const seconds = o.unit === 'ex' || o.unit === 'exat';
  const relative = o.unit === 'ex' || o.unit === 'px';
  return expireAtArg(o.value!, seconds ? 1000 : 1, relative ? now : 0, command, true);
}

// SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]
function set(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let opts: SetOptions | undefined;
  if (argv.length > 3) {
    const o = parseExpiryOptions(argv, 3, 'set');
    opts = { nx: o.nx, xx: o.xx, get: o.get, keepTtl: o.keepTtl, pxat: expiryAt(o, 'set', c.store.now()) };
  }
  const r = c.store.set(argv[1]!, argv[2]!, opts);
  if (opts?.get) c.out.bulk(r as Buffer | null);
  else if (r === false) c.out.nil();
  else c.out.ok();
  // With GET the reply is the old value: NX wrote only if there was none, XX only if there was.
  const written = opts?.get ? !((opts.nx && r !== null) || (opts.xx && r === null)) : r !== false;
  if (written) notifySet(ctx, c, argv[1]!, opts?.pxat !== undefined);
}

/** A write's events as Redis sends them (t_string.c setGenericCommand): 'set', then 'expire' if it set a TTL. */
function notifySet(ctx: WorkerContext, c: Client, key: Buffer, expires: boolean): void {
  notify(ctx, c, '$', 'set', key);
  if (expires) notify(ctx, c, 'g', 'expire', key);
}

// SETNX key value
function setnx(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const ok = c.store.set(argv[1]!, argv[2]!, { nx: true }) === true;
  c.out.int(ok ? 1 : 0);
  if (ok) notify(ctx, c, '$', 'set', argv[1]!);
}

// SETEX key seconds value
function setex(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.store.set(argv[1]!, argv[3]!, { pxat: expireAtArg(argv[2]!, 1000, c.store.now(), 'setex', true) });
  c.out.ok();
  notifySet(ctx, c, argv[1]!, true);
}

// PSETEX key milliseconds value
function psetex(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.store.set(argv[1]!, argv[3]!, { pxat: expireAtArg(argv[2]!, 1, c.store.now(), 'psetex', true) });
  c.out.ok();
  notifySet(ctx, c, argv[1]!, true);
}

// GETSET key value
function getset(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.bulk(c.store.set(argv[1]!, argv[2]!, { get: true }) as Buffer | null);
  notify(ctx, c, '$', 'set', argv[1]!);
}

// GETDEL key
function getdel(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const v = c.store.getDel(argv[1]!);
  c.out.bulk(v);
  if (v !== null) notify(ctx, c, 'g', 'del', argv[1]!);
}

// GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]
function getex(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const o = parseExpiryOptions(argv, 2, 'getex');
  let pxat: number | undefined;
  try {
    pxat = expiryAt(o, 'getex', c.store.now());
  } catch (e) {
    // Redis (t_string.c getexCommand) looks the key up before it reads the expiry: a missing
    // key answers nil even when the number is bad.
    if (c.store.exists(argv[1]!) === 0) return c.out.nil();
    throw e;
  }
  const opts = { persist: o.persist, pxat };
  c.out.bulk(c.store.getEx(argv[1]!, opts));
  // Redis sends 'persist' only when a TTL was removed, and 'del' for an expiry already past.
  const effect = c.store.getExEffect;
  if (effect !== null) notify(ctx, c, 'g', effect, argv[1]!);
}

// MGET key [key ...]
function mget(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const store = c.store;
  const hashes = new Uint32Array(argv.length - 1);
  const locked = store.lockKeys(argv, 1, 1, true, hashes);
  try {
    c.out.array(argv.length - 1);
    for (let i = 1; i < argv.length; i++) if (!store.getIntoHashed(argv[i]!, hashes[i - 1]!, c.out)) c.out.nil();
  } finally {
    store.unlockShards(locked);
  }
}

function msetGeneric(ctx: WorkerContext, c: Client, argv: Buffer[], nx: boolean): boolean {
  if (argv.length % 2 !== 1) throw replyError(`ERR wrong number of arguments for '${nx ? 'msetnx' : 'mset'}' command`);
  const store = c.store;
  const keys: Buffer[] = [];
  for (let i = 1; i < argv.length; i += 2) keys.push(argv[i]!);
  const hashes = new Uint32Array(keys.length);
  const locked = store.lockKeys(argv, 1, 2, false, hashes);
  try {
    // MSETNX stops at the first key that exists, as Redis does: the keys after it are not looked up.
    if (nx && keys.some((k, j) => store.existsHashed(k, hashes[j]!, 0, k.length) > 0)) return false;
    for (let j = 0; j < keys.length; j++) {
      store.hint(keys[j]!, hashes[j]!);
      store.set(keys[j]!, argv[2 + 2 * j]!);
    }
  } finally {
    store.unlockShards(locked);
  }
  // MSETNX looked every key up before its first write: keys found expired then go first.
  if (nx) ctx.flushDrops();
  for (const k of keys) notify(ctx, c, '$', 'set', k);
  return true;
}

// MSET key value [key value ...]
function mset(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  msetGeneric(ctx, c, argv, false);
  c.out.ok();
}

// MSETNX key value [key value ...]
function msetnx(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(msetGeneric(ctx, c, argv, true) ? 1 : 0);
}

// APPEND key value
function append(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(c.store.append(argv[1]!, argv[2]!, ctx.maxBulk));
  notify(ctx, c, '$', 'append', argv[1]!);
}

// STRLEN key
function strlen(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(c.store.strlen(argv[1]!));
}

// GETRANGE key start end  (SUBSTR is the old name)
function getrange(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const start = int64Arg(argv[2]!);
  const end = int64Arg(argv[3]!);
  // Redis answers an empty range from both indices, before the lookup (t_string.c
  // getrangeCommand); past ±2^53 only the exact values tell start > end.
  if (start < 0 && end < 0 && start > end) return c.out.bulk(Buffer.alloc(0));
  c.out.bulk(c.store.getRange(argv[1]!, clampToSafe(start), clampToSafe(end)));
}

// SETRANGE key offset value
function setrange(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const off = int64Arg(argv[2]!);
  if (off < 0) throw new ShardcacheError(ErrorCode.OFFSET_RANGE);
  // The store answers an empty value with the current length before it checks the size, as
  // Redis does; an offset past 2^53 is past any size it allows.
  const n = c.store.setRange(argv[1]!, typeof off === 'bigint' ? Number.MAX_SAFE_INTEGER : off, argv[3]!, ctx.maxBulk);
  c.out.int(n);
  if (argv[3]!.length > 0) notify(ctx, c, '$', 'setrange', argv[1]!);
}

/** INCR, DECR, INCRBY, DECRBY: Redis's incrDecrCommand signals 'incrby' for all four. */
function incrGeneric(ctx: WorkerContext, c: Client, key: Buffer, delta: number | bigint): void {
  c.out.int(c.store.incrBy(key, delta));
  notify(ctx, c, '$', 'incrby', key);
}

// INCR key
function incr(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  incrGeneric(ctx, c, argv[1]!, 1);
}
// DECR key
function decr(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  incrGeneric(ctx, c, argv[1]!, -1);
}
// INCRBY key increment
function incrby(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  incrGeneric(ctx, c, argv[1]!, int64Arg(argv[2]!));
}
// DECRBY key decrement
function decrby(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  incrGeneric(ctx, c, argv[1]!, negatedDecrement(int64Arg(argv[2]!)));
}

// INCRBYFLOAT key increment
function incrbyfloat(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.bulkStr(c.store.incrByFloat(argv[1]!, argv[2]!.toString('latin1')));
  notify(ctx, c, '$', 'incrbyfloat', argv[1]!);
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
function lcs(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  // Redis reads both keys before it parses the options (so a key found expired goes even when
  // the options are wrong).
  const a = c.store.get(argv[1]!) ?? Buffer.alloc(0);
  const b = c.store.get(argv[2]!) ?? Buffer.alloc(0);
  let getLen = false;
  let getIdx = false;
  let withLen = false;
  let minLen = 0;
  for (let i = 3; i < argv.length; i++) {
    const o = word(argv[i]!);
    if (o === 'len') getLen = true;
    else if (o === 'idx') getIdx = true;
    else if (o === 'withmatchlen') withLen = true;
    else if (o === 'minmatchlen' && i + 1 < argv.length) {
      minLen = intArg(argv[++i]!);
      if (minLen < 0) minLen = 0;
    } else throw syntaxError();
  }
  if (getLen && getIdx) throw replyError('ERR If you want both the length and indexes, please just use IDX.');
  if ((a.length + 1) * (b.length + 1) * 4 > ctx.maxBulk) throw replyError('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  const w = b.length + 1;
  const dp = new Uint32Array((a.length + 1) * w);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i * w + j] = a[i - 1] === b[j - 1] ? dp[(i - 1) * w + j - 1]! + 1 : Math.max(dp[(i - 1) * w + j]!, dp[i * w + j - 1]!);
    }
  }
  const total = dp[a.length * w + b.length]!;
  if (getLen) return c.out.int(total);
  // Walk back from the end, collecting the LCS and its matching ranges (Redis's order: last first).
  const out = Buffer.alloc(total);
  let idx = total;
  let i = a.length;
  let j = b.length;
  const matches: [number, number, number, number][] = [];
  let aEnd = -1;
  let bEnd = -1;
  let run = 0;
  const close = () => {
    if (run > 0 && run >= minLen) matches.push([aEnd - run + 1, aEnd, bEnd - run + 1, bEnd]);
    run = 0;
  };
  while (i > 0 && j > 0) {
    if (a[i - 1] === b[j - 1]) {
      out[--idx] = a[i - 1]!;
      if (run > 0 && aEnd - run === i - 1 && bEnd - run === j - 1) run++;
      else {
        close();
        aEnd = i - 1;
        bEnd = j - 1;
        run = 1;
      }
      i--;
      j--;
    } else if (dp[(i - 1) * w + j]! > dp[i * w + j - 1]!) i--;
    else j--;
  }
  close();
  if (!getIdx) return c.out.bulk(out);
  c.out.map(2);
  c.out.bulkStr('matches');
  c.out.array(matches.length);
  for (const [as, ae, bs, be] of matches) {
    c.out.array(withLen ? 3 : 2);
    c.out.array(2);
    c.out.int(as);
    c.out.int(ae);
    c.out.array(2);
    c.out.int(bs);
    c.out.int(be);
    if (withLen) c.out.int(ae - as + 1);
  }
  c.out.bulkStr('len');
  c.out.int(total);
}

const W = ['write', 'denyoom'] as const;
export const STRING_COMMANDS: readonly CommandSpec[] = [
  cmd('get', 2, ['readonly', 'fast'], KEY1, 'string', '1.0.0', 'Returns the string value of a key.', get, { syntax: 'GET key', complexity: 'O(1)' }),
  cmd('set', -3, [...W], KEY1, 'string', '1.0.0', 'Sets the string value of a key, ignoring its type. The key is created if it doesn\'t exist.', set, { syntax: 'SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]', complexity: 'O(1)' }),
  cmd('setnx', 3, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Set the string value of a key only when the key doesn\'t exist.', setnx, { syntax: 'SETNX key value' }),
  cmd('setex', 4, [...W], KEY1, 'string', '2.0.0', 'Sets the string value and expiration time of a key. Creates the key if it doesn\'t exist.', setex, { syntax: 'SETEX key seconds value' }),
  cmd('psetex', 4, [...W], KEY1, 'string', '2.6.0', 'Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn\'t exist.', psetex, { syntax: 'PSETEX key milliseconds value' }),
  cmd('getset', 3, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Returns the previous string value of a key after setting it to a new value.', getset, { syntax: 'GETSET key value' }),
  cmd('getdel', 2, ['write', 'fast'], KEY1, 'string', '6.2.0', 'Returns the string value of a key after deleting the key.', getdel, { syntax: 'GETDEL key' }),
  cmd('getex', -2, ['write', 'fast'], KEY1, 'string', '6.2.0', 'Returns the string value of a key after setting its expiration time.', getex, { syntax: 'GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]' }),
  cmd('mget', -2, ['readonly', 'fast'], ALL_KEYS, 'string', '1.0.0', 'Atomically returns the string values of one or more keys.', mget, { syntax: 'MGET key [key ...]' }),
  cmd('mset', -3, [...W], [1, -1, 2], 'string', '1.0.1', 'Atomically creates or modifies the string values of one or more keys.', mset, { syntax: 'MSET key value [key value ...]' }),
  cmd('msetnx', -3, [...W], [1, -1, 2], 'string', '1.0.1', 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.', msetnx, { syntax: 'MSETNX key value [key value ...]' }),
  cmd('append', 3, [...W, 'fast'], KEY1, 'string', '2.0.0', 'Appends a string to the value of a key. Creates the key if it doesn\'t exist.', append, { syntax: 'APPEND key value' }),
  cmd('strlen', 2, ['readonly', 'fast'], KEY1, 'string', '2.2.0', 'Returns the length of a string value.', strlen, { syntax: 'STRLEN key' }),
  cmd('getrange', 4, ['readonly'], KEY1, 'string', '2.4.0', 'Returns a substring of the string stored at a key.', getrange, { syntax: 'GETRANGE key start end' }),
  cmd('substr', 4, ['readonly'], KEY1, 'string', '1.0.0', 'Returns a substring from a string value.', getrange, { syntax: 'SUBSTR key start end' }),
  cmd('setrange', 4, [...W], KEY1, 'string', '2.2.0', 'Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist.', setrange, { syntax: 'SETRANGE key offset value' }),
  cmd('incr', 2, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', incr, { syntax: 'INCR key' }),
  cmd('decr', 2, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.', decr, { syntax: 'DECR key' }),
  cmd('incrby', 3, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', incrby, { syntax: 'INCRBY key increment' }),
  cmd('decrby', 3, [...W, 'fast'], KEY1, 'string', '1.0.0', 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist.', decrby, { syntax: 'DECRBY key decrement' }),
  cmd('incrbyfloat', 3, [...W, 'fast'], KEY1, 'string', '2.6.0', 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.', incrbyfloat, { syntax: 'INCRBYFLOAT key increment' }),
  cmd('lcs', -3, ['readonly'], [1, 2, 1], 'string', '7.0.0', 'Finds the longest common substring.', lcs, { syntax: 'LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]' }),
];

