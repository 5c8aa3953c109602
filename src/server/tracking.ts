/**
 * Server-assisted client-side caching (CLIENT TRACKING) across worker threads, with Redis 7's
 * semantics (https://redis.io/docs/manual/client-side-caching/).
 *
 * Default mode: each worker remembers which of its own tracking clients read which key (the keys
 * of read-only commands; OPTIN / OPTOUT narrow that with CLIENT CACHING). A write of a key, on any
 * worker, sends those clients one invalidation and forgets the key until it is read again. BCAST
 * mode remembers nothing: every write of a key under one of the client's prefixes is announced.
 * NOLOOP skips a client's own writes. FLUSHALL / FLUSHDB invalidate everything (a null key list).
 *
 * Across workers: a write is handled locally, then, while the shared 'trackers' counter says some
 * client anywhere tracks, broadcast as {type: 'invalidate'} so every other worker checks its own
 * clients. A REDIRECT target on another worker is reached with ctx.rpc('tracking-deliver').
 *
 * Delivery: RESP3 connections get a push `>2 invalidate [keys]`; a RESP2 connection only through
 * REDIRECT to a connection in pub/sub mode, as a `message` on `__redis__:invalidate` whose payload
 * is the array of keys. Messages for a client that is itself writing go after its reply, and after
 * the whole EXEC reply inside a transaction.
 */
import { Buffer } from 'node:buffer';
import { hash32 } from '../store/hash.ts';
import type { Client, TrackingState } from './client.ts';
import type { WorkerContext } from './context.ts';
import { FlagBit, keysOf } from './commands/types.ts';
import type { CommandSpec } from './commands/types.ts';
import { onAfterCommand } from './dispatch.ts';
import { flushSoon } from './output.ts';
import type { BusMessage } from './messages.ts';
import { registerQuery } from './queries.ts';

const CHANNEL = Buffer.from('__redis__:invalidate');

/** Default mode: key (latin1) → ids of this worker's clients that read it since it last changed. */
const table = new Map<string, Set<number>>();
/** The ids over all of `table`'s keys (INFO tracking_total_items). */
let tableItems = 0;
/** BCAST mode: prefix (latin1) → this worker's clients registered for it. */
const prefixTable = new Map<string, Set<Client>>();
/** Clients whose REDIRECT target went away (TRACKINGINFO broken_redirect, CLIENT LIST flag R). */
const brokenRedirect = new WeakSet<Client>();
/** Clients between MULTI and the end of EXEC/DISCARD: CACHING holds, own messages wait for EXEC. */
const inTx = new WeakSet<Client>();
/** Messages for a client running EXEC, written after its reply. */
const deferred = new Map<Client, (() => void)[]>();
let installed = false;

export interface TrackingOptions {
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  prefixes: Buffer[];
}

/** Hooks tracking into this worker: the after-command hook, the bus, the redirect query. */
export function installTracking(ctx: WorkerContext): void {
  if (installed) return;
  installed = true;
  onAfterCommand(afterCommand);
  ctx.onBus((m: BusMessage) => {
    if (m.type !== 'invalidate' || m.from === ctx.index) return;
    if (m.keys === null) invalidateAll(ctx, null);
    else invalidateKeys(ctx, m.keys, m.by, null);
  });
  // A lower limit is reached at once, not at the next key remembered.
  ctx.onConfig((name) => {
    if (name === 'tracking-table-max-keys' && table.size > 0) holdToLimit(ctx);
  });
  registerQuery('tracking-deliver', (qctx, args) => {
    const r = qctx.clients.get(args[0] as number);
    if (r === undefined) return false;
    deliver(qctx, r, (args[1] as Uint8Array[] | null) ?? null, null, true);
    return true;
  });
}

/** CLIENT TRACKING on: enables or re-enables (options replace the old ones; prefixes add up). */
export function enableTracking(ctx: WorkerContext, c: Client, o: TrackingOptions): void {
  if (c.tracking === null) {
    ctx.countShared('trackers', 1);
    c.tracking = { bcast: false, optin: false, optout: false, noloop: false, prefixes: [], redirect: 0, caching: null };
  }
  const t = c.tracking;
  brokenRedirect.delete(c);
  t.redirect = o.redirect;
  t.bcast = o.bcast;
  t.optin = o.optin;
  t.optout = o.optout;
  t.noloop = o.noloop;
  if (o.bcast) {
    for (const p of o.prefixes.length > 0 ? o.prefixes : [Buffer.alloc(0)]) {
      const k = p.toString('latin1');
      if (t.prefixes.some((q) => q.equals(p))) continue;
      t.prefixes.push(Buffer.from(p));
      let set = prefixTable.get(k);
      if (set === undefined) prefixTable.set(k, (set = new Set()));
      set.add(c);
    }
  }
}

/** CLIENT TRACKING off, RESET and disconnect. Keys it read stay remembered, as in Redis. */
export function disableTracking(ctx: WorkerContext, c: Client): void {
  const t = c.tracking;
  if (t === null) return;
  for (const p of t.prefixes) {
    const k = p.toString('latin1');
    const set = prefixTable.get(k);
    if (set === undefined) continue;
    set.delete(c);
    if (set.size === 0) prefixTable.delete(k);
  }
  c.tracking = null;
  brokenRedirect.delete(c);
  ctx.countShared('trackers', -1);
}

/** Everything tracking keeps for a client (RESET, disconnect). */
export function resetTracking(ctx: WorkerContext, c: Client): void {
  disableTracking(ctx, c);
  inTx.delete(c);
  deferred.delete(c);
}

/**
 * The error Redis gives when a new BCAST prefix overlaps one the client has or another new one
 * (one is a prefix of the other), or null.
 */
export function prefixOverlap(t: TrackingState | null, prefixes: Buffer[]): string | null {
  const overlaps = (a: Buffer, b: Buffer) => a.subarray(0, Math.min(a.length, b.length)).equals(b.subarray(0, Math.min(a.length, b.length)));
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i]!;
    for (const q of t?.prefixes ?? []) {
      if (overlaps(q, p)) return `ERR Prefix '${p.toString()}' overlaps with an existing prefix '${q.toString()}'. Prefixes for a single client must not overlap.`;
    }
    for (let j = i + 1; j < prefixes.length; j++) {
      if (overlaps(p, prefixes[j]!)) return `ERR Prefix '${p.toString()}' overlaps with another provided prefix '${prefixes[j]!.toString()}'. Prefixes for a single client must not overlap.`;
    }
  }
  return null;
}

export function redirectBroken(c: Client): boolean {
  return brokenRedirect.has(c);
}

/** Between MULTI and EXEC/DISCARD (also while EXEC runs the queued commands). */
export function inTransaction(c: Client): boolean {
  return inTx.has(c);
}

/** CLIENT TRACKINGINFO. */
export function writeTrackingInfo(c: Client): void {
  const t = c.tracking;
  const flags: string[] = [];
  if (t === null) flags.push('off');
  else {
    flags.push('on');
    if (t.bcast) flags.push('bcast');
    if (t.optin) {
      flags.push('optin');
      if (t.caching === true) flags.push('caching-yes');
    }
    if (t.optout) {
      flags.push('optout');
      if (t.caching === false) flags.push('caching-no');
    }
    if (t.noloop) flags.push('noloop');
    if (brokenRedirect.has(c)) flags.push('broken_redirect');
  }
  c.out.map(3);
  c.out.bulkStr('flags');
  c.out.set(flags.length);
  for (const f of flags) c.out.bulkStr(f);
  c.out.bulkStr('redirect');
  c.out.int(t === null ? -1 : t.redirect);
  c.out.bulkStr('prefixes');
  c.out.array(t?.prefixes.length ?? 0);
  // In byte order, as Redis lists its radix tree of prefixes.
  for (const p of [...(t?.prefixes ?? [])].sort(Buffer.compare)) c.out.bulk(p);
}

function afterCommand(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  const name = spec.name;
  if (name === 'multi') inTx.add(c);
  const t = c.tracking;
  if (t !== null && !t.bcast && (spec.bits & FlagBit.readonly) !== 0 && spec.firstKey > 0) {
    // OPTIN: only after CLIENT CACHING yes; OPTOUT: unless CLIENT CACHING no.
    if ((!t.optin || t.caching === true) && !(t.optout && t.caching === false)) remember(ctx, c, keysOf(spec, argv));
  }
  if ((spec.bits & FlagBit.write) !== 0) onWrite(ctx, c, spec, argv);
  if (name === 'exec' || name === 'discard') {
    inTx.delete(c);
    const later = deferred.get(c);
    if (later !== undefined) {
      deferred.delete(c);
      for (const f of later) f();
    }
  }
  // CLIENT CACHING lasts for the next command (the whole transaction inside MULTI).
  if (t !== null && t.caching !== null && !inTx.has(c) && !name.startsWith('client|')) t.caching = null;
}

function remember(ctx: WorkerContext, c: Client, keys: Buffer[]): void {
  const before = table.size;
  for (const k of keys) {
    const s = k.toString('latin1');
    let ids = table.get(s);
    if (ids === undefined) table.set(s, (ids = new Set()));
    if (!ids.has(c.id)) {
      ids.add(c.id);
      tableItems++;
    }
  }
  if (table.size !== before) holdToLimit(ctx);
}

function forgetAll(ctx: WorkerContext): void {
  table.clear();
  tableItems = 0;
  publishSize(ctx);
}

/** This worker's table size where the other workers read it (the limit is over all tables). */
function publishSize(ctx: WorkerContext): void {
  ctx.shared.workerPut(ctx.index, 'trackedKeys', table.size);
}

/**
 * tracking-table-max-keys: while the tables of all workers together hold more keys, this worker
 * forgets its oldest, each with an invalidation for its readers (Redis forgets random keys, also
 * with an invalidation). A key remembered on two workers counts twice, as in tracking_total_keys.
 * Workers that trim at once may together forget a few keys more than the excess.
 */
function holdToLimit(ctx: WorkerContext): void {
  publishSize(ctx);
  const max = ctx.trackingMaxKeys;
  if (max === 0) return;
  while (table.size > 0 && ctx.shared.sum('trackedKeys', ctx.workers) > max) evictOldest(ctx);
}

/**
 * This worker's part of INFO's tracking figures: the keys it remembers, the client ids over
 * them, and its BCAST prefixes (INFO counts each prefix once over all workers).
 */
export function trackingFigures(): { keys: number; items: number; prefixes: string[] } {
  return { keys: table.size, items: tableItems, prefixes: [...prefixTable.keys()] };
}

/** The oldest remembered key, invalidated for its readers and forgotten. */
function evictOldest(ctx: WorkerContext): void {
  const first = table.keys().next();
  if (first.done === true) return;
  invalidateKeys(ctx, [Buffer.from(first.value, 'latin1')], 0, null, false);
}

/**
 * The command's keys it really changed, each once: a DEL of a missing key or a RENAME of a key
 * to itself changes nothing and invalidates nothing, as in Redis. A key it found expired is left
 * to the drop that removed it (keysDropped), which invalidates it once.
 */
function changedKeys(ctx: WorkerContext, c: Client, keys: Buffer[]): Buffer[] {
  // Sets, not scans: an MSET of many keys stays linear.
  const written = ctx.written === null ? null : new Set(ctx.written);
  const dropped = new Set(ctx.dropped.filter((d) => d.db === c.db).map((d) => d.key.toString('latin1')));
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const k of keys) {
    const name = k.toString('latin1');
    if (seen.has(name)) continue;
    seen.add(name);
    if (written !== null && !written.has(hash32(k))) continue;
    if (dropped.has(name)) continue;
    out.push(k);
  }
  return out;
}

function onWrite(ctx: WorkerContext, c: Client, spec: CommandSpec, argv: Buffer[]): void {
  if (spec.name === 'flushall' || spec.name === 'flushdb') {
    // Every worker forgets what it remembers, whether anybody tracks now or not, as Redis frees
    // its whole table on a flush.
    invalidateAll(ctx, c);
    if (ctx.workers > 1) ctx.broadcast({ type: 'invalidate', keys: null, db: c.db, by: c.id, from: ctx.index });
    return;
  }
  if (ctx.shared.peek('trackers') <= 0) {
    // Nobody tracks anywhere: whatever is remembered belongs to clients that stopped.
    if (table.size > 0) forgetAll(ctx);
    return;
  }
  const keys = changedKeys(ctx, c, keysOf(spec, argv));
  if (keys.length === 0) return;
  invalidateKeys(ctx, keys, c.id, c);
  if (ctx.workers > 1) ctx.broadcast({ type: 'invalidate', keys: keys.map((k) => new Uint8Array(k)), db: c.db, by: c.id, from: ctx.index });
}

/** Keys the store expired or evicted: invalidated like written keys, on every worker. */
export function keysDropped(ctx: WorkerContext, db: number, keys: Buffer[]): void {
  if (ctx.shared.get('trackers') <= 0) return;
  invalidateKeys(ctx, keys, 0, null);
  if (ctx.workers > 1) ctx.broadcast({ type: 'invalidate', keys: keys.map((k) => new Uint8Array(k)), db, by: 0, from: ctx.index });
}

function startsWith(k: Uint8Array, p: Buffer): boolean {
  if (k.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (k[i] !== p[i]) return false;
  return true;
}

/**
 * Keys changed by client `by` (0: nobody, e.g. a key evicted from the table). `writer` is the
 * client running the command when it runs on this worker.
 */
function invalidateKeys(ctx: WorkerContext, keys: Uint8Array[], by: number, writer: Client | null, bcast = true): void {
  if (bcast && prefixTable.size > 0) {
    // In byte order, each key once: Redis collects a prefix's keys in a radix tree.
    const sorted = [...keys].sort(Buffer.compare);
    const ordered = sorted.filter((k, i) => i === 0 || Buffer.compare(sorted[i - 1]!, k) !== 0);
    for (const [p, clients] of prefixTable) {
      const pb = Buffer.from(p, 'latin1');
      const matched = ordered.filter((k) => startsWith(k, pb));
      if (matched.length === 0) continue;
      for (const t of clients) {
        if (t.tracking === null || (t.tracking.noloop && t.id === by)) continue;
        send(ctx, t, matched, writer);
      }
    }
  }
  if (table.size === 0) return;
  const before = table.size;
  for (const k of keys) {
    const s = Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1');
    const ids = table.get(s);
    if (ids === undefined) continue;
    table.delete(s);
    tableItems -= ids.size;
    for (const id of ids) {
      const t = ctx.clients.get(id);
      if (t === undefined || t.tracking === null || t.tracking.bcast) continue;
      if (t.tracking.noloop && id === by) continue;
      send(ctx, t, [k], writer);
    }
  }
  if (table.size !== before) publishSize(ctx);
}

/** FLUSHALL / FLUSHDB: every tracking client of this worker gets a null invalidation. */
function invalidateAll(ctx: WorkerContext, writer: Client | null): void {
  forgetAll(ctx);
  for (const t of ctx.clients.values()) if (t.tracking !== null) send(ctx, t, null, writer);
}

/** Sends one invalidation for tracking client `t`, to itself or to its REDIRECT target. */
function send(ctx: WorkerContext, t: Client, keys: Uint8Array[] | null, writer: Client | null): void {
  const redirect = t.tracking!.redirect;
  if (redirect === 0) return deliver(ctx, t, keys, writer, false);
  const r = ctx.clients.get(redirect);
  if (r !== undefined) return deliver(ctx, r, keys, writer, true);
  if (ctx.workers <= 1) return redirBroken(ctx, t, writer);
  const copy = keys === null ? null : keys.map((k) => new Uint8Array(k));
  ctx.rpc<(boolean | null)[]>('tracking-deliver', redirect, copy).then(
    (found) => {
      if (!found.some((f) => f === true) && ctx.clients.get(t.id) === t && t.tracking !== null) redirBroken(ctx, t, null);
    },
    () => undefined,
  );
}

function redirBroken(ctx: WorkerContext, t: Client, writer: Client | null): void {
  brokenRedirect.add(t);
  if (t.out.resp !== 3) return;
  const redirect = t.tracking!.redirect;
  emit(ctx, t, writer, () => {
    t.out.push(2);
    t.out.bulkStr('tracking-redir-broken');
    t.out.int(redirect);
  });
}

/** Writes the message on connection `r` in the form its protocol allows, if any. */
function deliver(ctx: WorkerContext, r: Client, keys: Uint8Array[] | null, writer: Client | null, redirected: boolean): void {
  let head: () => void;
  if (r.out.resp === 3) {
    head = () => {
      r.out.push(2);
      r.out.bulkStr('invalidate');
    };
  } else if (redirected && r.kind === 'pubsub') {
    head = () => {
      r.out.push(3);
      r.out.bulkStr('message');
      r.out.bulk(CHANNEL);
    };
  } else return; // RESP2 without a redirect: nothing can carry it
  const held = keys === null ? null : keys.map((k) => Buffer.from(k));
  emit(ctx, r, writer, () => {
    head();
    if (held === null) r.out.nil();
    else {
      r.out.array(held.length);
      for (const k of held) r.out.bulk(k);
    }
  });
}

/** Writes now, or after EXEC's reply when `r` is the client running a transaction. */
function emit(ctx: WorkerContext, r: Client, writer: Client | null, write: () => void): void {
  if (r.closing || r.socket.destroyed) return;
  if (r === writer && inTx.has(r)) {
    let list = deferred.get(r);
    if (list === undefined) deferred.set(r, (list = []));
    list.push(write);
    return;
  }
  write();
  // The running client's replies go out at the end of its batch; anyone else's now.
  if (r !== writer) flushSoon(ctx, r);
}
