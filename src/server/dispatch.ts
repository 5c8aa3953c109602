/**
 * Runs parsed requests: table lookup, the central checks (arity, authentication, MULTI queueing,
 * the RESP2 pub/sub context, CLIENT PAUSE), the handler, and the per-command bookkeeping
 * (reply modes, statistics, the slow log, MONITOR).
 *
 * Pipelines: the fast path's requests (fast-path.ts) run as one batch; so do consecutive
 * requests that only touch keys (flag `fast`, or plain reads and writes), under the lock scope
 * lock-scope.ts describes. Any other request runs alone with no shard lock held, so it may take
 * locks of its own in order.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { NEED_MORE, ProtocolError } from '../protocol/resp-parser.ts';
import { commandFailed, commandLatency, commandStart, commandStat } from './command-stats.ts';
import { latencyNs } from './latency-histogram.ts';
import type { CommandStat } from './command-stats.ts';
import { hash32, shardOf } from '../store/hash.ts';
import { cstr, word } from './commands/args.ts';
import { lookupCommand, subcommandOf } from './commands/table.ts';
import { arityOk, FlagBit, keysOf } from './commands/types.ts';
import type { CommandSpec } from './commands/types.ts';
import { pausedFor, waitUnpaused } from './commands/client.ts';
import type { Client, ReplyMode } from './client.ts';
import { ReplyWriter } from '../protocol/resp-writer.ts';
import type { WorkerContext } from './context.ts';
import { flushCreated } from './notify.ts';
import { copyInto } from '../bytes.ts';
import { fastClient, runFastRequests, takeFastRequests } from './fast-path.ts';
import { runStepsLocked } from './lock-scope.ts';
import { checkOutputLimit, closeAfterReply, flush, flushSoon, replyFromError, writeError } from './output.ts';

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
    if (fastOk) {
      const n = takeFastRequests(c.parser);
      if (n !== 0) {
        // The general requests parsed before these run first; a run of general requests with
        // no fast one after it stays one batch.
        drain(ctx, c, batch);
        runFastRequests(ctx, c, n);
        continue;
      }
    }
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

function recordSlow(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[], us: number): void {
  const args = argv.slice(0, 32).map((a) => (a.length > 128 ? `${a.subarray(0, 128).toString()}... (${a.length - 128} more bytes)` : a.toString()));
  if (argv.length > 32) args[31] = `... (${argv.length - 31} more arguments)`;
  ctx.slowlog.unshift({ id: ctx.slowlogId++, time: Math.floor(Date.now() / 1000), micros: Math.round(us), argv: args, addr: c.addr, name: c.name ?? '' });
  if (ctx.slowlog.length > ctx.slowlogMaxLen) ctx.slowlog.pop();
}

/** The socket drained: read and run this client's requests again, starting with those buffered. */
export function resumeAfterDrain(ctx: WorkerContext, c: Client): void {
  checkOutputLimit(ctx, c);
  if (!c.outputPaused || c.closing) return;
  c.outputPaused = false;
  c.socket.resume();
  processInput(ctx, c);
}
