/**
 * MULTI / EXEC / DISCARD / WATCH / UNWATCH.
 *
 * EXEC is atomic against every thread: it locks the shards of all queued keys and watched keys
 * (every shard when a queued command is not purely keyed) in ascending order, compares the WATCH
 * versions, runs the queue, and unlocks. The shard lock is re-entrant within a thread, so queued
 * commands run through their ordinary handlers.
 *
 * Commands flagged `gathers` (CLIENT LIST, SLOWLOG GET, PUBSUB CHANNELS ...) wait for every
 * worker's answer, which cannot happen while the locks are held. EXEC then writes its reply into
 * a writer of its own with their places left open, runs them in queue order once the locks are
 * released, and sends the assembled reply. They touch no keys, so running them after the atomic
 * part changes nothing another client could see in the keyspace.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { ReplyWriter } from '../../protocol/resp-writer.ts';
import { execute, gatherReply } from '../dispatch.ts';
import { closeAfterReply } from '../output.ts';
import { TxQueue } from '../tx-queue.ts';
import { replyError } from './args.ts';
import { settingsApplied } from './server.ts';
import { ALL_KEYS, cmd, FlagBit, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// MULTI
function multi(_ctx: WorkerContext, c: Client): void {
  if (c.multi !== null) throw replyError('ERR MULTI calls can not be nested');
  c.multi = new TxQueue();
  c.multiDirty = false;
  c.out.ok();
}

// DISCARD
function discard(_ctx: WorkerContext, c: Client): void {
  if (c.multi === null) throw replyError('ERR DISCARD without MULTI');
  c.clearTransaction();
  c.out.ok();
}

// WATCH key [key ...]
function watch(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (c.multi !== null) throw replyError('ERR WATCH inside MULTI is not allowed');
  for (let i = 1; i < argv.length; i++) c.watch(argv[i]!);
  c.out.ok();
}

// UNWATCH
function unwatch(_ctx: WorkerContext, c: Client): void {
  c.unwatchAll();
  c.out.ok();
}

// EXEC
function exec(ctx: WorkerContext, c: Client): void | Promise<void> {
  if (c.multi === null) throw replyError('ERR EXEC without MULTI');
  const queue = c.multi;
  if (c.multiDirty) {
    c.clearTransaction();
    throw replyError('EXECABORT Transaction discarded because of previous errors.');
  }
  const store = c.store;
  let ids: number[] = c.watched.map((w) => w.shard);
  let everything = false;
  let gathers = false;
  for (let i = 0; i < queue.length; i++) {
    const s = queue.spec(i);
    // Gathering commands run after the locks are released: they add none.
    if ((s.bits & FlagBit.gathers) !== 0) {
      gathers = true;
      continue;
    }
    if (s.firstKey <= 0 || (s.bits & FlagBit.admin) !== 0) everything = true;
    // Once every shard is to be locked, keys add nothing; the loop still looks for gathering commands.
    else if (!everything) queue.keyShards(i, store.shardMask, ids);
  }
  if (everything) ids = store.shards.map((s) => s.id);
  const later: Deferred[] = [];
  // CLIENT REPLY as this EXEC runs under it; runOne drops the synchronous part of a quiet reply.
  const quiet = c.replyMode !== 'on';
  const out = c.out;
  let staged = out;
  const mark = out.len;
  const configWrites = ctx.configWrites;
  const locked = store.lockShards(ids);
  try {
    const dirty = c.watched.some((w) => store.watchTouchedLocked(w));
    c.clearTransaction();
    if (dirty) return c.out.nilArray();
    if (gathers) {
      c.out = new ReplyWriter(256);
      c.out.resp = out.resp;
    }
    c.out.array(queue.length);
    c.inExec = true;
    for (let i = 0; i < queue.length; i++) {
      const spec = queue.spec(i);
      if ((spec.bits & FlagBit.gathers) !== 0) later.push({ at: c.out.len, spec, argv: queue.argv(i) });
      else execute(ctx, c, spec, queue.argv(i));
    }
  } finally {
    c.inExec = false;
    staged = c.out;
    c.out = out;
    store.unlockShards(locked);
  }
  // A queued CONFIG SET answered OK at once; the reply as a whole waits, as CONFIG SET alone does,
  // until every worker has the new settings.
  const settles = ctx.configWrites !== configWrites;
  if (later.length === 0 && !settles) return;
  if (staged === out) {
    // At least a few bytes: a writer grows by doubling its size.
    staged = new ReplyWriter(Math.max(64, out.len - mark));
    staged.raw(out.buf.subarray(mark, out.len));
    out.len = mark;
  }
  return runDeferred(ctx, c, staged, later, quiet, settles);
}

/** A `gathers` command of an EXEC: its reply goes at byte `at` of EXEC's staged reply. */
interface Deferred {
  at: number;
  spec: CommandSpec;
  argv: Buffer[];
}

/**
 * Runs EXEC's `gathers` commands in order and appends the assembled EXEC reply to c.out, unless
 * CLIENT REPLY silenced it; with `settles`, only once every worker has the settings the
 * transaction changed.
 */
async function runDeferred(ctx: WorkerContext, c: Client, staged: ReplyWriter, later: Deferred[], quiet: boolean, settles: boolean): Promise<void> {
  const parts: Uint8Array[] = [];
  let from = 0;
  /** Parts kept when a command closed the connection (CLIENT KILL of itself): up to its reply. */
  let cut = -1;
  for (const d of later) {
    parts.push(staged.buf.subarray(from, d.at), await gatherReply(ctx, c, d.spec, d.argv));
    from = d.at;
    if (c.closeAfterGather && cut < 0) cut = parts.length;
  }
  parts.push(staged.buf.subarray(from, staged.len));
  if (settles) await settingsApplied(ctx);
  // As Redis (CLIENT_CLOSE_AFTER_COMMAND, then CLOSE_AFTER_REPLY): the commands after the kill
  // still run, their replies are dropped, and the connection closes after the kill's reply.
  if (!quiet) for (const p of cut < 0 ? parts : parts.slice(0, cut)) c.out.raw(p);
  if (cut >= 0) {
    c.closeAfterGather = false;
    closeAfterReply(ctx, c);
  }
}

export const TRANSACTION_COMMANDS: readonly CommandSpec[] = [
  cmd('multi', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], NO_KEYS, 'transactions', '1.2.0', 'Starts a transaction.', multi, { syntax: 'MULTI' }),
  cmd('exec', 1, ['noscript', 'loading', 'stale', 'skip_slowlog'], NO_KEYS, 'transactions', '1.2.0', 'Executes all commands in a transaction.', exec, { syntax: 'EXEC' }),
  cmd('discard', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], NO_KEYS, 'transactions', '2.0.0', 'Discards a transaction.', discard, { syntax: 'DISCARD' }),
  cmd('watch', -2, ['noscript', 'loading', 'stale', 'fast', 'allow_busy', 'no_multi'], ALL_KEYS, 'transactions', '2.2.0', 'Monitors changes to keys to determine the execution of a transaction.', watch, { syntax: 'WATCH key [key ...]' }),
  cmd('unwatch', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], NO_KEYS, 'transactions', '2.2.0', 'Forgets about watched keys of a transaction.', unwatch, { syntax: 'UNWATCH' }),
];
