/**
 * Keyspace notifications (notify-keyspace-events): after a write, publish
 * `__keyspace@<db>__:<key>` → event and `__keyevent@<db>__:<event>` → key, for the classes the
 * setting enables (https://redis.io/docs/manual/keyspace-notifications/).
 *   K keyspace, E keyevent, g generic, $ string, x expired, e evicted, n new key, A = g$lshzxetd
 */
import { Buffer } from 'node:buffer';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';

/** The classes 'A' stands for. */
const NOTIFY_ALL = 'g$lshzxetd';

/** The letters a notify-keyspace-events value turns on, 'A' expanded. */
function notifyLetters(v: string): Set<string> {
  return new Set(v.replace('A', NOTIFY_ALL).split(''));
}

/** Enabled classes, parsed once per setting value. */
let parsedFrom = '';
let classes = new Set<string>();

function enabled(ctx: WorkerContext): Set<string> {
  const v = ctx.config.get('notify-keyspace-events') ?? '';
  if (v !== parsedFrom) {
    parsedFrom = v;
    classes = notifyLetters(v);
  }
  return classes;
}

/** Validates a notify-keyspace-events value as Redis does (any of these letters, nothing else). */
export function validNotifyFlags(v: string): boolean {
  return /^[KEg$lshzxeAtmdn]*$/.test(v);
}

/**
 * notify-keyspace-events in Redis's canonical order (notify.c keyspaceEventsFlagsToString): 'A'
 * when every class of A is on, else the classes one by one, then K, E and m. Letters outside
 * the set are dropped: check the value with validNotifyFlags first.
 */
export function canonicalNotifyFlags(v: string): string {
  const on = notifyLetters(v);
  // Redis prints 'A' alone when every class of A is on, dropping 'n' from the text though not
  // from its flags; the value here is the flags, so 'n' stays ('An').
  let out = [...NOTIFY_ALL].every((f) => on.has(f)) ? 'A' : [...`${NOTIFY_ALL}n`].filter((f) => on.has(f)).join('');
  if (out === 'A' && on.has('n')) out += 'n';
  for (const f of 'KEm') if (on.has(f)) out += f;
  return out;
}

/** Whether the setting asks for events of class `type` ('n', '$', ...) on some channel. */
export function notifyClassOn(ctx: WorkerContext, type: string): boolean {
  return classOn(enabled(ctx), type);
}

function classOn(on: Set<string>, type: string): boolean {
  return on.has(type) && (on.has('K') || on.has('E'));
}

export function notify(ctx: WorkerContext, c: Client | null, type: string, event: string, key: Buffer, db = c?.db ?? 0): void {
  // A key found expired when the command looked it up goes first, with those found before it:
  // Redis sends 'expired' at the lookup, and most commands look up and signal key by key (MSET:
  // set a, expired b, set b). The rest go after the command (runOne), or earlier where a
  // handler looks up every key before its first event (RENAME, MOVE: ctx.flushDrops()).
  if (ctx.dropped.length !== 0) {
    const i = ctx.dropped.findIndex((k) => k.db === db && k.key.equals(key));
    if (i >= 0) ctx.flushDrops(i + 1);
  }
  // Redis signals 'new' inside dbAdd, before the event of the command that added the key: the
  // keys created up to this one go first (MSET: new d, set d, new e, set e); an event for a key
  // that was not created (RENAME's rename_from) lets every pending 'new' go before it.
  if (ctx.created.length !== 0) {
    const i = ctx.created.findIndex((k) => k.db === db && k.key.equals(key));
    flushCreated(ctx, i < 0 ? ctx.created.length : i + 1);
  }
  publishEvent(ctx, type, event, key, db);
}

/** The 'new' events of the first `n` keys created since the last flush (Shard.onCreate). */
export function flushCreated(ctx: WorkerContext, n = ctx.created.length): void {
  for (const k of ctx.created.splice(0, n)) publishEvent(ctx, 'n', 'new', k.key, k.db);
}

/** Sends one keyspace event as it is, with no pending 'expired' or 'new' event before it. */
export function publishEvent(ctx: WorkerContext, type: string, event: string, key: Buffer, db: number): void {
  const on = enabled(ctx);
  const ps = ctx.pubsub;
  if (!classOn(on, type) || ps === null) return;
  // Nobody subscribes to anything anywhere: no event can be heard, so none is built.
  if (!ctx.shared.mayBeHeard(ctx.shared.activeChannels())) return;
  if (on.has('K')) ps.publish(Buffer.concat([Buffer.from(`__keyspace@${db}__:`), key]), Buffer.from(event));
  if (on.has('E')) ps.publish(Buffer.from(`__keyevent@${db}__:${event}`), key);
}
