/**
 * CLIENT subcommands and client-state helpers.
 *
 * CLIENT LIST and CLIENT KILL see every worker's connections through ctx.rpc (queries
 * 'client-list' and 'client-kill' below). CLIENT PAUSE lives in the shared state (pauseUntil,
 * pauseMode); dispatch asks pausedFor() / waitUnpaused() before running a request. Tracking is in
 * ../tracking.ts.
 */
import { Buffer } from 'node:buffer';
import { ServerGlobals, serverStateLayout } from '../../../native-layout/server.ts';
import { evictableAgain } from '../client-eviction.ts';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { closeAfterReply, replyFromError } from '../output.ts';
import { registerQuery } from '../queries.ts';
import { disableTracking, enableTracking, inTransaction, prefixOverlap, redirectBroken, resetTracking, writeTrackingInfo } from '../tracking.ts';
import { cstr, eitherWord, help, intArg, replyError, str, syntaxError, word } from './args.ts';
import { validName } from './connection.ts';
import { subcommandOf } from './table.ts';
import { ADMIN, cmd, HELP_SUMMARY, LS, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

/** RESET and disconnect: drop transaction, subscriptions, tracking; back to db 0 and RESP2. */
export function resetClientState(ctx: WorkerContext, c: Client): void {
  c.clearTransaction();
  ctx.pubsub?.dropClient(c);
  resetTracking(ctx, c);
  c.db = 0;
  c.store = ctx.store;
  c.out.resp = 2;
  // As Redis's clearClientConnectionState: OFF and a pending SKIP end; a SKIP silencing this very
  // request (RESET itself) still applies.
  if (c.replyMode !== 'skip') c.replyMode = 'on';
  c.noEvict = false;
  c.noTouch = false;
  c.name = null;
  c.authenticated = ctx.requirepass === '';
  for (const h of resetHooks) h(ctx, c);
}

const resetHooks: ((ctx: WorkerContext, c: Client) => void)[] = [];
export function onClientReset(h: (ctx: WorkerContext, c: Client) => void): void {
  resetHooks.push(h);
}


// --- CLIENT LIST / INFO / KILL --------------------------------------------------------------

type ClientType = 'normal' | 'replica' | 'pubsub' | 'master';

function clientTypeByName(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case 'normal':
      return 'normal';
    case 'slave':
    case 'replica':
      return 'replica';
    case 'pubsub':
      return 'pubsub';
    case 'master':
      return 'master';
    default:
      return null;
  }
}

function clientFlags(c: Client): string {
  let f = '';
  if (c.monitor) f += 'O';
  if (c.kind === 'pubsub') f += 'P';
  if (c.multi !== null) f += 'x';
  if (c.blocked !== null) f += 'b';
  if (c.tracking !== null) {
    f += 't';
    if (redirectBroken(c)) f += 'R';
    if (c.tracking.bcast) f += 'B';
  }
  if (c.noEvict) f += 'e';
  if (c.noTouch) f += 'T';
  return f === '' ? 'N' : f;
}

/**
 * One CLIENT LIST line (without the newline), in Redis 7.2's field order. The memory fields are
 * this server's counterparts of Redis's: qbuf and qbuf-free the parser's buffer, multi-mem the
 * queued commands' arguments, obl the reply staged for the socket, omem what the socket still
 * holds, tot-mem their sum with the buffers' sizes. argv-mem, rbs, rbp and oll stay 0: arguments
 * are views of the query buffer, reads go to one buffer per worker, and replies are not chained.
 */
export function clientInfoLine(c: Client, now: number, cmdName?: string): string {
  const fd = (c.socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd ?? -1;
  const omem = c.socket.writableLength;
  const multiMem = c.multi === null ? 0 : c.multi.argBytes;
  const totMem = c.memoryUse();
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${fd} name=${c.name ?? ''} ` +
    `age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)} ` +
    `flags=${clientFlags(c)} db=${c.db} sub=${c.channels.size} psub=${c.patterns.size} ssub=${c.shardChannels.size} ` +
    `multi=${c.multi === null ? -1 : c.multi.length} qbuf=${c.parser.pending} qbuf-free=${c.parser.free} argv-mem=0 multi-mem=${multiMem} ` +
    `rbs=0 rbp=0 obl=${c.out.len} oll=0 omem=${omem} tot-mem=${totMem} events=${omem > 0 ? 'rw' : 'r'} ` +
    `cmd=${cmdName ?? (c.lastCommand === '' ? 'NULL' : c.lastCommand)} user=default ` +
    `redir=${c.tracking === null ? -1 : c.tracking.redirect} resp=${c.out.resp} ` +
    `lib-name=${c.libName ?? ''} lib-ver=${c.libVer ?? ''}`
  );
}

function typeOf(c: Client): ClientType {
  return c.kind === 'pubsub' ? 'pubsub' : 'normal';
}

/** This worker's clients for CLIENT LIST: [id, line] pairs. */
registerQuery('client-list', (ctx, args) => {
  const type = args[0] as ClientType | null;
  const ids = args[1] as number[] | null;
  const now = Date.now();
  const out: [number, string][] = [];
  if (ids !== null) {
    for (const id of new Set(ids)) {
      const c = ctx.clients.get(id);
      if (c !== undefined) out.push([id, clientInfoLine(c, now)]);
    }
    return out;
  }
  for (const c of ctx.clients.values()) if (type === null || typeOf(c) === type) out.push([c.id, clientInfoLine(c, now)]);
  return out;
});

registerQuery('client-exists', (ctx, args) => ctx.clients.has(args[0] as number));

interface KillFilter {
  addr: string | null;
  laddr: string | null;
  type: ClientType | null;
  id: number;
  /** Seconds; 0: any age. */
  maxAge: number;
}

function killMatches(c: Client, f: KillFilter, now: number): boolean {
  if (f.addr !== null && c.addr !== f.addr) return false;
  if (f.laddr !== null && c.laddr !== f.laddr) return false;
  if (f.type !== null && typeOf(c) !== f.type) return false;
  if (f.id !== 0 && c.id !== f.id) return false;
  if (f.maxAge !== 0 && Math.floor((now - c.createdAt) / 1000) < f.maxAge) return false;
  return true;
}

/** Kills this worker's matching clients except the one asking (its worker handles it after the reply). */
registerQuery('client-kill', (ctx, args) => {
  const f = args[0] as KillFilter;
  const except = args[1] as number;
  const now = Date.now();
  let n = 0;
  for (const c of [...ctx.clients.values()]) {
    if (c.id === except || c.closing || !killMatches(c, f, now)) continue;
    c.closing = true;
    c.socket.destroy();
    n++;
  }
  return n;
});

// CLIENT LIST [TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]
async function clientList(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  let type: ClientType | null = null;
  let ids: number[] | null = null;
  if (argv.length === 4 && word(argv[2]!) === 'type') {
    type = clientTypeByName(str(argv[3]!));
    if (type === null) throw replyError(`ERR Unknown client type '${cstr(argv[3]!)}'`);
  } else if (argv.length > 3 && word(argv[2]!) === 'id') {
    ids = argv.slice(3).map((a) => intArg(a, 'ERR Invalid client ID'));
  } else if (argv.length !== 2) throw syntaxError();
  const parts = await ctx.rpc<([number, string][] | null)[]>('client-list', type, ids, c.id);
  const lines = new Map<number, string>();
  for (const p of parts) for (const [id, line] of p ?? []) lines.set(id, line);
  let text = '';
  if (ids !== null) {
    for (const id of ids) if (lines.has(id)) text += lines.get(id)! + '\n';
  } else {
    for (const id of [...lines.keys()].sort((a, b) => a - b)) text += lines.get(id)! + '\n';
  }
  c.out.verbatim(text);
}

// CLIENT INFO
function clientInfo(_ctx: WorkerContext, c: Client): void {
  c.out.verbatim(clientInfoLine(c, Date.now(), 'client|info') + '\n');
}

// CLIENT KILL <ip:port> | CLIENT KILL <ID client-id | TYPE type | USER username | ADDR ip:port | LADDR ip:port | SKIPME yes|no | MAXAGE maxage> [...]
async function clientKill(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  const f: KillFilter = { addr: null, laddr: null, type: null, id: 0, maxAge: 0 };
  let skipme = true;
  const oldForm = argv.length === 3;
  if (oldForm) {
    f.addr = str(argv[2]!);
    skipme = false; // the old form may kill the caller itself
  } else {
    for (let i = 2; i < argv.length; i += 2) {
      const opt = word(argv[i]!);
      if (i + 1 >= argv.length) throw syntaxError();
      const v = argv[i + 1]!;
      if (opt === 'id') {
        const id = intArg(v, 'ERR client-id should be greater than 0');
        if (id < 1) throw replyError('ERR client-id should be greater than 0');
        f.id = id;
      } else if (opt === 'type') {
        f.type = clientTypeByName(str(v));
        if (f.type === null) throw replyError(`ERR Unknown client type '${cstr(v)}'`);
      } else if (opt === 'addr') f.addr = str(v);
      else if (opt === 'laddr') f.laddr = str(v);
      else if (opt === 'user') {
        // Only the default user exists: it is everyone's.
        if (str(v) !== 'default') throw replyError(`ERR No such user '${cstr(v)}'`);
      } else if (opt === 'skipme') {
        const w = word(v);
        if (w === 'yes') skipme = true;
        else if (w === 'no') skipme = false;
        else throw syntaxError();
      } else if (opt === 'maxage') f.maxAge = intArg(v);
      else throw syntaxError();
    }
  }
  const self = !skipme && killMatches(c, f, Date.now());
  const counts = await ctx.rpc<(number | null)[]>('client-kill', f, c.id);
  const killed = counts.reduce<number>((a, n) => a + (n ?? 0), 0) + (self ? 1 : 0);
  if (oldForm) {
    if (killed === 0) throw replyError('ERR No such client');
    c.out.ok();
  } else c.out.int(killed);
  if (self) closeAfterReply(ctx, c);
}

// --- CLIENT PAUSE / UNPAUSE -----------------------------------------------------------------

/** ServerGlobals.pauseMode values: 0 none, WRITE holds what may replicate, ALL holds everything. */
export const PAUSE_WRITE = 1;
export const PAUSE_ALL = 2;
const PAUSE_MODE_INDEX = (serverStateLayout().globals + ServerGlobals.fields.pauseMode.offset) / 4;
let pauseWord: Int32Array | null = null;

/** pauseMode as an Int32Array cell, to wait on and notify across threads. */
function pauseCell(ctx: WorkerContext): Int32Array {
  if (pauseWord === null || pauseWord.buffer !== ctx.shared.buffer) pauseWord = new Int32Array(ctx.shared.buffer);
  return pauseWord;
}

function setPause(ctx: WorkerContext, until: number, mode: number): void {
  const cell = pauseCell(ctx);
  ctx.shared.pauseUntil = until;
  Atomics.store(cell, PAUSE_MODE_INDEX, mode);
  Atomics.notify(cell, PAUSE_MODE_INDEX);
}

function mayReplicate(spec: CommandSpec): boolean {
  return spec.flags.includes('write') || spec.flags.includes('may_replicate');
}

/**
 * Milliseconds a request must wait because of CLIENT PAUSE (0: run it now). ALL holds every
 * command; WRITE holds commands that write or may replicate (PUBLISH), and an EXEC whose queue
 * holds one. Commands are held before MULTI queueing, as in Redis.
 */
export function pausedFor(ctx: WorkerContext, c: Client, spec: CommandSpec | undefined, argv: Buffer[]): number {
  const mode = ctx.shared.get('pauseMode');
  if (mode === 0 || spec === undefined) return 0;
  const left = ctx.shared.pauseUntil - Date.now();
  if (left <= 0) return 0;
  if (mode === PAUSE_ALL) return left;
  const s = subcommandOf(spec, argv) ?? spec;
  if (mayReplicate(s)) return left;
  if (s.name === 'exec' && c.multi !== null) {
    for (let i = 0; i < c.multi.length; i++) if (mayReplicate(c.multi.spec(i))) return left;
  }
  return 0;
}

/** Resolves once pausedFor() is 0 for the request; CLIENT UNPAUSE on any worker wakes it at once. */
export async function waitUnpaused(ctx: WorkerContext, c: Client, spec: CommandSpec | undefined, argv: Buffer[]): Promise<void> {
  const cell = pauseCell(ctx);
  for (;;) {
    const mode = Atomics.load(cell, PAUSE_MODE_INDEX);
    const ms = pausedFor(ctx, c, spec, argv);
    if (ms <= 0) return;
    const r = Atomics.waitAsync(cell, PAUSE_MODE_INDEX, mode, ms + 1);
    if (r.async) await r.value;
  }
}

/** LLONG_MAX as a double (2^63): timeouts come from intArg as doubles too. */
const LLONG_MAX = 2 ** 63;

// CLIENT PAUSE timeout [WRITE|ALL]
function clientPause(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 4) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try CLIENT HELP.`);
  let mode = PAUSE_ALL;
  if (argv.length === 4) {
    const m = word(argv[3]!);
    if (m === 'write') mode = PAUSE_WRITE;
    else if (m !== 'all') throw replyError('ERR CLIENT PAUSE mode must be WRITE or ALL');
  }
  const ms = intArg(argv[2]!, 'ERR timeout is not an integer or out of range');
  if (ms < 0) throw replyError('ERR timeout is negative');
  const now = Date.now();
  // Redis 7.0 adds the clock to the timeout in a long long: past LLONG_MAX the end wraps into
  // the past and nothing is paused, where a literal end would hold every client for good.
  const until = ms <= 0 ? 0 : ms > LLONG_MAX - now ? -1 : now + ms;
  // The mode is replaced; the end is the later of the old one and the new one.
  setPause(ctx, Math.max(until, ctx.shared.pauseUntil), mode);
  c.out.ok();
}

// CLIENT UNPAUSE
function clientUnpause(ctx: WorkerContext, c: Client): void {
  setPause(ctx, 0, 0);
  c.out.ok();
}

// --- per-connection settings ----------------------------------------------------------------

// CLIENT ID
function clientId(_ctx: WorkerContext, c: Client): void {
  c.out.int(c.id);
}

// CLIENT SETNAME connection-name
function clientSetname(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const n = validName(str(argv[2]!));
  c.name = n === '' ? null : n;
  c.out.ok();
}

// CLIENT GETNAME
function clientGetname(_ctx: WorkerContext, c: Client): void {
  if (c.name === null) c.out.nil();
  else c.out.bulkStr(c.name);
}

// CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>
function clientSetinfo(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const attr = cstr(argv[2]!);
  const a = attr.toLowerCase();
  if (a !== 'lib-name' && a !== 'lib-ver') throw replyError(`ERR Unrecognized option '${attr}'`);
  const v = argv[3]!;
  for (const ch of v) if (ch < 33 || ch > 126) throw replyError(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
  const s = v.length === 0 ? null : str(v);
  if (a === 'lib-name') c.libName = s;
  else c.libVer = s;
  c.out.ok();
}

// CLIENT REPLY ON|OFF|SKIP
function clientReply(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const m = word(argv[2]!);
  // dispatch.ts runOne applies the mode (dropReplyIfQuiet).
  if (m === 'on') {
    c.replyMode = 'on';
    c.out.ok();
  } else if (m === 'off') c.replyMode = 'off';
  else if (m === 'skip') {
    if (c.replyMode !== 'off') c.replyMode = 'skip-next';
  } else throw syntaxError();
}

function onOff(b: Buffer): boolean {
  return eitherWord(b, 'on', 'off');
}

// CLIENT NO-EVICT ON|OFF
function clientNoEvict(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.noEvict = onOff(argv[2]!);
  c.out.ok();
  if (!c.noEvict) evictableAgain(ctx, c);
}

// CLIENT NO-TOUCH ON|OFF
function clientNoTouch(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.noTouch = onOff(argv[2]!);
  c.out.ok();
}

// --- tracking -------------------------------------------------------------------------------

/** Whether a client id exists on some worker (a REDIRECT target). */
async function clientExists(ctx: WorkerContext, id: number): Promise<boolean> {
  if (ctx.clients.has(id)) return true;
  if (ctx.workers <= 1) return false;
  const answers = await ctx.rpc<(boolean | null)[]>('client-exists', id);
  return answers.some((a) => a === true);
}

// CLIENT TRACKING <ON|OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
function clientTracking(ctx: WorkerContext, c: Client, argv: Buffer[]): void | Promise<void> {
  let redirect = 0;
  let redirectGiven = false;
  let bcast = false;
  let optin = false;
  let optout = false;
  let noloop = false;
  const prefixes: Buffer[] = [];
  // Redis checks that the REDIRECT target exists where the option stands, before any later
  // option: an error found after it waits until that check is done (it may be asynchronous).
  let later: unknown = null;
  try {
    for (let j = 3; j < argv.length; j++) {
      const opt = word(argv[j]!);
      const more = j + 1 < argv.length;
      if (opt === 'redirect' && more) {
        j++;
        if (redirectGiven) throw replyError('ERR A client can only redirect to a single other client');
        redirect = intArg(argv[j]!);
        redirectGiven = true;
      } else if (opt === 'bcast') bcast = true;
      else if (opt === 'optin') optin = true;
      else if (opt === 'optout') optout = true;
      else if (opt === 'noloop') noloop = true;
      else if (opt === 'prefix' && more) {
        j++;
        prefixes.push(Buffer.from(argv[j]!));
      } else throw syntaxError();
    }
  } catch (e) {
    if (!redirectGiven) throw e;
    later = e;
  }
  const onoff = word(argv[2]!);
  const finish = (): void => {
    if (onoff === 'on') {
      const t = c.tracking;
      if (!bcast && prefixes.length > 0) throw replyError('ERR PREFIX option requires BCAST mode to be enabled');
      if (t !== null && t.bcast !== bcast) throw replyError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
      if (bcast && (optin || optout)) throw replyError('ERR OPTIN and OPTOUT are not compatible with BCAST');
      if (optin && optout) throw replyError("ERR You can't specify both OPTIN mode and OPTOUT mode");
      if (t !== null && ((optin && t.optout) || (optout && t.optin))) throw replyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
      if (bcast) {
        const err = prefixOverlap(t, prefixes);
        if (err !== null) throw replyError(err);
      }
      enableTracking(ctx, c, { redirect, bcast, optin, optout, noloop, prefixes });
    } else if (onoff === 'off') disableTracking(ctx, c);
    else throw syntaxError();
    c.out.ok();
  };
  const checked = (ok: boolean): void => {
    if (!ok) throw replyError('ERR The client ID you want redirect to does not exist');
    if (later !== null) throw later;
    finish();
  };
  if (!redirectGiven || ctx.clients.has(redirect)) return checked(true);
  // Inside EXEC the reply cannot wait for the other workers: any id handed out so far passes.
  if (redirect < 1 || inTransaction(c)) return checked(redirect >= 1 && redirect <= ctx.shared.get('clientIds'));
  // The target must exist now (it may go away later: then the redirect is reported broken).
  // runOne drops only what a handler writes before it returns, so the answer written once the
  // other workers replied honours CLIENT REPLY here, as EXEC's deferred part does.
  const quiet = c.replyMode !== 'on';
  return clientExists(ctx, redirect).then((ok) => {
    const mark = c.out.len;
    try {
      checked(ok);
    } catch (e) {
      replyFromError(c, e);
    }
    if (quiet) c.out.len = mark;
  });
}

// CLIENT CACHING YES|NO
function clientCaching(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const t = c.tracking;
  if (t === null) throw replyError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
  const v = word(argv[2]!);
  if (v === 'yes') {
    if (!t.optin) throw replyError('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
    t.caching = true;
  } else if (v === 'no') {
    if (!t.optout) throw replyError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
    t.caching = false;
  } else throw syntaxError();
  c.out.ok();
}

// CLIENT GETREDIR
function clientGetredir(_ctx: WorkerContext, c: Client): void {
  c.out.int(c.tracking === null ? -1 : c.tracking.redirect);
}

// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]
async function clientUnblock(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  if (argv.length > 4) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try CLIENT HELP.`);
  const how = argv.length === 4 ? word(argv[3]!) : 'timeout';
  if (how !== 'timeout' && how !== 'error') throw replyError('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  const id = intArg(argv[2]!);
  // The client may be on any worker (blocking.ts answers for each).
  const found = await ctx.rpc<(boolean | null)[]>('client-unblock', id, how);
  c.out.int(found.some((x) => x === true) ? 1 : 0);
}

// CLIENT TRACKINGINFO
function clientTrackinginfo(_ctx: WorkerContext, c: Client): void {
  writeTrackingInfo(c);
}

const HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CACHING (YES|NO)',
  '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  '    * MAXAGE <maxage>',
  '      Kill connections older than the specified age.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'REPLY (ON|OFF|SKIP)',
  '    Control the replies sent to the current connection.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  '    Will not touch LRU/LFU stats when this mode is on.',
  'HELP',
  '    Print this help.',
];

// CLIENT HELP
function clientHelp(_ctx: WorkerContext, c: Client): void {
  help(c, HELP);
}

const C = ['noscript', 'loading', 'stale'] as const;
export const CLIENT_SUBCOMMANDS: CommandSpec[] = [
  cmd('client|id', 2, [...C], NO_KEYS, 'connection', '5.0.0', 'Returns the unique client ID of the connection.', clientId, { syntax: 'CLIENT ID' }),
  cmd('client|setname', 3, [...C], NO_KEYS, 'connection', '2.6.9', 'Sets the connection name.', clientSetname, { syntax: 'CLIENT SETNAME connection-name' }),
  cmd('client|getname', 2, [...C], NO_KEYS, 'connection', '2.6.9', 'Returns the name of the connection.', clientGetname, { syntax: 'CLIENT GETNAME' }),
  // LIST and KILL ask every worker (async): not inside MULTI, like PUBSUB CHANNELS.
  cmd('client|list', -2, [...ADMIN, 'gathers'], NO_KEYS, 'connection', '2.4.0', 'Lists open connections.', clientList, { syntax: 'CLIENT LIST [TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]', complexity: 'O(N) where N is the number of client connections' }),
  cmd('client|info', 2, [...C], NO_KEYS, 'connection', '6.2.0', 'Returns information about the connection.', clientInfo, { syntax: 'CLIENT INFO' }),
  cmd('client|kill', -3, [...ADMIN, 'gathers'], NO_KEYS, 'connection', '2.4.0', 'Terminates open connections.', clientKill, { syntax: 'CLIENT KILL <ip:port | <[ID client-id] | [TYPE <NORMAL|MASTER|SLAVE|REPLICA|PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES|NO>] | [MAXAGE maxage] [[ID client-id] | ...]>>', complexity: 'O(N) where N is the number of client connections' }),
  cmd('client|pause', -3, [...ADMIN], NO_KEYS, 'connection', '3.0.0', 'Suspends commands processing.', clientPause, { syntax: 'CLIENT PAUSE timeout [WRITE|ALL]' }),
  cmd('client|unpause', 2, [...ADMIN], NO_KEYS, 'connection', '6.2.0', 'Resumes processing of clients that were paused.', clientUnpause, { syntax: 'CLIENT UNPAUSE' }),
  cmd('client|reply', 3, [...C], NO_KEYS, 'connection', '3.2.0', 'Instructs the server whether to reply to commands.', clientReply, { syntax: 'CLIENT REPLY <ON|OFF|SKIP>' }),
  cmd('client|no-evict', 3, [...ADMIN], NO_KEYS, 'connection', '7.0.0', 'Sets the client eviction mode of the connection.', clientNoEvict, { syntax: 'CLIENT NO-EVICT <ON|OFF>' }),
  cmd('client|no-touch', 3, [...C], NO_KEYS, 'connection', '7.2.0', 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.', clientNoTouch, { syntax: 'CLIENT NO-TOUCH <ON|OFF>' }),
  cmd('client|setinfo', 4, [...C], NO_KEYS, 'connection', '7.2.0', 'Sets information specific to the client or connection.', clientSetinfo, { syntax: 'CLIENT SETINFO <LIB-NAME libname | LIB-VER libver>' }),
  cmd('client|tracking', -3, [...C], NO_KEYS, 'connection', '6.0.0', 'Controls server-assisted client-side caching for the connection.', clientTracking, { syntax: 'CLIENT TRACKING <ON|OFF> [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]' }),
  cmd('client|caching', 3, [...C], NO_KEYS, 'connection', '6.0.0', 'Instructs the server whether to track the keys in the next request.', clientCaching, { syntax: 'CLIENT CACHING <YES|NO>' }),
  cmd('client|unblock', -3, [...ADMIN, 'gathers'], NO_KEYS, 'connection', '5.0.0', 'Unblocks a client blocked by a blocking command from a different connection.', clientUnblock, { syntax: 'CLIENT UNBLOCK client-id [TIMEOUT|ERROR]', complexity: 'O(log N) where N is the number of client connections' }),
  cmd('client|getredir', 2, [...C], NO_KEYS, 'connection', '6.0.0', "Returns the client ID to which the connection's tracking notifications are redirected.", clientGetredir, { syntax: 'CLIENT GETREDIR' }),
  cmd('client|trackinginfo', 2, [...C], NO_KEYS, 'connection', '6.2.0', 'Returns information about server-assisted client-side caching for the connection.', clientTrackinginfo, { syntax: 'CLIENT TRACKINGINFO' }),
  cmd('client|help', 2, [...LS], NO_KEYS, 'connection', '5.0.0', HELP_SUMMARY, clientHelp, { syntax: 'CLIENT HELP' }),
];

export const CLIENT_COMMANDS: readonly CommandSpec[] = [
  cmd('client', -2, [], NO_KEYS, 'connection', '2.4.0', 'A container for client connection commands.', undefined, { subcommands: CLIENT_SUBCOMMANDS }),
];
