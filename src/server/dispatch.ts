/**
 * Runs parsed requests: table lookup, the central checks (arity, authentication, MULTI queueing,
 * the RESP2 pub/sub context, CLIENT PAUSE), the handler, and the per-command bookkeeping
 * (reply modes, statistics, the slow log, MONITOR).
 *
 * Pipelines: consecutive requests that only touch keys (flag `fast`, or plain reads and writes)
 * run as one batch; any other request runs alone with no shard lock held, so it may take locks of
 * its own in order. A batch runs in request order, each command atomic, under one of two lock
 * scopes (see batchScope):
 *  - one worker: the union of the batch's shards, locked once in ascending shard order and held
 *    for the whole batch. Nothing else runs commands, so the locks are never contended and each
 *    is taken once per batch.
 *  - several workers: each run of consecutive commands on one shard holds that shard alone.
 *    Holding the union for a whole batch is two-phase locking over random keys: a batch of 16
 *    holds most of the shards, so the workers queue behind each other in futex waits (measured
 *    on GET P=16 with two workers: 2.52 µs of CPU per op with the union held, 2.06 per run).
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { FAST_ARGC, FAST_DECR, FAST_DECRBY, FAST_EXISTS, FAST_FIRST_HANDLER, FAST_GET, FAST_INCR, FAST_KINDS, FAST_NAMES, FAST_NONE, FAST_PTTL, FAST_PUBLISH, FAST_READS_VALUE, FAST_SET, FAST_SET_EX, FAST_SETEX, FAST_TTL, NEED_MORE, ProtocolError } from '../protocol/resp-parser.ts';
import { commandFailed, commandLatency, commandStart, commandStat, countErrorReply, onStatsRead } from './command-stats.ts';
import { latencyNs } from './latency-histogram.ts';
import type { CommandStat } from './command-stats.ts';
import { ShardcacheError } from '../errors.ts';
import { hash32, shardOf } from '../store/hash.ts';
import { cstr, expireAtAt, int64At, int64Reply, negatedDecrement, word } from './commands/args.ts';
import { lookupCommand, subcommandOf } from './commands/table.ts';
import { arityOk, FlagBit, lastKeyIndex } from './commands/types.ts';
import type { CommandSpec } from './commands/types.ts';
import { pausedFor, waitUnpaused } from './commands/client.ts';
import type { Client, ReplyMode } from './client.ts';
import { ReplyWriter } from '../protocol/resp-writer.ts';
import type { WorkerContext } from './context.ts';
import { roundToSeconds } from '../store/store.ts';
import type { Store } from '../store/store.ts';
import { PREFETCH_MAX } from '../store/prefetch.ts';
import { flushCreated } from './notify.ts';
import { copyInto } from '../bytes.ts';
import { accountClientMemory } from './client-eviction.ts';

/**
 * Backpressure: above this many bytes queued for a client's socket, the worker stops reading and
 * executing that client's requests until the socket drains (Node's 'drain'). Memory per slow
 * reader stays bounded even with client-output-buffer-limit at 0 (no limit), as for Redis's
 * normal clients by default.
 */
export const OUTPUT_PAUSE_BYTES = 1024 * 1024;

/** Requests parsed ahead and locked together at most. */
const BATCH_MAX = 64;

/**
 * The batchable requests of one read, run together by drain(): parallel arrays, reused after
 * each drain, of which the first `n` entries are pending (no object per request).
 */
class Batch {
  readonly specs: CommandSpec[] = [];
  readonly argvs: Buffer[][] = [];
  n = 0;
  add(spec: CommandSpec, argv: Buffer[]): void {
    this.specs[this.n] = spec;
    this.argvs[this.n] = argv;
    this.n++;
  }
}

/** Whether a request can join a locked batch: it has keys and touches only them. */
function batchable(spec: CommandSpec | undefined, c: Client): boolean {
  return spec !== undefined && (spec.bits & FlagBit.batchable) !== 0 && c.multi === null;
}

/** Key arguments of a request per its spec (for shard locking, tracking and WATCH). */
export function keysOf(spec: CommandSpec, argv: Buffer[]): Buffer[] {
  if (spec.firstKey <= 0) return [];
  const last = lastKeyIndex(spec, argv.length);
  const out: Buffer[] = [];
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) out.push(argv[i]!);
  return out;
}

/**
 * Parses and runs whatever input the client has, then flushes the replies with one write.
 * Stops early while an async handler is pending; it resumes by calling this again.
 */
export function processInput(ctx: WorkerContext, c: Client): void {
  ctx.catchUpBus();
  c.lastInteraction = ctx.tickClock();
  // Clock reads cost a system call on some virtual machines: the first command that needs the
  // monotonic clock reads it (execute), the fast path never does.
  ctx.lastTick = NaN;
  // Made on first use: a read of plain GETs and SETs (the fast path) allocates no batch.
  let batch: Batch | null = null;
  // Whether the fast path may run, and whether a CLIENT PAUSE is on: read again after each
  // request that runs alone (MULTI, SUBSCRIBE, CLIENT REPLY, MONITOR, CONFIG SET, CLIENT PAUSE
  // can change them); batched and fast requests are key commands, which cannot.
  let fastOk = fastClient(c) && ctx.fastPathOk();
  let paused = ctx.shared.peek('pauseMode') !== 0;
  while (!c.busy && !c.closing && !c.outputPaused) {
    if (fastOk && runFastBatch(ctx, c, batch) !== 0) continue;
    const r = c.parser.next();
    if (r === NEED_MORE) break;
    if (r instanceof ProtocolError) {
      drain(ctx, c, batch);
      writeError(c, `ERR ${r.message}`, false);
      ctx.log('verbose', `Protocol error (${r.message}) from client: id=${c.id} addr=${c.addr}`);
      closeAfterReply(ctx, c);
      break;
    }
    if (r.length === 0) continue;
    const spec = lookupCommand(r[0]!);
    if (paused && pausedFor(ctx, c, spec, r) > 0) {
      drain(ctx, c, batch);
      holdPaused(ctx, c, spec, r);
      break;
    }
    if (batchable(spec, c) && c.authenticated && !c.inPubSubContext) {
      batch ??= new Batch();
      batch.add(spec!, r);
      if (batch.n >= BATCH_MAX) drain(ctx, c, batch);
      continue;
    }
    drain(ctx, c, batch);
    runOne(ctx, c, spec, r);
    fastOk = fastClient(c) && ctx.fastPathOk();
    paused = ctx.shared.peek('pauseMode') !== 0;
  }
  drain(ctx, c, batch);
  if (ctx.pendingCommands !== 0) {
    ctx.shared.workerTotalAdd(ctx.index, 'commands', ctx.pendingCommands);
    ctx.pendingCommands = 0;
  }
  // What these commands told the other workers is posted before their replies go out, at the
  // end of the turn with what the other reads of the turn sent (flushQueued).
  if (ctx.outboxWaiting) flushSoon(ctx, c);
  else flush(ctx, c);
  flushEvents(ctx);
}

/** The keyspace events still pending after a batch: keys dropped, then keys created. */
export function flushEvents(ctx: WorkerContext): void {
  if (ctx.dropped.length !== 0) ctx.flushDrops();
  if (ctx.created.length !== 0) flushCreated(ctx);
}

/** Requests of the fast path locked together at most (as many as one prefetch prepares), and its reusable scratch. */
const FAST_MAX = PREFETCH_MAX;
const fastKinds = new Uint8Array(FAST_MAX);
/** Where each request's key and value lie in the parser's input (numbers: storing them needs no write barrier). */
const fastKeyAt = new Int32Array(FAST_MAX);
const fastKeyLen = new Int32Array(FAST_MAX);
const fastValueAt = new Int32Array(FAST_MAX);
const fastValueLen = new Int32Array(FAST_MAX);
const fastNumberAt = new Int32Array(FAST_MAX);
const fastNumberLen = new Int32Array(FAST_MAX);
const fastHashes = new Uint32Array(FAST_MAX);
/** 1 where request i reads its value (GET, INCR…): the prefetch then brings the value's lines in too. */
const fastReads = new Uint8Array(FAST_MAX);
/** Filled by index, never truncated: truncating an array frees its elements, so the next push allocates them again. */
const fastShards: number[] = new Array<number>(FAST_MAX).fill(0);

/**
 * A client whose fast-path requests (RespParser.nextFast) need none of the per-command
 * machinery: no transaction, no pub/sub context, replies on, no tracking of its own.
 * (ctx.fastPathOk covers the server-wide conditions: no MONITOR, no tracking anywhere, no pause,
 * no keyspace events, no fine-grained slow log or latency monitor.)
 */
function fastClient(c: Client): boolean {
  return c.authenticated && c.multi === null && !c.inPubSubContext && c.replyMode === 'on' && c.tracking === null && !c.monitor;
}

/**
 * Runs the fast-path requests at the head of the input (RespParser.nextFast: GET, SET with no
 * option or EX/PX, SETEX, PSETEX, INCR, DECR, INCRBY, DECRBY, the handler kinds) as one batch:
 * keys hashed once, their lookups prefetched together, locks taken as batchScope says, commands
 * and replies in request order; a PUBLISH ends the batch and runs last, unlocked. Keys and
 * values stay in the parser's input: the store reads them from there by offset, so a batch
 * allocates nothing per request. Their semantics are the handlers' (commands/strings.ts,
 * keys.ts, pubsub.ts); only the table lookup, the central checks (all known to pass for such a
 * client) and the hooks (all known to be idle) are skipped. The general requests `pending`
 * holds (parsed before these) run first, and only when there are fast ones: a run of general
 * requests stays one batch. Returns how many fast requests it ran.
 */
function runFastBatch(ctx: WorkerContext, c: Client, pending: Batch | null): number {
  const p = c.parser;
  let n = 0;
  while (n < FAST_MAX) {
    const k = p.nextFast();
    if (k === FAST_NONE) break;
    fastKinds[n] = k;
    fastKeyAt[n] = p.fastKeyAt;
    fastKeyLen[n] = p.fastKeyLen;
    if (k !== FAST_GET) {
      fastValueAt[n] = p.fastValueAt;
      fastValueLen[n] = p.fastValueLen;
      fastNumberAt[n] = p.fastNumberAt;
      fastNumberLen[n] = p.fastNumberLen;
    }
    n++;
    // A PUBLISH ends the batch and runs after it, holding no shard lock: it has no key, and its
    // delivery to other workers must not wait on a shard.
    if (k === FAST_PUBLISH) break;
  }
  if (n === 0) return 0;
  // The batched requests before these run first. (Reading ahead left their arguments in place:
  // the parser moves bytes only on push.)
  drain(ctx, c, pending);
  const published = fastKinds[n - 1] === FAST_PUBLISH;
  const locked = published ? n - 1 : n;
  const store = c.store;
  const input = p.input;
  for (let i = 0; i < locked; i++) {
    const h = hash32(input, fastKeyAt[i]!, fastKeyLen[i]!);
    fastHashes[i] = h;
    fastShards[i] = shardOf(h, store.shardMask);
    fastReads[i] = FAST_READS_VALUE[fastKinds[i]!] ? 1 : 0;
  }
  if (locked > 1) store.prefetch(fastHashes, fastShards, fastReads, locked);
  const timed = ++fastBatches === FAST_TIMED_EVERY;
  const t0 = timed ? (Number.isNaN(ctx.lastTick) ? performance.now() : ctx.lastTick) : 0;
  fastCtx = ctx;
  if (locked !== 0) runStepsLocked(ctx, store, fastShards, locked, runFastLocked, c);
  if (published) runFastHandler(c, n - 1, false);
  for (let i = 0; i < n; i++) {
    const k = fastKinds[i]!;
    fastStats[k]!.calls++;
    fastUntimed[k]!++;
  }
  if (timed) {
    const t1 = performance.now();
    ctx.lastTick = t1;
    fastUsPer = ((t1 - t0) * 1000) / n;
    settleFastTiming(ctx.latencyTracking);
    fastBatches = 0;
  } else ctx.lastTick = NaN;
  c.commands += n;
  c.lastCommand = FAST_NAMES[fastKinds[n - 1]!]!;
  ctx.pendingCommands += n;
  return n;
}

/**
 * The fast path's own references to its commands' counters (by FAST_* kind), which CONFIG
 * RESETSTAT zeroes in place.
 */
const fastStats = FAST_NAMES.map((name) => (name === '' ? null : commandStat(name)));
/**
 * One fast batch in this many is timed for commandstats' usec and the latency histograms: two
 * clock reads cost about 100 ns here, as much as the rest of a one-GET batch's JavaScript
 * (dispatch.bench). Its time per command stands for the untimed batches' commands too.
 */
const FAST_TIMED_EVERY = 16;
/** Batches since the last timed one; the first batch is timed. */
let fastBatches = FAST_TIMED_EVERY - 1;
/** Fast commands of each kind run since the last timed batch, this one included once it ran. */
const fastUntimed = new Float64Array(FAST_KINDS);
/** The last timed batch's time per command, µs. */
let fastUsPer = 0;

/**
 * Puts the fast commands run since the last timed batch down at the last timed batch's time per
 * command, in commandstats' usec and (with latency tracking) the latency histograms: at each
 * timed batch, and before the statistics are read or reset, so the histograms count every call.
 */
function settleFastTiming(latency: boolean): void {
  for (let k = 1; k < FAST_KINDS; k++) {
    if (fastUntimed[k] === 0) continue;
    fastStats[k]!.usec += fastUsPer * fastUntimed[k]!;
    if (latency) commandLatency(fastStats[k]!, latencyNs(fastUsPer), fastUntimed[k]!);
    fastUntimed[k] = 0;
  }
}
onStatsRead(() => settleFastTiming(fastCtx?.latencyTracking ?? false));

/** The worker context of the fast batch that runs (runFastLocked's step takes only the client). */
let fastCtx: WorkerContext | null = null;

/** Each kind's command name as argv[0] gives it to a handler (none of them reads it). */
const fastNameBufs = FAST_NAMES.map((name) => Buffer.from(name, 'latin1'));

/** The handler of each handler kind (FAST_FIRST_HANDLER on), found in the command table on first use. */
const fastHandlers: (CommandSpec['handler'] | undefined)[] = [];
function fastHandler(kind: number): NonNullable<CommandSpec['handler']> {
  let h = fastHandlers[kind];
  if (h === undefined) fastHandlers[kind] = h = lookupCommand(fastNameBufs[kind]!)!.handler;
  return h!;
}

/**
 * Fast-path request i of the scratch arrays; its shard's lock is held. GET is handled here and
 * everything else apart, which keeps this small enough for V8 to inline the store's read.
 */
function runFastLocked(c: Client, i: number): void {
  if (fastKinds[i] === FAST_GET) {
    if (!c.store.getIntoHashed(c.parser.input, fastHashes[i]!, c.out, fastKeyAt[i]!, fastKeyLen[i]!)) c.out.nil();
    return;
  }
  runFastOtherLocked(c, i);
}

/** runFastLocked for every kind but GET: as the handlers (commands/strings.ts, keys.ts) do. */
function runFastOtherLocked(c: Client, i: number): void {
  const store = c.store;
  const input = c.parser.input;
  const at = fastKeyAt[i]!;
  const kind = fastKinds[i]!;
  try {
    if (kind >= FAST_FIRST_HANDLER) runFastHandler(c, i, true);
    else if (kind === FAST_SET) {
      store.setHashed(input, fastHashes[i]!, at, fastKeyLen[i]!, fastValueAt[i]!, fastValueLen[i]!, 0);
      c.out.ok();
    } else if (kind === FAST_TTL || kind === FAST_PTTL) {
      const ms = store.pttlHashed(input, fastHashes[i]!, at, fastKeyLen[i]!);
      c.out.int(int64Reply(kind === FAST_TTL ? roundToSeconds(ms) : ms));
    } else if (kind === FAST_EXISTS) {
      c.out.int(store.existsHashed(input, fastHashes[i]!, at, fastKeyLen[i]!));
    } else if (kind >= FAST_SET_EX) {
      // FAST_SET_EX, FAST_SET_PX, FAST_SETEX, FAST_PSETEX (the kinds after them went above): a
      // SET with a relative expiry.
      const seconds = kind === FAST_SET_EX || kind === FAST_SETEX;
      const expireAt = expireAtAt(input, fastNumberAt[i]!, fastNumberLen[i]!, seconds ? 1000 : 1, store.now(), FAST_NAMES[kind]!, true);
      store.setHashed(input, fastHashes[i]!, at, fastKeyLen[i]!, fastValueAt[i]!, fastValueLen[i]!, expireAt);
      c.out.ok();
    } else {
      let delta: number | bigint = kind === FAST_INCR ? 1 : kind === FAST_DECR ? -1 : int64At(input, fastNumberAt[i]!, fastNumberLen[i]!);
      if (kind === FAST_DECRBY) delta = negatedDecrement(delta);
      c.out.int(store.incrByHashed(input, fastHashes[i]!, at, fastKeyLen[i]!, delta));
    }
  } catch (e) {
    fastFailed(c, kind, e);
  }
}

/**
 * Fast-path request i of a handler kind (FAST_FIRST_HANDLER on): its handler, on views of the
 * request's arguments. `hinted`: its key's shard is locked, and the handler's store call reuses
 * the hash the batch computed.
 */
function runFastHandler(c: Client, i: number, hinted: boolean): void {
  const input = c.parser.input;
  const kind = fastKinds[i]!;
  const at = fastKeyAt[i]!;
  const key = input.subarray(at, at + fastKeyLen[i]!);
  const name = fastNameBufs[kind]!;
  const argv = FAST_ARGC[kind] === 2 ? [name, key] : [name, key, input.subarray(fastValueAt[i]!, fastValueAt[i]! + fastValueLen[i]!)];
  if (hinted) c.store.hint(key, fastHashes[i]!);
  try {
    void fastHandler(kind)(fastCtx!, c, argv);
  } catch (e) {
    fastFailed(c, kind, e);
  } finally {
    if (hinted) c.store.hint(null, 0);
  }
}

/** A fast-path request's error reply, counted as its command's failure. */
function fastFailed(c: Client, kind: number, e: unknown): void {
  const mark = commandStart();
  replyFromError(c, e);
  if (commandFailed(mark)) fastStats[kind]!.failed++;
}

/**
 * Which locks a pipelined batch holds (see the top of this file): the union of its shards for the
 * whole batch when this is the only worker, else one shard at a time, per run of commands.
 */
function batchScope(ctx: WorkerContext): 'union' | 'run' {
  return ctx.workers === 1 ? 'union' : 'run';
}

/**
 * Runs step(arg, 0) … step(arg, n - 1) in order, with the locks batchScope calls for held around
 * each step. Step i touches only shard ids[i], or, given `starts`, only the shards
 * ids[starts[i]] … ids[starts[i + 1] - 1] (starts has n + 1 entries). Under 'run', consecutive
 * single-shard steps on the same shard share one lock; any other step is locked alone. Only the
 * ids in use are read, so `ids` may be a longer scratch array. (The RESP fast path and the
 * binary protocol pass no `starts` and allocate nothing here; `arg` rather than a closure, so
 * neither does the step.)
 */
export function runStepsLocked<T>(ctx: WorkerContext, store: Store, ids: number[], n: number, step: (arg: T, i: number) => void, arg: T, starts: number[] | null = null): void {
  if (batchScope(ctx) === 'union') {
    const count = starts === null ? n : starts[n]!;
    store.lockShardsOf(ids, count);
    try {
      for (let i = 0; i < n; i++) step(arg, i);
    } finally {
      store.unlockShardsOf(ids, count);
    }
    return;
  }
  for (let i = 0; i < n; ) {
    if (starts !== null && starts[i + 1]! - starts[i]! !== 1) {
      const locked = store.lockShards(ids.slice(starts[i], starts[i + 1]));
      try {
        step(arg, i++);
      } finally {
        store.unlockShards(locked);
      }
      continue;
    }
    const shard = store.shards[ids[starts === null ? i : starts[i]!]!]!;
    shard.lock();
    try {
      do step(arg, i++);
      while (i < n && (starts === null ? ids[i] === shard.id : starts[i + 1]! - starts[i]! === 1 && ids[starts[i]!] === shard.id));
    } finally {
      shard.unlock();
    }
  }
}

/** CLIENT PAUSE: hold this request (and the connection's input) until the pause ends. */
function holdPaused(ctx: WorkerContext, c: Client, spec: CommandSpec | undefined, argv: Buffer[]): void {
  // Parser views die on the next read: keep copies.
  const copy = copyArgs(argv);
  c.busy = true;
  void waitUnpaused(ctx, c, spec, copy).then(() => {
    c.busy = false;
    if (c.closing) return;
    runOne(ctx, c, spec, copy);
    processInput(ctx, c);
  });
}

/** Runs the batched requests, if any, and empties the batch. */
function drain(ctx: WorkerContext, c: Client, batch: Batch | null): void {
  if (batch === null || batch.n === 0) return;
  runBatch(ctx, c, batch);
  batch.n = 0;
}

function runBatch(ctx: WorkerContext, c: Client, batch: Batch): void {
  const n = batch.n;
  const { specs, argvs } = batch;
  if (n === 1) {
    runOne(ctx, c, specs[0], argvs[0]!);
    return;
  }
  const store = c.store;
  // Command i's shards are ids[starts[i]] up to ids[starts[i + 1]].
  const ids: number[] = [];
  const starts: number[] = [];
  const hashes: number[] = [];
  let prepared = 0;
  for (let i = 0; i < n; i++) {
    const spec = specs[i]!;
    const argv = argvs[i]!;
    starts.push(ids.length);
    if (spec.firstKey === spec.lastKey && spec.firstKey < argv.length) {
      // One key: hash it once here and hand the hash to the store for the command itself.
      const h = hash32(argv[spec.firstKey]!);
      const shard = shardOf(h, store.shardMask);
      hashes.push(h);
      ids.push(shard);
      // Its lookup is prefetched with the others', as the fast path's are (store/prefetch.ts).
      batchHashes[prepared] = h;
      batchShards[prepared] = shard;
      batchReads[prepared++] = (spec.bits & FlagBit.readonly) !== 0 ? 1 : 0;
    } else {
      hashes.push(-1);
      for (const k of keysOf(spec, argv)) ids.push(store.shardIdOf(k));
    }
  }
  starts.push(ids.length);
  if (prepared > 1) store.prefetch(batchHashes, batchShards, batchReads, prepared);
  runStepsLocked(ctx, store, ids, n, (_: null, i: number) => runBatched(ctx, c, specs[i]!, argvs[i]!, hashes[i]!), null, starts);
}

/** runBatch's prefetch of its one-key commands: hashes, shards, and whether each reads its value. */
const batchHashes = new Uint32Array(BATCH_MAX);
const batchShards: number[] = new Array<number>(BATCH_MAX).fill(0);
const batchReads = new Uint8Array(BATCH_MAX);

/** A request of a batch, its shards locked; `h` is the hash of its one key, or -1. */
function runBatched(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[], h: number): void {
  if (h >= 0) c.store.hint(argv[spec.firstKey]!, h);
  runOne(ctx, c, spec, argv);
  c.store.hint(null, 0);
}

export function unknownCommand(argv: Buffer[]): string {
  let args = '';
  for (let i = 1; i < argv.length && args.length < 128; i++) args += `'${cstr(argv[i]!, 128 - args.length)}' `;
  return `ERR unknown command '${cstr(argv[0]!, 128)}', with args beginning with: ${args}`;
}

/** Runs one request with every central check, and drops its reply as CLIENT REPLY says. */
export function runOne(ctx: WorkerContext, c: Client, spec: CommandSpec | undefined, argv: Buffer[]): void {
  const mark = c.out.len;
  const mode = c.replyMode;
  runChecked(ctx, c, spec, argv);
  dropReplyIfQuiet(c, mark, mode);
  if (ctx.dropped.length !== 0) ctx.flushDrops();
}

/**
 * CLIENT REPLY, decided as Redis decides at each reply: with OFF, or for the one request after
 * SKIP, whatever the request wrote (errors and QUEUED included) is dropped. CLIENT REPLY ON
 * turns replies on before it answers, so its OK goes out. `mode` is the mode the request ran
 * under; CLIENT REPLY SKIP leaves 'skip-next', which becomes 'skip' for the request after it.
 */
function dropReplyIfQuiet(c: Client, mark: number, mode: ReplyMode): void {
  const now = c.replyMode;
  if (now === 'off' || (mode === 'skip' && now !== 'on')) c.out.len = mark;
  if (now === 'skip-next') c.replyMode = 'skip';
  else if (now === 'skip') c.replyMode = 'on';
}

function runChecked(ctx: WorkerContext, c: Client, spec: CommandSpec | undefined, argv: Buffer[]): void {
  if (spec === undefined) {
    if (crossProtocol(argv[0]!)) return abortCrossProtocol(ctx, c);
    return reject(c, spec, unknownCommand(argv));
  }
  if (spec.subcommands !== undefined) {
    const parent = spec;
    const sub = subcommandOf(parent, argv);
    if (sub !== undefined) spec = sub;
    else if (parent.handler === undefined) {
      if (argv.length < 2) return reject(c, parent, `ERR wrong number of arguments for '${parent.name}' command`);
      return reject(c, parent, `ERR unknown subcommand '${cstr(argv[1]!, 128)}'. Try ${parent.name.toUpperCase()} HELP.`);
    }
  }
  if (!arityOk(spec.arity, argv.length)) return reject(c, spec, `ERR wrong number of arguments for '${spec.name}' command`);
  const bits = spec.bits;
  if ((bits & FlagBit.protected) !== 0 && !c.allowedBy(ctx.debugCommand)) return reject(c, spec, DEBUG_NOT_ALLOWED);
  if (!c.authenticated && (bits & FlagBit.no_auth) === 0) return reject(c, spec, 'NOAUTH Authentication required.');
  if ((bits & FlagBit.pubsub_context) === 0 && c.inPubSubContext) {
    return reject(c, spec, `ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
  }
  if (c.multi !== null && (bits & FlagBit.not_queued) === 0) {
    if ((bits & FlagBit.no_multi) !== 0) return reject(c, spec, 'ERR Command not allowed inside a transaction');
    // CLIENT LIST's cmd= names it, as Redis's c->lastcmd names the command last looked up.
    c.lastCommand = spec.name;
    c.multi.push(spec, argv);
    c.out.simple('QUEUED');
    return;
  }
  execute(ctx, c, spec, argv);
}

/** Copies of a request's arguments, which the parser's next read would overwrite: views of one new buffer. */
function copyArgs(argv: Buffer[]): Buffer[] {
  let total = 0;
  for (const a of argv) total += a.length;
  const all = Buffer.allocUnsafe(total);
  const out: Buffer[] = new Array(argv.length);
  let at = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    copyInto(all, at, a, 0, a.length);
    out[i] = all.subarray(at, at + a.length);
    at += a.length;
  }
  return out;
}

const DEBUG_NOT_ALLOWED =
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.';

/** An HTTP request line or header sent to the cache: a browser tricked into talking to it. */
function crossProtocol(name: Buffer): boolean {
  const w = word(name);
  return w === 'post' || w === 'host:';
}

/** Redis's securityWarningCommand: log, and drop the connection without a reply. */
function abortCrossProtocol(ctx: WorkerContext, c: Client): void {
  ctx.log('warning', 'Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.');
  c.closing = true;
  c.socket.destroy();
}

/**
 * A request refused by the central checks. Inside MULTI it makes EXEC abort. A refused EXEC
 * discards the transaction and says why, as Redis's rejectCommand/execCommandAbort do.
 */
function reject(c: Client, spec: CommandSpec | undefined, message: string): void {
  if (spec !== undefined) statOf(spec).rejected++;
  if (spec?.name === 'exec') {
    c.clearTransaction();
    writeError(c, `EXECABORT Transaction discarded because of: ${message.startsWith('ERR ') ? message.slice(4) : message}`, false);
    return;
  }
  if (c.multi !== null) c.multiDirty = true;
  writeError(c, message, false);
}

/** Runs a handler and its bookkeeping; also used by EXEC for queued commands. */
export function execute(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  if ((spec.bits & FlagBit.gathers) !== 0) return executeLater(ctx, c, spec, argv);
  // One clock read per command: a command's time runs from the end of the previous one (or its
  // own start after the fast path), which is all the slow log needs.
  const t0 = Number.isNaN(ctx.lastTick) ? performance.now() : ctx.lastTick;
  const mark = commandStart();
  let r: void | Promise<void> = undefined;
  if ((spec.bits & FlagBit.write) !== 0) logWrites(ctx, c);
  try {
    r = spec.handler!(ctx, c, argv);
  } catch (e) {
    replyFromError(c, e);
  }
  if (!(r instanceof Promise)) return afterExecute(ctx, c, spec, argv, t0, mark);
  // The hooks wait for the reply too (an EXEC's own invalidations follow its whole reply).
  // CLIENT LIST names the command meanwhile, as Redis's c->lastcmd (a WAIT blocked in it).
  c.lastCommand = spec.name;
  c.busy = true;
  r.catch((e: unknown) => replyFromError(c, e)).finally(() => {
    afterExecute(ctx, c, spec, argv, t0, mark);
    c.busy = false;
    if (!c.closing) processInput(ctx, c);
  });
}

/** Starts ctx.written afresh for a write command while any client tracks, or stops it. */
function logWrites(ctx: WorkerContext, c: Client): void {
  const on = ctx.shared.peek('trackers') > 0;
  if (on !== (ctx.written !== null)) {
    const log: number[] | null = on ? [] : null;
    ctx.written = log;
    c.store.onWrite(log === null ? null : (h) => log.push(h));
  }
  if (ctx.written !== null) ctx.written.length = 0;
}

/**
 * A `gathers` command: the connection waits (busy) while every worker answers. The reply is
 * appended when complete, so a push sent meanwhile stays whole, and a reply CLIENT REPLY
 * silences (decided now, as nothing can change it while the connection waits) is dropped.
 */
function executeLater(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  const quiet = c.replyMode !== 'on';
  c.busy = true;
  void gatherReply(ctx, c, spec, argv).then((reply) => {
    c.busy = false;
    if (c.closing) return;
    if (!quiet) c.out.raw(reply);
    if (c.closeAfterGather) {
      c.closeAfterGather = false;
      return closeAfterReply(ctx, c);
    }
    processInput(ctx, c);
  });
}

/**
 * Runs a `gathers` command and resolves with its reply bytes (an error reply included), with
 * the bookkeeping counted for `c`. The handler sees a stand-in for `c` whose `out` is a writer of
 * its own, so the reply can be placed later (executeLater, EXEC) and nothing written to c.out
 * meanwhile (a push) is disturbed.
 */
export async function gatherReply(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): Promise<Uint8Array> {
  const reply = new ReplyWriter(256);
  reply.resp = c.out.resp;
  const as = replyingTo(c, reply);
  const t0 = performance.now();
  const mark = commandStart();
  // Current while it runs, as Redis's c->lastcmd: CLIENT LIST shows its caller's line with it.
  c.lastCommand = spec.name;
  c.gathering = true;
  try {
    await spec.handler!(ctx, as, argv);
  } catch (e) {
    replyFromError(as, e);
  } finally {
    c.gathering = false;
  }
  try {
    afterExecute(ctx, c, spec, argv, t0, mark);
  } catch (e) {
    replyFromError(as, e);
  }
  return reply.buf.subarray(0, reply.len);
}

/**
 * `c` with its replies going to `out`. Only `out` differs; every other read and write reaches
 * `c` itself (CLIENT KILL marking its own caller closed must close the real client).
 */
function replyingTo(c: Client, out: ReplyWriter): Client {
  return new Proxy(c, {
    get: (target, key) => (key === 'out' ? out : Reflect.get(target, key, target)),
    set: (target, key, value) => key !== 'out' && Reflect.set(target, key, value, target),
  });
}

/**
 * A command's bookkeeping once its reply is written: statistics, slow log, hooks. `mark` is
 * commandStart() from before it ran.
 */
function afterExecute(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[], t0: number, mark: number): void {
  const t1 = performance.now();
  ctx.lastTick = t1;
  const us = (t1 - t0 - c.blockedMs) * 1000;
  c.blockedMs = 0;
  const st = statOf(spec);
  st.calls++;
  st.usec += us;
  if (ctx.latencyTracking) commandLatency(st, latencyNs(us), 1);
  if (commandFailed(mark)) st.failed++;
  c.commands++;
  c.lastCommand = spec.name;
  ctx.pendingCommands++;
  if (ctx.slowlogThresholdUs >= 0 && us >= ctx.slowlogThresholdUs && (spec.bits & FlagBit.skip_slowlog) === 0) recordSlow(ctx, c, spec, argv, us);
  afterCommand(ctx, c, spec, argv);
}

/** This thread's counters of `spec`, kept on the spec once found (CONFIG RESETSTAT zeroes them in place). */
function statOf(spec: CommandSpec): CommandStat {
  return (spec.stat ??= commandStat(spec.name));
}

/** Hooks other modules add (MONITOR feed, tracking, keyspace notifications). */
const afterHooks: ((ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]) => void)[] = [];
export function onAfterCommand(h: (ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]) => void): void {
  afterHooks.push(h);
}
function afterCommand(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  for (const h of afterHooks) h(ctx, c, spec, argv);
}

/** A command's error reply, from what its handler threw. */
export function replyFromError(c: Client, e: unknown): void {
  if (e instanceof ShardcacheError) writeError(c, e.message, true);
  else if (e instanceof Error) writeError(c, e.message.startsWith('ERR ') || /^[A-Z]+ /.test(e.message) ? e.message : `ERR ${e.message}`, true);
  else writeError(c, `ERR ${String(e)}`, true);
}

/** Every RESP error reply goes out here, counted (command-stats.ts); `ran` as countErrorReply takes it. */
function writeError(c: Client, msg: string, ran: boolean): void {
  countErrorReply(msg, ran);
  c.out.error(msg);
}

function recordSlow(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[], us: number): void {
  const args = argv.slice(0, 32).map((a) => (a.length > 128 ? `${a.subarray(0, 128).toString()}... (${a.length - 128} more bytes)` : a.toString()));
  if (argv.length > 32) args[31] = `... (${argv.length - 31} more arguments)`;
  ctx.slowlog.unshift({ id: ctx.slowlogId++, time: Math.floor(Date.now() / 1000), micros: Math.round(us), argv: args, addr: c.addr, name: c.name ?? '' });
  if (ctx.slowlog.length > ctx.slowlogMaxLen) ctx.slowlog.pop();
}

/** Sends the pending replies, enforcing client-output-buffer-limit. */
export function flush(ctx: WorkerContext, c: Client): void {
  if (c.out.len === 0 || c.socket.destroyed) return;
  afterWrite(ctx, c, c.out.writeTo(c.socket, c.writeNow));
}

/**
 * The bookkeeping of a write of `bytes` to `c`'s socket (RESP and binary connections alike): the
 * counts, client-output-buffer-limit, and backpressure.
 */
export function afterWrite(ctx: WorkerContext, c: Client, bytes: number): void {
  ctx.shared.workerTotalAdd(ctx.index, 'netOut', bytes);
  ctx.netWrites++;
  checkOutputLimit(ctx, c);
  if (!c.closing && !c.outputPaused && c.socket.writableLength > OUTPUT_PAUSE_BYTES) {
    c.outputPaused = true;
    c.socket.pause();
  }
}

/** Clients with pushes written for them this turn (flushSoon), flushed together at its end. */
const flushQueue = new Map<Client, WorkerContext>();

/**
 * Sends `c`'s pending output at the end of this turn of the event loop rather than now: a
 * subscriber, MONITOR or tracking client that many messages reach in one turn (a pipeline of
 * PUBLISHes, a DEL of many keys with keyspace events) gets one write, not one per message, as
 * Redis writes each client's buffer once per event-loop iteration.
 */
export function flushSoon(ctx: WorkerContext, c: Client): void {
  if (flushQueue.size === 0) setImmediate(flushQueued);
  flushQueue.set(c, ctx);
}

/**
 * The check phase (setImmediate) follows the poll phase, so every read and bus message of this
 * turn has run: a microtask would run after each callback instead, and write once per read.
 */
function flushQueued(): void {
  const cs = [...flushQueue];
  flushQueue.clear();
  for (const [x, xctx] of cs) {
    xctx.flushOutbox();
    flush(xctx, x);
  }
}

/** The socket drained: read and run this client's requests again, starting with those buffered. */
export function resumeAfterDrain(ctx: WorkerContext, c: Client): void {
  checkOutputLimit(ctx, c);
  if (!c.outputPaused || c.closing) return;
  c.outputPaused = false;
  c.socket.resume();
  processInput(ctx, c);
}

/** client-output-buffer-limit, and maxmemory-clients: the limits a client's output counts in. */
export function checkOutputLimit(ctx: WorkerContext, c: Client): void {
  const lim = ctx.outputLimits[c.kind];
  const queued = c.socket.writableLength;
  if (lim.hard > 0 && queued > lim.hard) return overLimit(ctx, c, queued);
  if (lim.soft > 0 && queued > lim.soft) {
    const now = Date.now();
    if (c.softLimitSince === 0) c.softLimitSince = now;
    else if (now - c.softLimitSince > lim.softSeconds * 1000) return overLimit(ctx, c, queued);
  } else c.softLimitSince = 0;
  if (ctx.clientsMemLimit > 0) accountClientMemory(ctx, c);
}

function overLimit(ctx: WorkerContext, c: Client, queued: number): void {
  ctx.log('warning', `Client id=${c.id} addr=${c.addr} scheduled to be closed ASAP for overcoming of output buffer limits (${queued} bytes queued).`);
  c.closing = true;
  c.socket.destroy();
}

/** Protocol errors and QUIT: the reply goes out, then the connection closes. */
export function closeAfterReply(ctx: WorkerContext, c: Client): void {
  // The reply is being gathered apart: whoever places it closes the connection after it.
  if (c.gathering) {
    c.closeAfterGather = true;
    return;
  }
  ctx.flushOutbox();
  flush(ctx, c);
  c.closeAfterWrites();
}
