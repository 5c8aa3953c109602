/**
 * The RESP fast path: GET, SET with no option or EX/PX, SETEX, PSETEX, INCR, DECR, INCRBY,
 * DECRBY, TTL, PTTL, single-key EXISTS and the handler kinds (RespParser.nextFast), run for a
 * client that needs none of the per-command machinery, with keys and values read in place from
 * the parser's input, so a batch allocates nothing per request.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { FAST_ARGC, FAST_DECR, FAST_DECRBY, FAST_EXISTS, FAST_FIRST_HANDLER, FAST_GET, FAST_INCR, FAST_KINDS, FAST_NAMES, FAST_NONE, FAST_PTTL, FAST_PUBLISH, FAST_READS_VALUE, FAST_SET, FAST_SET_EX, FAST_SETEX, FAST_TTL } from '../protocol/resp-parser.ts';
import type { RespParser } from '../protocol/resp-parser.ts';
import { commandFailed, commandLatency, commandStart, commandStat, onStatsRead } from './command-stats.ts';
import { latencyNs } from './latency-histogram.ts';
import { hash32, shardOf } from '../store/hash.ts';
import { expireAtAt, int64At, int64Reply, negatedDecrement } from './commands/args.ts';
import { lookupCommand } from './commands/table.ts';
import type { CommandSpec } from './commands/types.ts';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';
import { roundToSeconds } from '../store/store.ts';
import { PREFETCH_MAX } from '../store/prefetch.ts';
import { runStepsLocked } from './lock-scope.ts';
import { replyFromError } from './output.ts';

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
export function fastClient(c: Client): boolean {
  return c.authenticated && c.multi === null && !c.inPubSubContext && c.replyMode === 'on' && c.tracking === null && !c.monitor;
}

/**
 * Reads the fast-path requests at the head of the input into the scratch arrays, up to FAST_MAX
 * and up to and including a PUBLISH, which ends a batch: it runs after the others, holding no
 * shard lock (it has no key, and its delivery to other workers must not wait on a shard).
 * Returns how many it read. Reading ahead leaves every request's bytes in place (the parser moves
 * bytes only on push), so general requests parsed before these can still run first.
 */
export function takeFastRequests(p: RespParser): number {
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
    if (k === FAST_PUBLISH) break;
  }
  return n;
}

/**
 * Runs the n requests takeFastRequests read, as one batch: keys hashed once, their lookups
 * prefetched together, locks taken as batchScope says (lock-scope.ts), commands and replies in
 * request order, a PUBLISH last and unlocked. Their semantics are the handlers'
 * (commands/strings.ts, keys.ts, pubsub.ts); only the table lookup, the central checks (all
 * known to pass for such a client) and the hooks (all known to be idle) are skipped.
 */
export function runFastRequests(ctx: WorkerContext, c: Client, n: number): void {
  const published = fastKinds[n - 1] === FAST_PUBLISH;
  const locked = published ? n - 1 : n;
  const store = c.store;
  const input = c.parser.input;
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
