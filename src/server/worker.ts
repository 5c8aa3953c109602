/**
 * A worker thread: adopts sockets the main thread accepted, parses and executes their requests
 * directly against the shared store, and runs the housekeeping of the shards it owns.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from '../store/store.ts';
import { startActiveExpiry } from '../store/expire.ts';
import type { ActiveExpiry } from '../store/expire.ts';
import type { ExpireTally } from '../store/store.ts';
import { Client } from './client.ts';
import { WorkerContext } from './context.ts';
import { processInput, resumeAfterDrain } from './dispatch.ts';
import type { ToWorker, WorkerInit } from './messages.ts';
import { PubSub } from './pubsub.ts';
import { accountClientMemory, forgetClientMemory, installClientEviction } from './client-eviction.ts';
import { resetClientState } from './commands/client.ts';
import { latencySampleIfNeeded } from './commands/diagnostics.ts';
import { answerQuery } from './queries.ts';
import { notifyClassOn, publishEvent } from './notify.ts';
import { installTracking, keysDropped } from './tracking.ts';
import { binaryKeysDropped, maybeAdoptBinary } from './binary.ts';
import { adoptSocket } from './adopt.ts';
import type { BinaryConnection } from './binary.ts';

const init = workerData as WorkerInit;
// The store reads the time the dispatcher took at the start of the batch (ctx.tickClock).
const store = Store.attach(init.store, { clock: () => ctx.nowMs });
const ctx = new WorkerContext(init, store);
ctx.pubsub = new PubSub(ctx);
installClientEviction(ctx);
installTracking(ctx);

/** One receive buffer for every socket of this worker (net.Socket `onread`): no Buffer per read. */
const readBuffer = Buffer.allocUnsafe(64 * 1024);

// Keys the store drops by itself become `expired`/`evicted` keyspace events and tracking
// invalidations, once the shard locks are released.
store.onDrop((key, db, evicted) => ctx.dropped.push({ key, db, evicted }));
// Keys this thread's writes create become 'new' events, but only while the setting asks for them:
// otherwise a write pays nothing.
function watchCreates(): void {
  store.onCreate(notifyClassOn(ctx, 'n') ? (key, db) => ctx.created.push({ key, db }) : null);
}
watchCreates();
ctx.onConfig((name) => {
  if (name === 'notify-keyspace-events') watchCreates();
});
ctx.flushDrops = (n = ctx.dropped.length) => {
  const drops = ctx.dropped.splice(0, n);
  for (const d of drops) {
    publishEvent(ctx, d.evicted ? 'e' : 'x', d.evicted ? 'evicted' : 'expired', d.key, d.db);
    keysDropped(ctx, d.db, [d.key]);
    binaryKeysDropped([d.key]);
  }
};

/** After each active expiry cycle: its events, and its figures for INFO stats. */
function afterExpireCycle(r: ExpireTally): void {
  ctx.flushDrops();
  const s = ctx.shared;
  s.workerTotalAdd(ctx.index, 'expireUs', r.ms * 1000);
  if (r.capped) s.workerAdd(ctx.index, 'expireCapped', 1);
  // expire.c: the stale share is a running average, each cycle weighing 5 %.
  const share = r.sampled > 0 ? r.expired / r.sampled : 0;
  s.workerTotalSet(ctx.index, 'expireStale', share * 0.05 + s.workerTotal(ctx.index, 'expireStale') * 0.95);
  latencySampleIfNeeded(ctx, 'expire-cycle', r.ms);
}

let expiry: ActiveExpiry | null = null;
function restartExpiry(): void {
  expiry?.stop();
  expiry = ctx.activeExpire ? startActiveExpiry(store, ctx.ownedShards, Number(ctx.config.get('hz') ?? 10), () => ctx.tickClock(), afterExpireCycle) : null;
}
restartExpiry();
ctx.onConfig((name) => {
  if (name === 'hz' || name === 'active-expire-enabled') restartExpiry();
});

/** Takes over a socket the main thread accepted: a Client for it, reading into readBuffer. */
function adopt(received: net.Socket): void {
  let client: Client | null = null;
  /** Decided by the connection's first bytes: a binary-protocol connection, or null for RESP. */
  let binary: BinaryConnection | null | undefined;
  const socket = adoptSocket(received, readBuffer, (n: number, buf: Uint8Array) => {
    const c = client!;
    if (c.closing) return false;
    ctx.shared.workerTotalAdd(ctx.index, 'netIn', n);
    ctx.netReads++;
    if (binary === undefined) binary = maybeAdoptBinary(ctx, c, buf, n);
    if (binary !== null) {
      binary.input(buf, n);
      return true;
    }
    c.parser.push(buf, 0, n);
    if (c.parser.pending > ctx.queryBufferLimit) {
      ctx.log('warning', `Closing client that reached max query buffer length: id=${c.id} addr=${c.addr} (qbuf ${c.parser.pending})`);
      c.closing = true;
      socket.destroy();
      return false;
    }
    processInput(ctx, c);
    // A read that grew only the query buffer writes nothing, so afterWrite did not count it.
    if (ctx.clientsMemLimit > 0) accountClientMemory(ctx, c);
    return true;
  });
  const keepalive = Number(ctx.config.get('tcp-keepalive') ?? 0);
  if (keepalive > 0) socket.setKeepAlive(true, keepalive * 1000);
  const id = ctx.shared.add('clientIds', 1);
  const c = new Client(id, socket, store, ctx.requirepass !== '', ctx.maxBulk);
  c.watchCounts = (shard, d) => ctx.shared.watchRegAdd(ctx.index, shard, d);
  client = c;
  ctx.clients.set(id, c);
  ctx.shared.workerAdd(ctx.index, 'connections', 1);
  ctx.shared.workerAdd(ctx.index, 'connectionsReceived', 1);
  ctx.shared.workerAdd(ctx.index, 'adopted', 1);
  socket.on('drain', () => resumeAfterDrain(ctx, c));
  socket.on('error', () => socket.destroy());
  socket.on('end', () => socket.end());
  socket.once('close', () => {
    c.closing = true;
    c.blocked?.('closed');
    resetClientState(ctx, c);
    forgetClientMemory(ctx, c);
    ctx.clients.delete(id);
    ctx.shared.workerAdd(ctx.index, 'connections', -1);
    ctx.shared.add('clients', -1);
  });
  socket.resume();
}

/**
 * Once a second, as Redis's clientsCron: idle clients past `timeout` seconds are closed (not
 * pub/sub subscribers), and query buffers grown for large requests are given back, once idle
 * for 2 s or used to under half since the last pass (their size counts in maxmemory-clients).
 */
setInterval(() => {
  const now = Date.now();
  const limit = ctx.timeoutSec > 0 ? now - ctx.timeoutSec * 1000 : -Infinity;
  for (const c of ctx.clients.values()) {
    if (c.busy || c.gathering) continue;
    if (c.lastInteraction < limit && c.kind === 'normal' && !c.monitor) {
      c.closing = true;
      c.socket.destroy();
    } else if (c.parser.shrink(now - c.lastInteraction >= 2000) && ctx.clientsMemLimit > 0) accountClientMemory(ctx, c);
  }
}, 1000).unref();

parentPort!.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'conn':
      adopt(msg.socket as net.Socket);
      break;
    case 'config':
      ctx.applyConfig(msg.name, msg.value);
      break;
    case 'query':
      Promise.resolve()
        .then(() => answerQuery(ctx, msg.op, msg.args))
        .then(
          (result) => ctx.post({ type: 'answer', id: msg.id, result }),
          (e: Error & { code?: string }) => ctx.post({ type: 'answer', id: msg.id, error: { code: e.code ?? 'ERR', message: e.message } }),
        );
      break;
    case 'rpc-reply':
      ctx.rpcReply(msg.id, msg.result, msg.error);
      break;
    case 'peer-died':
      ctx.pubsub?.peerDied(msg.index);
      break;
    case 'shutdown':
      expiry?.stop();
      for (const c of ctx.clients.values()) c.socket.destroy();
      ctx.close();
      ctx.post({ type: 'closed' });
      // Ends this thread only (in a worker, process.exit stops the thread), letting --cpu-prof write.
      setImmediate(() => process.exit(0));
      break;
  }
});
ctx.post({ type: 'ready' });
