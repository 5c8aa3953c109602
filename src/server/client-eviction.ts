/**
 * maxmemory-clients, Redis 7's client eviction: while the memory all clients hold together
 * (Client.memoryUse, what CLIENT LIST shows as tot-mem) is over the limit, the clients holding
 * most are closed, largest first, without a reply, as Redis closes them. Clients with CLIENT
 * NO-EVICT on count towards the total but are never closed.
 *
 * Each worker counts its own clients in its WorkerStats.clientMemory, after each read, write and
 * drain of a client and each query buffer shrink (the points where its buffers change), and only
 * while the limit is on. Only growth can cross the limit, so only growth sums the workers'
 * counts. Each worker also publishes the size of its largest evictable client (clientMemoryTop),
 * raised as clients grow or leave NO-EVICT and set afresh whenever it looks for one to close
 * (so 0 means it has none). A worker over the limit closes its own largest client while no
 * other worker shows a larger one; else it asks that worker on the bus, which does the same, so
 * a stale figure costs one more message. A worker closes only its own clients, and two over the
 * limit at once may each close one where one would have been enough.
 */
import type { Client } from './client.ts';
import { clientsMemoryLimit } from './config.ts';
import type { WorkerContext } from './context.ts';

/** Starts following the setting (and maxmemory, which a percentage is of) on this worker. */
export function installClientEviction(ctx: WorkerContext): void {
  const apply = () => {
    const was = ctx.clientsMemLimit;
    ctx.clientsMemLimit = clientsMemoryLimit(ctx.config.get('maxmemory-clients') ?? '0', Number(ctx.config.get('maxmemory') ?? 0));
    if (ctx.clientsMemLimit === 0) {
      if (was !== 0) stopCounting(ctx);
      return;
    }
    for (const c of ctx.clients.values()) recount(ctx, c);
    evictClientsOver(ctx);
  };
  apply();
  ctx.onConfig((name) => {
    if (name === 'maxmemory-clients' || name === 'maxmemory') apply();
  });
  ctx.onBus((m) => {
    if (m.type === 'evict-clients' && m.to === ctx.index && ctx.clientsMemLimit > 0) evictClientsOver(ctx);
  });
}

/** `c`'s buffers may have changed: counts it again, and closes clients if it grew over the limit. */
export function accountClientMemory(ctx: WorkerContext, c: Client): void {
  if (c.closing) return;
  if (recount(ctx, c) > 0) evictClientsOver(ctx);
}

/** CLIENT NO-EVICT off: `c` may be the client to close now. */
export function evictableAgain(ctx: WorkerContext, c: Client): void {
  if (ctx.clientsMemLimit === 0 || c.closing) return;
  raiseTop(ctx, c);
  evictClientsOver(ctx);
}

/** This worker's largest evictable client is at least `c` (c evictable). */
function raiseTop(ctx: WorkerContext, c: Client): void {
  const s = ctx.shared;
  if (c.memCounted > s.workerTotal(ctx.index, 'clientMemoryTop')) s.workerTotalSet(ctx.index, 'clientMemoryTop', c.memCounted);
}

/** `c` is closed: what it counted goes. */
export function forgetClientMemory(ctx: WorkerContext, c: Client): void {
  if (c.memCounted === 0) return;
  ctx.shared.workerTotalAdd(ctx.index, 'clientMemory', -c.memCounted);
  c.memCounted = 0;
}

/** Counts `c` at its present size; returns the change. */
function recount(ctx: WorkerContext, c: Client): number {
  const d = c.memoryUse() - c.memCounted;
  if (d === 0) return 0;
  c.memCounted += d;
  ctx.shared.workerTotalAdd(ctx.index, 'clientMemory', d);
  if (!c.noEvict) raiseTop(ctx, c);
  return d;
}

function stopCounting(ctx: WorkerContext): void {
  for (const c of ctx.clients.values()) c.memCounted = 0;
  ctx.shared.workerTotalSet(ctx.index, 'clientMemory', 0);
  ctx.shared.workerTotalSet(ctx.index, 'clientMemoryTop', 0);
}

/**
 * While the workers' clients together hold more than the limit, closes this worker's evictable
 * clients, largest first, until another worker shows a larger one, which is then asked instead.
 */
function evictClientsOver(ctx: WorkerContext): void {
  const s = ctx.shared;
  const limit = ctx.clientsMemLimit;
  let total = s.total('clientMemory', ctx.workers);
  if (total <= limit) return;
  // No worker shows a client it may close (CLIENT NO-EVICT ones hold it all): none to look for.
  if (s.workerTotal(ctx.index, 'clientMemoryTop') === 0 && largestElsewhere(ctx)[1] === 0) return;
  const evictable = [...ctx.clients.values()].filter((x) => !x.noEvict && !x.closing && x.memCounted > 0).sort((a, b) => b.memCounted - a.memCounted);
  for (let i = 0; ; i++) {
    const mine = i < evictable.length ? evictable[i]!.memCounted : 0;
    s.workerTotalSet(ctx.index, 'clientMemoryTop', mine);
    if (total <= limit) return;
    const [other, top] = largestElsewhere(ctx);
    if (top > mine) {
      ctx.broadcast({ type: 'evict-clients', from: ctx.index, to: other });
      return;
    }
    if (mine === 0) return;
    const x = evictable[i]!;
    total -= x.memCounted;
    ctx.log('verbose', `Evicting client: id=${x.id} addr=${x.addr} tot-mem=${x.memCounted}`);
    s.workerAdd(ctx.index, 'evictedClients', 1);
    x.closing = true;
    x.socket.destroy();
    forgetClientMemory(ctx, x);
  }
}

/** The other worker showing the largest evictable client, and that client's size. */
function largestElsewhere(ctx: WorkerContext): [number, number] {
  let best = -1;
  let top = 0;
  for (let w = 0; w < ctx.workers; w++) {
    if (w === ctx.index) continue;
    const t = ctx.shared.workerTotal(w, 'clientMemoryTop');
    if (t > top) [best, top] = [w, t];
  }
  return [best, top];
}
