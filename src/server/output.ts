/**
 * What goes out to a client: error replies (counted for INFO errorstats), the flush of pending
 * replies to the socket, client-output-buffer-limit and maxmemory-clients accounting after each
 * write, backpressure, and the close that waits for the last reply (QUIT, protocol errors).
 */
import { ShardcacheError } from '../errors.ts';
import { countErrorReply } from './command-stats.ts';
import { accountClientMemory } from './client-eviction.ts';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';

/**
 * Backpressure: above this many bytes queued for a client's socket, the worker stops reading and
 * executing that client's requests until the socket drains (Node's 'drain'). Memory per slow
 * reader stays bounded even with client-output-buffer-limit at 0 (no limit), as for Redis's
 * normal clients by default.
 */
export const OUTPUT_PAUSE_BYTES = 1024 * 1024;

/** A command's error reply, from what its handler threw. */
export function replyFromError(c: Client, e: unknown): void {
  if (e instanceof ShardcacheError) writeError(c, e.message, true);
  else if (e instanceof Error) writeError(c, e.message.startsWith('ERR ') || /^[A-Z]+ /.test(e.message) ? e.message : `ERR ${e.message}`, true);
  else writeError(c, `ERR ${String(e)}`, true);
}

/** Every RESP error reply goes out here, counted (command-stats.ts); `ran` as countErrorReply takes it. */
export function writeError(c: Client, msg: string, ran: boolean): void {
  countErrorReply(msg, ran);
  c.out.error(msg);
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
