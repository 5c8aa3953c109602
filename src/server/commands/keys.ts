/**
 * Generic key commands.
 */
import { globMatch, globMatchAt } from '../../protocol/glob.ts';
import { ReplyWriter } from '../../protocol/resp-writer.ts';
import { roundToSeconds } from '../../store/store.ts';
import type { ExpireCondition } from '../../store/store.ts';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { notify } from '../notify.ts';
import { decodeDump, verifyDump } from '../../store/dump.ts';
import { cstr, expireAtArg, help, int32Arg, int64Arg, int64Reply, replyError, syntaxError, word } from './args.ts';
import { ALL_KEYS, cmd, HELP_SUMMARY, LS, KEY1, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// DEL key [key ...]   (UNLINK is the same here: freeing a chunk is O(1))
function del(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const keys = argv.slice(1);
  const n = c.store.delEach(keys, (i, deleted) => {
    // A key found expired gets its 'expired' event here, in key order, as in Redis.
    if (ctx.dropped.length !== 0) ctx.flushDrops();
    if (deleted) notify(ctx, c, 'g', 'del', keys[i]!);
  });
  c.out.int(n);
}

// EXISTS key [key ...]
function exists(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(c.store.exists(...argv.slice(1)));
}

// TOUCH key [key ...]
function touch(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(c.store.touch(...argv.slice(1)));
}

function expireGeneric(ctx: WorkerContext, c: Client, argv: Buffer[], unit: 1 | 1000, absolute: boolean, name: string): void {
  let nx = false, xx = false, gt = false, lt = false;
  for (let i = 3; i < argv.length; i++) {
    const o = word(argv[i]!);
    if (o === 'nx') nx = true;
    else if (o === 'xx') xx = true;
    else if (o === 'gt') gt = true;
    else if (o === 'lt') lt = true;
    else throw replyError(`ERR Unsupported option ${cstr(argv[i]!)}`);
  }
  if (nx && (xx || gt || lt)) throw replyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (gt && lt) throw replyError('ERR GT and LT options at the same time are not compatible');
  const cond: ExpireCondition[] = [];
  if (nx) cond.push('NX');
  if (xx) cond.push('XX');
  if (gt) cond.push('GT');
  if (lt) cond.push('LT');
  const at = expireAtArg(argv[2]!, unit, absolute ? 0 : c.store.now(), name, false);
  const ok = c.store.pexpireAt(argv[1]!, at, cond);
  c.out.int(ok ? 1 : 0);
  if (ok) notify(ctx, c, 'g', at <= c.store.now() ? 'del' : 'expire', argv[1]!);
}

// EXPIRE key seconds [NX|XX|GT|LT]
const expire = (ctx: WorkerContext, c: Client, argv: Buffer[]) => expireGeneric(ctx, c, argv, 1000, false, 'expire');
// PEXPIRE key milliseconds [NX|XX|GT|LT]
const pexpire = (ctx: WorkerContext, c: Client, argv: Buffer[]) => expireGeneric(ctx, c, argv, 1, false, 'pexpire');
// EXPIREAT key unix-time-seconds [NX|XX|GT|LT]
const expireat = (ctx: WorkerContext, c: Client, argv: Buffer[]) => expireGeneric(ctx, c, argv, 1000, true, 'expireat');
// PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]
const pexpireat = (ctx: WorkerContext, c: Client, argv: Buffer[]) => expireGeneric(ctx, c, argv, 1, true, 'pexpireat');

// EXPIRETIME key
function expiretime(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const t = c.store.pexpireTime(argv[1]!);
  // Rounded to the nearest second, as Redis rounds it (ttlGenericCommand's (ms + 500) / 1000).
  c.out.int(int64Reply(roundToSeconds(t)));
}
// PEXPIRETIME key
function pexpiretime(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(int64Reply(c.store.pexpireTime(argv[1]!)));
}
// TTL key
function ttl(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(int64Reply(c.store.ttl(argv[1]!)));
}
// PTTL key
function pttl(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(int64Reply(c.store.pttl(argv[1]!)));
}
// PERSIST key
function persist(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const ok = c.store.persist(argv[1]!);
  c.out.int(ok ? 1 : 0);
  if (ok) notify(ctx, c, 'g', 'persist', argv[1]!);
}
// TYPE key
function type(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.simple(c.store.exists(argv[1]!) === 1 ? 'string' : 'none');
}

// RENAME key newkey
function rename(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.store.rename(argv[1]!, argv[2]!);
  c.out.ok();
  // A key renamed to itself is left alone, and Redis sends no events for it.
  if (argv[1]!.equals(argv[2]!)) return;
  ctx.flushDrops();
  notify(ctx, c, 'g', 'rename_from', argv[1]!);
  notify(ctx, c, 'g', 'rename_to', argv[2]!);
}
// RENAMENX key newkey
function renamenx(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const ok = c.store.rename(argv[1]!, argv[2]!, true);
  c.out.int(ok ? 1 : 0);
  if (ok) {
    ctx.flushDrops();
    notify(ctx, c, 'g', 'rename_from', argv[1]!);
    notify(ctx, c, 'g', 'rename_to', argv[2]!);
  }
}

// COPY source destination [DB destination-db] [REPLACE]
function copy(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let replace = false;
  let db = c.db;
  for (let i = 3; i < argv.length; i++) {
    const o = word(argv[i]!);
    if (o === 'replace') replace = true;
    else if (o === 'db' && i + 1 < argv.length) {
      db = int32Arg(argv[++i]!);
      if (db < 0 || db >= ctx.databases) throw replyError('ERR DB index is out of range');
    } else throw syntaxError();
  }
  const ok = c.store.copy(argv[1]!, argv[2]!, replace, db);
  c.out.int(ok ? 1 : 0);
  if (ok) notify(ctx, c, 'g', 'copy_to', argv[2]!, db);
}

// MOVE key db
function move(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const db = int32Arg(argv[2]!);
  if (db < 0 || db >= ctx.databases) throw replyError('ERR DB index is out of range');
  const ok = c.store.move(argv[1]!, db);
  c.out.int(ok ? 1 : 0);
  if (ok) {
    ctx.flushDrops();
    notify(ctx, c, 'g', 'move_from', argv[1]!);
    notify(ctx, c, 'g', 'move_to', argv[1]!, db);
  }
}

// DUMP key
function dump(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.bulk(c.store.dump(argv[1]!));
}

/** LLONG_MAX, where Redis's millisecond sums wrap. */
const INT64_MAX = 2n ** 63n - 1n;

// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
function restore(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let replace = false;
  let absttl = false;
  let idle: number | null = null;
  let freq: number | null = null;
  // Redis's order of checks (cluster.c restoreCommand): options, an existing key, the TTL, the
  // payload's footer, then its contents.
  for (let i = 4; i < argv.length; i++) {
    const o = word(argv[i]!);
    const more = i + 1 < argv.length;
    if (o === 'replace') replace = true;
    else if (o === 'absttl') absttl = true;
    else if (o === 'idletime' && more && freq === null) {
      idle = Number(int64Arg(argv[++i]!));
      if (idle < 0) throw replyError('ERR Invalid IDLETIME value, must be >= 0');
    } else if (o === 'freq' && more && idle === null) {
      freq = Number(int64Arg(argv[++i]!));
      if (freq < 0 || freq > 255) throw replyError('ERR Invalid FREQ value, must be >= 0 and <= 255');
    } else throw syntaxError();
  }
  if (!replace && c.store.exists(argv[1]!) > 0) throw replyError('BUSYKEY Target key name already exists.');
  const ttlArg = int64Arg(argv[2]!);
  const ttl = Number(ttlArg);
  if (ttl < 0) throw replyError('ERR Invalid TTL value, must be >= 0');
  if (!verifyDump(argv[3]!)) throw replyError('ERR DUMP payload version or checksum are wrong');
  const value = decodeDump(argv[3]!);
  if (value === 'format') throw replyError('ERR Bad data format');
  const now = c.store.now();
  // A relative TTL that takes the time past 2^63 - 1 wraps negative in Redis (a long long sum),
  // so the key counts as already expired there: 1 ms past the epoch does the same here.
  const wraps = !absttl && BigInt(ttlArg) + BigInt(Math.floor(now)) > INT64_MAX;
  const expireAt = ttl === 0 ? 0 : absttl ? ttl : wraps ? 1 : now + ttl;
  const done = c.store.restore(argv[1]!, value, expireAt, replace, idle, freq);
  if (done === 'busy') throw replyError('BUSYKEY Target key name already exists.');
  c.out.ok();
  if (done === 'deleted') notify(ctx, c, 'g', 'del', argv[1]!);
  else if (done === 'restored') notify(ctx, c, 'g', 'restore', argv[1]!);
}

/** A key filter for a glob pattern; none for no pattern or "*". */
function matcher(pattern: Buffer | null): ((k: Buffer) => boolean) | undefined {
  if (pattern === null || (pattern.length === 1 && pattern[0] === 42)) return undefined;
  return (k) => globMatch(pattern, k);
}

// KEYS pattern
function keys(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const pattern = argv[1]!;
  const all = pattern.length === 1 && pattern[0] === 42;
  // The elements are written as the shards are walked; their count goes in front at the end.
  const keysBody = new ReplyWriter();
  let n = 0;
  c.store.forEachKey((arena, off, len) => {
    if (!all && !globMatchAt(pattern, arena, off, len)) return;
    keysBody.bulkFrom(arena, off, len);
    n++;
  });
  c.out.array(n);
  c.out.rawFrom(keysBody);
}

/**
 * A SCAN cursor read as Redis reads it, with strtoul: an optional sign (a negative one wraps
 * modulo 2^64) and decimal digits up to 2^64 - 1; anything else is 'invalid cursor'. Returns
 * null for a cursor too large for the store's cursors.
 */
function scanCursor(s: string): number | null {
  if (!/^[+-]?\d+$/.test(s)) throw replyError('ERR invalid cursor');
  let v = BigInt(s.replace(/^\+/, ''));
  if (v > 0xffffffffffffffffn || v < -0xffffffffffffffffn) throw replyError('ERR invalid cursor');
  if (v < 0n) v = (1n << 64n) + v;
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null;
}

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
function scan(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const cursor = scanCursor(argv[1]!.toString('latin1'));
  let count = 10;
  let match: Buffer | null = null;
  let typeFilter: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const o = word(argv[i]!);
    if (i + 1 >= argv.length) throw syntaxError();
    if (o === 'count') {
      const n = int64Arg(argv[++i]!);
      if (n < 1) throw syntaxError();
      count = typeof n === 'bigint' ? Number.MAX_SAFE_INTEGER : n;
    } else if (o === 'match') match = argv[++i]!;
    else if (o === 'type') typeFilter = word(argv[++i]!);
    else throw syntaxError();
  }
  // Only strings exist here: another TYPE matches nothing, and the scan is complete at once. A
  // cursor past any the store hands out (2^53 and up) has nothing left to visit either.
  const r = cursor !== null && (typeFilter === null || typeFilter === 'string') ? c.store.scan(cursor, count, matcher(match)) : { cursor: 0, keys: [] };
  c.out.array(2);
  c.out.bulkStr(String(r.cursor));
  c.out.array(r.keys.length);
  for (const k of r.keys) c.out.bulk(k);
}

// RANDOMKEY
function randomkey(_ctx: WorkerContext, c: Client): void {
  c.out.bulk(c.store.randomKey());
}
// DBSIZE
function dbsize(_ctx: WorkerContext, c: Client): void {
  c.out.int(c.store.dbsize());
}

function flushMode(argv: Buffer[]): void {
  if (argv.length > 2) throw syntaxError();
  if (argv.length === 2) {
    const o = word(argv[1]!);
    if (o !== 'async' && o !== 'sync') throw syntaxError();
  }
}
// FLUSHDB [ASYNC|SYNC]
function flushdb(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  flushMode(argv);
  c.store.flushDb();
  c.out.ok();
}
// FLUSHALL [ASYNC|SYNC]
function flushall(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  flushMode(argv);
  c.store.flush();
  c.out.ok();
}

// SWAPDB index1 index2
function swapdb(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const a = int32Arg(argv[1]!, 'ERR invalid first DB index');
  const b = int32Arg(argv[2]!, 'ERR invalid second DB index');
  if (a < 0 || a >= ctx.databases || b < 0 || b >= ctx.databases) throw replyError('ERR DB index is out of range');
  if (a !== b) c.store.swapDb(a, b);
  c.out.ok();
}

/** The key's introspection data, or null (the reply is then nil) for a missing key. */
function objectInfo(c: Client, argv: Buffer[]) {
  const info = c.store.objectInfo(argv[2]!);
  if (info === null) c.out.nil();
  return info;
}

// OBJECT ENCODING key
function objectEncoding(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const info = objectInfo(c, argv);
  if (info !== null) c.out.bulkStr(info.encoding);
}

/** Redis's OBJ_SHARED_INTEGERS and the refcount it reports for a shared object. */
const SHARED_INTEGERS = 10000;
const SHARED_REFCOUNT = 2147483647;

// OBJECT REFCOUNT key
function objectRefcount(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const info = objectInfo(c, argv);
  if (info === null) return;
  const shared = info.shareable && info.int !== null && info.int >= 0 && info.int < SHARED_INTEGERS;
  c.out.int(shared ? SHARED_REFCOUNT : 1);
}

// OBJECT FREQ key
function objectFreq(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const info = objectInfo(c, argv);
  if (info === null) return;
  if (info.freq === null) throw replyError('ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
  c.out.int(info.freq);
}

// OBJECT IDLETIME key
function objectIdletime(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const info = objectInfo(c, argv);
  if (info === null) return;
  if (info.idleSeconds === null) throw replyError('ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
  c.out.int(info.idleSeconds);
}

// OBJECT HELP
function objectHelp(_ctx: WorkerContext, c: Client): void {
  const lines = ['OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'ENCODING <key>', '    Return the kind of internal representation used in order to store the value', '    associated with a <key>.', 'FREQ <key>', '    Return the access frequency index of the <key>. The returned integer is', '    proportional to the logarithm of the recent access frequency of the key.', 'IDLETIME <key>', '    Return the idle time of the <key>, that is the approximated number of', '    seconds elapsed since the last access to the key.', 'REFCOUNT <key>', '    Return the number of references of the value associated with the specified', '    <key>.', 'HELP', '    Prints this help.'];
  help(c, lines);
}

const W = ['write'] as const;
export const KEY_COMMANDS: readonly CommandSpec[] = [
  cmd('dump', 2, ['readonly'], KEY1, 'generic', '2.6.0', 'Returns a serialized representation of the value stored at a key.', dump, { syntax: 'DUMP key', complexity: 'O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).' }),
  cmd('restore', -4, [...W, 'denyoom'], KEY1, 'generic', '2.6.0', 'Creates a key from the serialized representation of a value.', restore, { syntax: 'RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]', complexity: 'O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).' }),
  cmd('del', -2, [...W], ALL_KEYS, 'generic', '1.0.0', 'Deletes one or more keys.', del, { syntax: 'DEL key [key ...]' }),
  cmd('unlink', -2, [...W, 'fast'], ALL_KEYS, 'generic', '4.0.0', 'Asynchronously deletes one or more keys.', del, { syntax: 'UNLINK key [key ...]' }),
  cmd('exists', -2, ['readonly', 'fast'], ALL_KEYS, 'generic', '1.0.0', 'Determines whether one or more keys exist.', exists, { syntax: 'EXISTS key [key ...]' }),
  cmd('touch', -2, ['readonly', 'fast'], ALL_KEYS, 'generic', '3.2.1', 'Returns the number of existing keys out of those specified after updating the time they were last accessed.', touch, { syntax: 'TOUCH key [key ...]' }),
  cmd('expire', -3, [...W, 'fast'], KEY1, 'generic', '1.0.0', 'Sets the expiration time of a key in seconds.', expire, { syntax: 'EXPIRE key seconds [NX|XX|GT|LT]' }),
  cmd('pexpire', -3, [...W, 'fast'], KEY1, 'generic', '2.6.0', 'Sets the expiration time of a key in milliseconds.', pexpire, { syntax: 'PEXPIRE key milliseconds [NX|XX|GT|LT]' }),
  cmd('expireat', -3, [...W, 'fast'], KEY1, 'generic', '1.2.0', 'Sets the expiration time of a key to a Unix timestamp.', expireat, { syntax: 'EXPIREAT key unix-time-seconds [NX|XX|GT|LT]' }),
  cmd('pexpireat', -3, [...W, 'fast'], KEY1, 'generic', '2.6.0', 'Sets the expiration time of a key to a Unix milliseconds timestamp.', pexpireat, { syntax: 'PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]' }),
  cmd('expiretime', 2, ['readonly', 'fast'], KEY1, 'generic', '7.0.0', 'Returns the expiration time of a key as a Unix timestamp.', expiretime, { syntax: 'EXPIRETIME key' }),
  cmd('pexpiretime', 2, ['readonly', 'fast'], KEY1, 'generic', '7.0.0', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', pexpiretime, { syntax: 'PEXPIRETIME key' }),
  cmd('ttl', 2, ['readonly', 'fast'], KEY1, 'generic', '1.0.0', 'Returns the expiration time in seconds of a key.', ttl, { syntax: 'TTL key' }),
  cmd('pttl', 2, ['readonly', 'fast'], KEY1, 'generic', '2.6.0', 'Returns the expiration time in milliseconds of a key.', pttl, { syntax: 'PTTL key' }),
  cmd('persist', 2, [...W, 'fast'], KEY1, 'generic', '2.2.0', 'Removes the expiration time of a key.', persist, { syntax: 'PERSIST key' }),
  cmd('type', 2, ['readonly', 'fast'], KEY1, 'generic', '1.0.0', 'Determines the type of value stored at a key.', type, { syntax: 'TYPE key' }),
  cmd('rename', 3, [...W], [1, 2, 1], 'generic', '1.0.0', 'Renames a key and overwrites the destination.', rename, { syntax: 'RENAME key newkey' }),
  cmd('renamenx', 3, [...W, 'fast'], [1, 2, 1], 'generic', '1.0.0', 'Renames a key only when the target key name doesn\'t exist.', renamenx, { syntax: 'RENAMENX key newkey' }),
  cmd('copy', -3, [...W, 'denyoom'], [1, 2, 1], 'generic', '6.2.0', 'Copies the value of a key to a new key.', copy, { syntax: 'COPY source destination [DB destination-db] [REPLACE]' }),
  cmd('move', 3, [...W, 'fast'], KEY1, 'generic', '1.0.0', 'Moves a key to another database.', move, { syntax: 'MOVE key db' }),
  cmd('keys', 2, ['readonly'], NO_KEYS, 'generic', '1.0.0', 'Returns all key names that match a pattern.', keys, { syntax: 'KEYS pattern' }),
  cmd('scan', -2, ['readonly'], NO_KEYS, 'generic', '2.8.0', 'Iterates over the key names in the database.', scan, { syntax: 'SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]' }),
  cmd('randomkey', 1, ['readonly'], NO_KEYS, 'generic', '1.0.0', 'Returns a random key name from the database.', randomkey, { syntax: 'RANDOMKEY' }),
  cmd('dbsize', 1, ['readonly', 'fast'], NO_KEYS, 'server', '1.0.0', 'Returns the number of keys in the database.', dbsize, { syntax: 'DBSIZE' }),
  cmd('flushdb', -1, [...W], NO_KEYS, 'server', '1.0.0', 'Remove all keys from the current database.', flushdb, { syntax: 'FLUSHDB [ASYNC|SYNC]' }),
  cmd('flushall', -1, [...W], NO_KEYS, 'server', '1.0.0', 'Removes all keys from all databases.', flushall, { syntax: 'FLUSHALL [ASYNC|SYNC]' }),
  cmd('swapdb', 3, [...W, 'fast'], NO_KEYS, 'server', '4.0.0', 'Swaps two Redis databases.', swapdb, { syntax: 'SWAPDB index1 index2' }),
  cmd('object', -2, [], NO_KEYS, 'generic', '2.2.3', 'A container for object introspection commands.', undefined, {
    subcommands: [
      cmd('object|encoding', 3, ['readonly'], [2, 2, 1], 'generic', '2.2.3', 'Returns the internal encoding of a Redis object.', objectEncoding, { syntax: 'OBJECT ENCODING key' }),
      cmd('object|freq', 3, ['readonly'], [2, 2, 1], 'generic', '4.0.0', 'Returns the logarithmic access frequency counter of a Redis object.', objectFreq, { syntax: 'OBJECT FREQ key' }),
      cmd('object|idletime', 3, ['readonly'], [2, 2, 1], 'generic', '2.2.3', 'Returns the time since the last access to a Redis object.', objectIdletime, { syntax: 'OBJECT IDLETIME key' }),
      cmd('object|refcount', 3, ['readonly'], [2, 2, 1], 'generic', '2.2.3', 'Returns the reference count of a value of a key.', objectRefcount, { syntax: 'OBJECT REFCOUNT key' }),
      cmd('object|help', 2, [...LS], NO_KEYS, 'generic', '6.2.0', HELP_SUMMARY, objectHelp, { syntax: 'OBJECT HELP' }),
    ],
  }),
];
