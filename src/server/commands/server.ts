/**
 * Server commands: INFO, CONFIG, COMMAND, TIME, LASTSAVE, SLOWLOG, MONITOR, DEBUG, SHUTDOWN,
 * FUNCTION FLUSH. MEMORY and LATENCY are in diagnostics.ts.
 *
 * Per-worker state (the slow log, statistics totals) is merged or reset on
 * every worker with ctx.rpc; those handlers are asynchronous and flagged `gathers`, so EXEC runs
 * them after its atomic part (it cannot wait for another thread while it holds shard locks).
 */
import { performance } from 'node:perf_hooks';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { NIL_REF } from '../../../native-layout/shard.ts';
import { hash32 } from '../../store/hash.ts';
import { SLOT_CHANNEL } from '../../../native-layout/server.ts';
import { slotHashes } from '../shared-state.ts';
import type { Client } from '../client.ts';
import { globMatch } from '../../protocol/glob.ts';
import { normalise, SETTING_BY_NAME, SETTINGS } from '../config.ts';
import type { Setting } from '../config.ts';
import type { SlowlogEntry, WorkerContext } from '../context.ts';
import { infoText, resetInfoStats } from '../info.ts';
import { resetCommandStats } from '../command-stats.ts';
import { monitorCommand } from '../monitor.ts';
import { registerQuery } from '../queries.ts';
import { commandCount, commandDocs, commandInfo, commandList, getKeys, keyFlagsAt } from '../command-docs.ts';
import type { ListFilter } from '../command-docs.ts';
import { cstr, help, intArg, replyError, str, syntaxError, word } from './args.ts';
import { ADMIN, cmd, HELP_SUMMARY, LS, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// TIME
function time(_ctx: WorkerContext, c: Client): void {
  const us = BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
  c.out.array(2);
  c.out.bulkStr(String(us / 1_000_000n));
  c.out.bulkStr(String(us % 1_000_000n));
}

// INFO [section [section ...]]
async function info(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  c.out.verbatim(await infoText(ctx, c, argv.slice(1).map((a) => str(a))));
}

// LASTSAVE
function lastsave(ctx: WorkerContext, c: Client): void {
  c.out.int(ctx.shared.get('lastSave'));
}

// ---- CONFIG ------------------------------------------------------------------------------------

// CONFIG GET parameter [parameter ...]
function configGet(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  // Each setting once, named as asked when asked by name (Redis replies `HZ` to CONFIG GET HZ),
  // by its own name when a pattern found it.
  const found: [Setting, string][] = [];
  const seen = new Set<Setting>();
  const add = (s: Setting, shown: string) => {
    if (seen.has(s)) return;
    seen.add(s);
    found.push([s, shown]);
  };
  for (let i = 2; i < argv.length; i++) {
    const p = str(argv[i]!);
    const lower = p.toLowerCase();
    const exact = /[[*?]/.test(p) ? undefined : SETTING_BY_NAME.get(lower === 'io-threads' ? 'threads' : lower);
    if (exact !== undefined) add(exact, p);
    else for (const s of SETTINGS) if (globMatch(p, s.name, true)) add(s, s.name);
  }
  c.out.map(found.length);
  for (const [s, shown] of found) {
    c.out.bulkStr(shown);
    c.out.bulkStr(ctx.config.get(s.name) ?? s.dflt);
  }
}

function setFailed(name: string, why: string): Error {
  return replyError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
}

/** Checks a new value as CONFIG SET does; returns the value to store. */
function validateSetting(s: Setting, value: string): string {
  try {
    return normalise(s.name, value);
  } catch (e) {
    throw setFailed(s.name, (e as Error).message);
  }
}

/** Applies a validated setting on this worker, every other worker (through the main thread) and the shared store. */
export function applySetting(ctx: WorkerContext, name: string, value: string): void {
  ctx.setConfig(name, value);
  if (name === 'maxmemory') ctx.store.configure({ maxMemory: Number(value) });
  else if (name === 'maxmemory-policy') ctx.store.configure({ policy: value });
}

// CONFIG SET parameter value [parameter value ...]
function configSet(ctx: WorkerContext, c: Client, argv: Buffer[]): void | Promise<void> {
  if (argv.length % 2 === 1) throw syntaxError();
  let unknown: string | null = null;
  let failed: Error | null = null;
  const pairs: [Setting, string][] = [];
  for (let i = 2; i < argv.length; i += 2) {
    const given = cstr(argv[i]!);
    const lower = given.toLowerCase();
    const s = SETTING_BY_NAME.get(lower === 'io-threads' ? 'threads' : lower);
    if (s === undefined) {
      unknown ??= given;
      continue;
    }
    if (unknown !== null || failed !== null) continue;
    if (!s.mutable) failed = setFailed(given, "can't set immutable config");
    else if (s.protected === true && !c.allowedBy(ctx.config.get('enable-protected-configs') ?? 'no')) failed = setFailed(given, "can't set protected config");
    else if (pairs.some(([p]) => p === s)) failed = setFailed(given, 'duplicate parameter');
    else pairs.push([s, str(argv[i + 1]!)]);
  }
  if (unknown !== null) throw replyError(`ERR Unknown option or number of arguments for CONFIG SET - '${unknown}'`);
  if (failed !== null) throw failed;
  // All or nothing: every value is checked before any is applied.
  const values = pairs.map(([s, v]) => validateSetting(s, v));
  pairs.forEach(([s], i) => applySetting(ctx, s.name, values[i]!));
  return okOnceApplied(ctx, c);
}

/**
 * The OK of a request that changed settings (ctx.setConfig). The other workers learn them through
 * the main thread; as in Redis, the OK means they are in force for every connection, so it waits
 * for a query that reaches each worker after the new values (one port per worker, in order).
 * Inside EXEC it goes at once: EXEC holds its whole reply instead (transactions.ts). Otherwise
 * it comes after the request's own turn, so CLIENT REPLY is applied here, as it stood for it.
 */
function okOnceApplied(ctx: WorkerContext, c: Client): void | Promise<void> {
  if (c.inExec) return c.out.ok();
  const replies = c.replyMode === 'on';
  return settingsApplied(ctx).then(() => {
    if (replies) c.out.ok();
  });
}

/** Resolves once every worker has the settings this one changed so far (setConfig): see okOnceApplied. */
export function settingsApplied(ctx: WorkerContext): Promise<unknown> {
  return ctx.rpc('config-applied');
}
registerQuery('config-applied', () => null);

// CONFIG RESETSTAT
async function configResetstat(ctx: WorkerContext, c: Client): Promise<void> {
  ctx.store.resetStats();
  ctx.shared.put('statsResetAt', Math.floor(Date.now() / 1000));
  await ctx.rpc('server-reset-stats');
  c.out.ok();
}

/** A redis.conf line for a setting (strings quoted as CONFIG REWRITE writes them). */
export function configLine(s: Setting, value: string): string {
  if (s.kind !== 'string') return `${s.name} ${value}`;
  const q = value.replace(/[\\"\n\r\t]/g, (ch) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[ch]!);
  return `${s.name} "${q}"`;
}

function isDefault(s: Setting, value: string): boolean {
  try {
    return normalise(s.name, s.dflt) === value;
  } catch {
    return s.dflt === value;
  }
}

const REWRITE_SIGNATURE = '# Generated by CONFIG REWRITE';

/**
 * The config file rewritten as Redis does: settings already in the file keep their place with
 * the current value (later duplicates are dropped), unknown lines and comments stay, and
 * settings that differ from their defaults are appended after the signature line.
 */
export function rewriteConfigText(old: string, current: (name: string) => string | undefined): string {
  const lines = old === '' ? [] : old.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const done = new Set<string>();
  const out: string[] = [];
  for (const raw of lines) {
    const t = raw.trim();
    if (t === REWRITE_SIGNATURE) continue;
    if (t === '' || t.startsWith('#')) {
      out.push(raw);
      continue;
    }
    const first = t.split(/\s+/)[0]!.toLowerCase();
    const s = SETTING_BY_NAME.get(first === 'io-threads' ? 'threads' : first);
    if (s === undefined) {
      out.push(raw);
      continue;
    }
    if (done.has(s.name)) continue;
    done.add(s.name);
    out.push(configLine(s, current(s.name) ?? s.dflt));
  }
  const extra: string[] = [];
  for (const s of SETTINGS) {
    if (done.has(s.name)) continue;
    const v = current(s.name);
    if (v !== undefined && !isDefault(s, v)) extra.push(configLine(s, v));
  }
  if (extra.length > 0) out.push(REWRITE_SIGNATURE, ...extra);
  return out.join('\n') + '\n';
}

// CONFIG REWRITE
function configRewrite(ctx: WorkerContext, c: Client): void {
  const path = ctx.config.get('config-file');
  if (path === undefined || path === '') throw replyError('ERR The server is running without a config file');
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw replyError(`ERR Rewriting config file: ${(e as Error).message}`);
  }
  const text = rewriteConfigText(old, (n) => ctx.config.get(n));
  const tmp = `${path}.tmp-${process.pid}-${ctx.index}`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    throw replyError(`ERR Rewriting config file: ${(e as Error).message}`);
  }
  ctx.log('notice', 'CONFIG REWRITE executed with success.');
  c.out.ok();
}

// CONFIG HELP
function configHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'GET <pattern>',
    '    Return parameters matching the glob-like <pattern> and their values.',
    'SET <directive> <value>',
    '    Set the configuration <directive> to <value>.',
    'RESETSTAT',
    '    Reset statistics reported by the INFO command.',
    'REWRITE',
    '    Rewrite the configuration file.',
    'HELP',
    '    Prints this help.',
  ]);
}

// ---- COMMAND -----------------------------------------------------------------------------------

// COMMAND
function command(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 1) throw replyError(`ERR unknown subcommand '${cstr(argv[1]!, 128)}'. Try COMMAND HELP.`);
  commandInfo(c.out, null);
}

// COMMAND COUNT
function commandCountCmd(_ctx: WorkerContext, c: Client): void {
  c.out.int(commandCount());
}

// COMMAND INFO [command-name [command-name ...]]
function commandInfoCmd(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  commandInfo(c.out, argv.slice(2).map((a) => str(a)));
}

// COMMAND DOCS [command-name [command-name ...]]
function commandDocsCmd(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  commandDocs(c.out, argv.slice(2).map((a) => str(a)));
}

// COMMAND LIST [FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>]
function commandListCmd(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let filter: ListFilter = null;
  if (argv.length !== 2) {
    if (argv.length !== 5 || word(argv[2]!) !== 'filterby') throw syntaxError();
    const kind = word(argv[3]!);
    if (kind !== 'module' && kind !== 'aclcat' && kind !== 'pattern') throw syntaxError();
    filter = { kind, value: str(argv[4]!) };
  }
  const names = commandList(filter);
  c.out.array(names.length);
  for (const n of names) c.out.bulkStr(n);
}

function keysOrError(argv: Buffer[]): ReturnType<typeof getKeys> {
  try {
    return getKeys(argv);
  } catch (e) {
    throw replyError((e as Error).message);
  }
}

// COMMAND GETKEYS command [arg [arg ...]]
function commandGetkeys(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const { keys } = keysOrError(argv.slice(2));
  c.out.array(keys.length);
  for (const k of keys) c.out.bulk(k);
}

// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
function commandGetkeysandflags(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const call = argv.slice(2);
  const { keys, spec } = keysOrError(call);
  c.out.array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const flags = keyFlagsAt(spec, call, spec.firstKey + i * spec.step);
    c.out.array(2);
    c.out.bulk(keys[i]!);
    c.out.set(flags.length);
    for (const f of flags) c.out.simple(f);
  }
}

// COMMAND HELP
function commandHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    '(no subcommand)',
    '    Return details about all Redis commands.',
    'COUNT',
    '    Return the total number of commands in this Redis server.',
    'LIST',
    '    Return a list of all commands in this Redis server.',
    'INFO [<command-name> ...]',
    '    Return details about multiple Redis commands.',
    '    If no command names are given, documentation details for all',
    '    commands are returned.',
    'DOCS [<command-name> ...]',
    '    Return documentation details about multiple Redis commands.',
    '    If no command names are given, documentation details for all',
    '    commands are returned.',
    'GETKEYS <full-command>',
    '    Return the keys from a full Redis command.',
    'GETKEYSANDFLAGS <full-command>',
    '    Return the keys and the access flags from a full Redis command.',
    'HELP',
    '    Prints this help.',
  ]);
}

// ---- SLOWLOG -----------------------------------------------------------------------------------

/** Entry ids are per worker; shown as id * workers + worker so they are unique server-wide. */
function globalSlowId(ctx: WorkerContext, e: SlowlogEntry, worker: number): number {
  return e.id * ctx.workers + worker;
}

registerQuery('server-slowlog-get', (ctx, args) => {
  const n = args[0] as number;
  const list = n < 0 ? ctx.slowlog : ctx.slowlog.slice(0, n);
  return list.map((e) => ({ ...e, id: globalSlowId(ctx, e, ctx.index) }));
});
registerQuery('server-slowlog-len', (ctx) => ctx.slowlog.length);
registerQuery('server-slowlog-reset', (ctx) => {
  ctx.slowlog.length = 0;
  return true;
});
registerQuery('server-reset-stats', (ctx) => {
  ctx.shared.resetTotals(ctx.index);
  ctx.netReads = 0;
  ctx.netWrites = 0;
  resetInfoStats();
  resetCommandStats();
  return true;
});

// SLOWLOG GET [count]
async function slowlogGet(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  let n = 10;
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try SLOWLOG HELP.`);
  if (argv.length === 3) {
    n = intArg(argv[2]!, 'ERR count should be greater than or equal to -1');
    if (n < -1) throw replyError('ERR count should be greater than or equal to -1');
  }
  const per = await ctx.rpc<(SlowlogEntry[] | null)[]>('server-slowlog-get', n);
  const all = per.flatMap((l) => l ?? []).sort((a, b) => b.time - a.time || b.id - a.id);
  const list = n < 0 ? all : all.slice(0, n);
  c.out.array(list.length);
  for (const e of list) {
    c.out.array(6);
    c.out.int(e.id);
    c.out.int(e.time);
    c.out.int(e.micros);
    c.out.array(e.argv.length);
    for (const a of e.argv) c.out.bulkStr(a);
    c.out.bulkStr(e.addr);
    c.out.bulkStr(e.name);
  }
}

// SLOWLOG LEN
async function slowlogLen(ctx: WorkerContext, c: Client): Promise<void> {
  const per = await ctx.rpc<(number | null)[]>('server-slowlog-len');
  c.out.int(per.reduce<number>((a, b) => a + (b ?? 0), 0));
}

// SLOWLOG RESET
async function slowlogReset(ctx: WorkerContext, c: Client): Promise<void> {
  await ctx.rpc('server-slowlog-reset');
  c.out.ok();
}

// SLOWLOG HELP
function slowlogHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'GET [<count>]',
    '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
    '    Entries are made of:',
    '    id, timestamp, time in microseconds, arguments array, client IP and port,',
    '    client name',
    'LEN',
    '    Return the length of the slowlog.',
    'RESET',
    '    Reset the slowlog.',
    'HELP',
    '    Prints this help.',
  ]);
}

// ---- DEBUG -------------------------------------------------------------------------------------

const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** RDB-style serialized length of a string value (no compression). */
function serializedLength(v: Buffer): number {
  const s = v.toString('latin1');
  if (v.length <= 11 && /^-?(0|[1-9]\d*)$/.test(s)) {
    const n = Number(s);
    if (n >= -128 && n <= 127) return 2;
    if (n >= -32768 && n <= 32767) return 3;
    if (n >= -2147483648 && n <= 2147483647) return 5;
  }
  const len = v.length;
  return (len < 64 ? 1 : len < 16384 ? 2 : len <= 0xffffffff ? 5 : 9) + len;
}

// DEBUG OBJECT key
function debugObject(c: Client, key: Buffer): void {
  const store = c.store;
  const shard = store.shardFor(key);
  let value: Buffer | null = null;
  let at = 0;
  shard.lock();
  try {
    const r = shard.lookupLocked(key, hash32(key), store.now(), store.db);
    if (r !== NIL_REF) {
      value = shard.valueCopy(r);
      at = r;
    }
  } finally {
    shard.unlock();
  }
  if (value === null) throw replyError('ERR no such key');
  const oi = store.objectInfo(key);
  const enc = oi?.encoding ?? 'raw';
  const idle = oi?.idleSeconds ?? 0;
  const lru = Math.floor(Date.now() / 1000 - idle) & 0xffffff;
  const addr = `0x${((shard.id << 24) | (at & 0xffffff)).toString(16).padStart(12, '0')}`;
  c.out.simple(`Value at:${addr} refcount:1 encoding:${enc} serializedlength:${serializedLength(value)} lru:${lru} lru_seconds_idle:${idle}`);
}

// DEBUG HELP
function debugHelp(c: Client): void {
  help(c, [
    'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'LOG <message>',
    '    Write <message> to the server log.',
    'OBJECT <key>',
    '    Show low level info about `key` and associated value.',
    'SET-ACTIVE-EXPIRE <0|1>',
    '    Setting it to 0 disables expiring keys in background when they are not',
    '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
    '    default.',
    'SLEEP <seconds>',
    '    Stop the server for <seconds>. Decimals allowed.',
    'PANIC',
    '    Crash the worker thread serving this connection; the server replaces it.',
    'PANIC-LOCKED <key>',
    "    Stop that worker thread while it holds the lock of <key>'s shard; the server",
    '    takes the lock back, checks the shard and replaces the thread.',
    'PANIC-LOCKED-CHANNEL <channel>',
    '    Stop that worker thread half-way through counting a subscriber of <channel>,',
    '    holding the lock of the channel table; the server takes the lock back,',
    "    rebuilds the table from the other threads' subscriptions and replaces the thread.",
    'HELP',
    '    Prints this help.',
  ]);
}

// DEBUG subcommand [argument [argument ...]]
function debug(ctx: WorkerContext, c: Client, argv: Buffer[]): void | Promise<void> {
  const sub = word(argv[1]!);
  const n = argv.length;
  if (sub === 'help' && n === 2) return debugHelp(c);
  if (sub === 'sleep' && n === 3) {
    // DEBUG SLEEP seconds: blocks this worker thread, as Redis blocks its main thread.
    const s = Number(str(argv[2]!));
    const ms = Number.isFinite(s) && s > 0 ? s * 1000 : 0;
    if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
    return c.out.ok();
  }
  if (sub === 'log' && n === 3) {
    // DEBUG LOG message
    ctx.log('warning', `DEBUG LOG: ${str(argv[2]!)}`);
    return c.out.ok();
  }
  if (sub === 'object' && n === 3) return debugObject(c, argv[2]!);
  if (sub === 'panic' && n === 2) {
    // DEBUG PANIC: crashes this worker thread (Redis crashes its process). The main thread logs
    // it and starts a replacement; the data, in shared memory, survives; this worker's
    // connections are lost. Tests use it to exercise that supervision.
    ctx.log('warning', `DEBUG PANIC from client id=${c.id} addr=${c.addr}: crashing worker ${ctx.index}`);
    setImmediate(() => {
      throw new Error('DEBUG PANIC');
    });
    return;
  }
  if (sub === 'panic-locked' && n === 3) {
    // DEBUG PANIC-LOCKED key: the worker stops in the middle of a critical section, as one that
    // runs out of memory mid-command would, so tests can exercise the main thread's recovery of
    // the locks a dead worker held (Store.recoverLocksOf). No reply: the thread is gone.
    const shard = c.store.shardFor(argv[2]!);
    ctx.log('warning', `DEBUG PANIC-LOCKED from client id=${c.id} addr=${c.addr}: worker ${ctx.index} stops holding the lock of shard ${shard.id}`);
    shard.lock();
    process.exit(1);
  }
  if (sub === 'panic-locked-channel' && n === 3) {
    // DEBUG PANIC-LOCKED-CHANNEL channel: the worker stops inside the channel table's critical
    // section, the count raised and the main thread never told, as one that runs out of memory
    // while counting a SUBSCRIBE would (ChannelLedger.died). No reply: the thread is gone.
    ctx.log('warning', `DEBUG PANIC-LOCKED-CHANNEL from client id=${c.id} addr=${c.addr}: worker ${ctx.index} stops holding the lock of the channel table`);
    const [a, b] = slotHashes(argv[2]!, SLOT_CHANNEL);
    ctx.shared.lockChannels();
    ctx.shared.channelAddLocked(a, b, SLOT_CHANNEL, 1);
    process.exit(1);
  }
  if (sub === 'set-active-expire' && n === 3) {
    // DEBUG SET-ACTIVE-EXPIRE 0|1
    ctx.setConfig('active-expire-enabled', Number.parseInt(str(argv[2]!), 10) ? 'yes' : 'no');
    return okOnceApplied(ctx, c);
  }
  throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try DEBUG HELP.`);
}

// ---- SHUTDOWN ----------------------------------------------------------------------------------

// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]
function shutdown(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let save = false;
  let nosave = false;
  let abort = false;
  let other = false;
  for (let i = 1; i < argv.length; i++) {
    const o = word(argv[i]!);
    if (o === 'nosave') nosave = true;
    else if (o === 'save') save = true;
    else if (o === 'now' || o === 'force') other = true;
    else if (o === 'abort') abort = true;
    else throw syntaxError();
  }
  if ((abort && (save || nosave || other)) || (save && nosave)) throw syntaxError();
  // Shutdown is immediate here, so there is never one in progress to abort.
  if (abort) throw replyError('ERR No shutdown in progress.');
  // No reply: the connection closes when the server exits, as with Redis.
  c.closing = true;
  ctx.post({ type: 'shutdown', save });
}

// ---- FUNCTION ----------------------------------------------------------------------------------

// FUNCTION FLUSH [ASYNC|SYNC]
function functionFlush(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try FUNCTION HELP.`);
  if (argv.length === 3) {
    const o = word(argv[2]!);
    if (o !== 'async' && o !== 'sync') throw replyError('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  }
  c.out.ok();
}

// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
function functionList(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let withCode = false;
  let library = false;
  for (let i = 2; i < argv.length; i++) {
    const w = word(argv[i]!);
    if (!withCode && w === 'withcode') withCode = true;
    else if (!library && w === 'libraryname') {
      if (i >= argv.length - 1) throw replyError('ERR library name argument was not given');
      library = true;
      i++;
    } else throw replyError(`ERR Unknown argument ${cstr(argv[i]!)}`);
  }
  // No scripting engine here: there are never any libraries.
  c.out.array(0);
}

// FUNCTION HELP
function functionHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
    '    Return general information on all the libraries (there are none: no scripting in this build).',
    'FLUSH [ASYNC|SYNC]',
    '    Delete all the libraries.',
    'HELP',
    '    Prints this help.',
  ]);
}

// ---- the table ---------------------------------------------------------------------------------

export const SERVER_COMMANDS: readonly CommandSpec[] = [
  cmd('time', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'server', '2.6.0', 'Returns the server time.', time, { syntax: 'TIME', complexity: 'O(1)' }),
  cmd('info', -1, [...LS, 'gathers'], NO_KEYS, 'server', '1.0.0', 'Returns information and statistics about the server.', info, { syntax: 'INFO [section [section ...]]', complexity: 'O(1)' }),
  cmd('lastsave', 1, [...LS, 'fast'], NO_KEYS, 'server', '1.0.0', 'Returns the Unix timestamp of the last successful save to disk.', lastsave, { syntax: 'LASTSAVE', complexity: 'O(1)' }),
  cmd('config', -2, [], NO_KEYS, 'server', '2.0.0', 'A container for server configuration commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('config|get', -3, [...ADMIN], NO_KEYS, 'server', '2.0.0', 'Returns the effective values of configuration parameters.', configGet, { syntax: 'CONFIG GET parameter [parameter ...]', complexity: 'O(N) when N is the number of configuration parameters provided' }),
      cmd('config|set', -4, [...ADMIN], NO_KEYS, 'server', '2.0.0', 'Sets configuration parameters in-flight.', configSet, { syntax: 'CONFIG SET parameter value [parameter value ...]', complexity: 'O(N) when N is the number of configuration parameters provided' }),
      cmd('config|resetstat', 2, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.0.0', "Resets the server's statistics.", configResetstat, { syntax: 'CONFIG RESETSTAT', complexity: 'O(1)' }),
      cmd('config|rewrite', 2, [...ADMIN], NO_KEYS, 'server', '2.8.0', 'Persists the effective configuration to file.', configRewrite, { syntax: 'CONFIG REWRITE', complexity: 'O(1)' }),
      cmd('config|help', 2, [...LS], NO_KEYS, 'server', '5.0.0', HELP_SUMMARY, configHelp, { syntax: 'CONFIG HELP', complexity: 'O(1)' }),
    ],
  }),
  cmd('command', -1, [...LS], NO_KEYS, 'server', '2.8.13', 'Returns detailed information about all commands.', command, {
    syntax: 'COMMAND',
    complexity: 'O(N) where N is the total number of Redis commands',
    subcommands: [
      cmd('command|count', 2, [...LS], NO_KEYS, 'server', '2.8.13', 'Returns a count of commands.', commandCountCmd, { syntax: 'COMMAND COUNT', complexity: 'O(1)' }),
      cmd('command|docs', -2, [...LS], NO_KEYS, 'server', '7.0.0', 'Returns documentary information about one, multiple or all commands.', commandDocsCmd, { syntax: 'COMMAND DOCS [command-name [command-name ...]]', complexity: 'O(N) where N is the number of commands to look up' }),
      cmd('command|getkeys', -4, [...LS], NO_KEYS, 'server', '2.8.13', 'Extracts the key names from an arbitrary command.', commandGetkeys, { syntax: 'COMMAND GETKEYS command [arg [arg ...]]', complexity: 'O(N) where N is the number of arguments to the command' }),
      cmd('command|getkeysandflags', -4, [...LS], NO_KEYS, 'server', '7.0.0', 'Extracts the key names and access flags for an arbitrary command.', commandGetkeysandflags, { syntax: 'COMMAND GETKEYSANDFLAGS command [arg [arg ...]]', complexity: 'O(N) where N is the number of arguments to the command' }),
      cmd('command|help', 2, [...LS], NO_KEYS, 'server', '5.0.0', HELP_SUMMARY, commandHelp, { syntax: 'COMMAND HELP', complexity: 'O(1)' }),
      cmd('command|info', -2, [...LS], NO_KEYS, 'server', '2.8.13', 'Returns information about one, multiple or all commands.', commandInfoCmd, { syntax: 'COMMAND INFO [command-name [command-name ...]]', complexity: 'O(N) where N is the number of commands to look up' }),
      cmd('command|list', -2, [...LS], NO_KEYS, 'server', '7.0.0', 'Returns a list of command names.', commandListCmd, { syntax: 'COMMAND LIST [FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>]', complexity: 'O(N) where N is the total number of Redis commands' }),
    ],
  }),
  cmd('slowlog', -2, [], NO_KEYS, 'server', '2.2.12', 'A container for slow log commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('slowlog|get', -2, ['admin', ...LS, 'gathers'], NO_KEYS, 'server', '2.2.12', "Returns the slow log's entries.", slowlogGet, { syntax: 'SLOWLOG GET [count]', complexity: 'O(N) where N is the number of entries returned' }),
      cmd('slowlog|len', 2, ['admin', ...LS, 'gathers'], NO_KEYS, 'server', '2.2.12', 'Returns the number of entries in the slow log.', slowlogLen, { syntax: 'SLOWLOG LEN', complexity: 'O(1)' }),
      cmd('slowlog|reset', 2, ['admin', ...LS, 'gathers'], NO_KEYS, 'server', '2.2.12', 'Clears all entries from the slow log.', slowlogReset, { syntax: 'SLOWLOG RESET', complexity: 'O(N) where N is the number of entries in the slowlog' }),
      cmd('slowlog|help', 2, [...LS], NO_KEYS, 'server', '6.2.0', HELP_SUMMARY, slowlogHelp, { syntax: 'SLOWLOG HELP', complexity: 'O(1)' }),
    ],
  }),
  cmd('monitor', 1, [...ADMIN], NO_KEYS, 'server', '1.0.0', 'Listens for all requests received by the server in real-time.', monitorCommand, { syntax: 'MONITOR' }),
  cmd('debug', -2, [...ADMIN], NO_KEYS, 'server', '1.0.0', 'A container for debugging commands.', debug, { syntax: 'DEBUG subcommand [argument [argument ...]]', complexity: 'Depends on subcommand.' }),
  cmd('shutdown', -1, [...ADMIN, 'no_multi', 'allow_busy'], NO_KEYS, 'server', '1.0.0', 'Synchronously saves the database(s) to disk and shuts down the Redis server.', shutdown, {
    syntax: 'SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]',
    complexity: 'O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)',
  }),
  cmd('function', -2, [], NO_KEYS, 'scripting', '7.0.0', 'A container for function commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('function|flush', -2, ['write', 'noscript'], NO_KEYS, 'scripting', '7.0.0', 'Deletes all libraries and functions.', functionFlush, { syntax: 'FUNCTION FLUSH [ASYNC|SYNC]', complexity: 'O(N) where N is the number of functions deleted' }),
      cmd('function|list', -2, ['noscript'], NO_KEYS, 'scripting', '7.0.0', 'Returns information about all libraries.', functionList, { syntax: 'FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]', complexity: 'O(N) where N is the number of functions' }),
      cmd('function|help', 2, [...LS], NO_KEYS, 'scripting', '7.0.0', HELP_SUMMARY, functionHelp, { syntax: 'FUNCTION HELP', complexity: 'O(1)' }),
    ],
  }),
];
