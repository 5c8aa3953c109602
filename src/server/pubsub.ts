/**
 * Pub/sub across worker threads. Subscriptions live with the worker that holds the subscriber's
 * socket; PUBLISH delivers to its own subscribers directly and to the other workers over the
 * BroadcastChannel. The reply count comes from the shared channel table (exact for channels) plus
 * pattern matches against the patterns every worker announces on the bus.
 *
 * Shard channels (Redis 7: SSUBSCRIBE, SPUBLISH) are a second namespace on the same machinery:
 * no pattern matches them, SPUBLISH reaches none of PUBLISH's subscribers and the reverse, and
 * their subscription counts are their own (a client's SSUBSCRIBE reply counts its shard channels
 * only). With one node, every shard channel is served here, as Redis serves them outside a cluster.
 */
import { Buffer } from 'node:buffer';
import { SLOT_CHANNEL, SLOT_PATTERN, SLOT_SHARD_CHANNEL } from '../../native-layout/server.ts';
import { sameBytes } from '../bytes.ts';
import { globMatch } from '../protocol/glob.ts';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';
import { flushSoon } from './output.ts';
import { forEachPublish } from './publish-batch.ts';

/** The head of a message push, before channel and payload (RESP2 array, RESP3 push). */
const MESSAGE2 = Buffer.from('*3\r\n$7\r\nmessage\r\n');
const MESSAGE3 = Buffer.from('>3\r\n$7\r\nmessage\r\n');
const PMESSAGE2 = Buffer.from('*4\r\n$8\r\npmessage\r\n');
const PMESSAGE3 = Buffer.from('>4\r\n$8\r\npmessage\r\n');
const SMESSAGE2 = Buffer.from('*3\r\n$8\r\nsmessage\r\n');
const SMESSAGE3 = Buffer.from('>3\r\n$8\r\nsmessage\r\n');

/** A pattern subscribed on this worker: its bytes, matched against every channel published, and its subscribers. */
interface PatternSubs {
  readonly bytes: Buffer;
  readonly subs: Set<Client>;
}

export class PubSub {
  private readonly ctx: WorkerContext;
  private readonly channels = new Map<string, Set<Client>>();
  private readonly patterns = new Map<string, PatternSubs>();
  private readonly shardChannels = new Map<string, Set<Client>>();
  /** Patterns subscribed on each other worker (announced on the bus), with their counts. */
  private readonly remotePatterns = new Map<number, [Buffer, number][]>();
  /** An announcement of this worker's patterns is due at the end of this turn. */
  private announceQueued = false;

  constructor(ctx: WorkerContext) {
    this.ctx = ctx;
    ctx.onBus((m) => {
      if (m.type === 'publishes') forEachPublish(m.data, (ch, msg, shard) => (shard ? this.deliverShard(ch, msg) : this.deliver(ch, msg)));
      else if (m.type === 'patterns') this.remotePatterns.set(m.from, m.patterns.map(([p, n]) => [Buffer.from(p, 'latin1'), n]));
      else if (m.type === 'patterns-ask') this.announcePatterns();
    });
    ctx.onOutboxFlush(() => this.announceNow());
    ctx.broadcast({ type: 'patterns-ask', from: ctx.index });
    // None yet: replaces, on the others, the patterns of the dead worker this one may replace.
    this.announcePatterns();
  }

  /** Worker `w` died: its pattern subscribers are gone with it. */
  peerDied(w: number): void {
    this.remotePatterns.delete(w);
  }

  private key(b: Buffer): string {
    return b.toString('latin1');
  }

  /** SUBSCRIBE, or SSUBSCRIBE with `shard`, of one channel. */
  subscribe(c: Client, ch: Buffer, shard = false): void {
    this.lastChannel = null;
    const k = this.key(ch);
    const mine = shard ? c.shardChannels : c.channels;
    if (!mine.has(k)) {
      mine.add(k);
      const table = shard ? this.shardChannels : this.channels;
      let set = table.get(k);
      if (set === undefined) table.set(k, (set = new Set()));
      set.add(c);
      this.ctx.channelAdd(ch, 1, shard ? SLOT_SHARD_CHANNEL : SLOT_CHANNEL);
    }
    this.ack(c, shard ? 'ssubscribe' : 'subscribe', ch, shard);
  }

  /** UNSUBSCRIBE, or SUNSUBSCRIBE with `shard`, of one channel. */
  unsubscribe(c: Client, ch: Buffer, reply = true, shard = false): void {
    this.lastChannel = null;
    const k = this.key(ch);
    if ((shard ? c.shardChannels : c.channels).delete(k)) {
      const table = shard ? this.shardChannels : this.channels;
      const set = table.get(k)!;
      set.delete(c);
      if (set.size === 0) table.delete(k);
      this.ctx.channelAdd(ch, -1, shard ? SLOT_SHARD_CHANNEL : SLOT_CHANNEL);
    }
    if (reply) this.ack(c, shard ? 'sunsubscribe' : 'unsubscribe', ch, shard);
  }

  psubscribe(c: Client, p: Buffer): void {
    const k = this.key(p);
    if (!c.patterns.has(k)) {
      c.patterns.add(k);
      let pat = this.patterns.get(k);
      if (pat === undefined) this.patterns.set(k, (pat = { bytes: Buffer.from(p), subs: new Set() }));
      pat.subs.add(c);
      this.ctx.channelAdd(p, 1, SLOT_PATTERN);
      this.announcePatterns();
    }
    this.ack(c, 'psubscribe', p);
  }

  punsubscribe(c: Client, p: Buffer, reply = true): void {
    const k = this.key(p);
    if (c.patterns.delete(k)) {
      const pat = this.patterns.get(k)!;
      pat.subs.delete(c);
      if (pat.subs.size === 0) this.patterns.delete(k);
      this.ctx.channelAdd(p, -1, SLOT_PATTERN);
      this.announcePatterns();
    }
    if (reply) this.ack(c, 'punsubscribe', p);
  }

  /** Drops every subscription of a client (disconnect, RESET). */
  dropClient(c: Client): void {
    for (const k of [...c.channels]) this.unsubscribe(c, Buffer.from(k, 'latin1'), false);
    for (const k of [...c.patterns]) this.punsubscribe(c, Buffer.from(k, 'latin1'), false);
    for (const k of [...c.shardChannels]) this.unsubscribe(c, Buffer.from(k, 'latin1'), false, true);
  }

  /** A (un)subscription's confirmation, with the count Redis 7.0 gives: shard channels count apart. */
  private ack(c: Client, kind: string, name: Buffer | null, shard = false): void {
    c.out.push(3);
    c.out.bulkStr(kind);
    c.out.bulk(name);
    c.out.int(shard ? c.shardChannels.size : c.channels.size + c.patterns.size);
  }

  /** UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE without arguments when nothing is subscribed. */
  ackNone(c: Client, kind: string, shard = false): void {
    this.ack(c, kind, null, shard);
  }

  /**
   * Tells the other workers this worker's patterns, with the next bus post: one message however
   * many changed since (a PSUBSCRIBE of many patterns).
   */
  private announcePatterns(): void {
    this.announceQueued = true;
    this.ctx.scheduleOutbox();
  }

  private announceNow(): void {
    if (!this.announceQueued) return;
    this.announceQueued = false;
    const counts: [string, number][] = [...this.patterns].map(([k, p]) => [k, p.subs.size]);
    this.ctx.broadcast({ type: 'patterns', from: this.ctx.index, patterns: counts });
  }

  /** PUBLISH: delivers everywhere; returns the receivers counted as Redis counts them. */
  publish(ch: Buffer, msg: Buffer): number {
    // A subscription is counted before SUBSCRIBE or PSUBSCRIBE replies, so when nobody can hear
    // the message now (a keyspace event nobody listens to, say), no worker needs to see it.
    const counted = this.ctx.shared.channelCount(ch);
    if (!this.ctx.shared.mayBeHeard(counted)) return 0;
    let n = counted + this.deliver(ch, msg);
    for (const pats of this.remotePatterns.values()) for (const [p, cnt] of pats) if (globMatch(p, ch)) n += cnt;
    if (this.ctx.workers > 1) this.ctx.broadcastPublish(ch, msg);
    return n;
  }

  /** SPUBLISH: delivers to the shard channel's subscribers everywhere; returns how many there are. */
  spublish(ch: Buffer, msg: Buffer): number {
    const counted = this.ctx.shared.channelCount(ch, SLOT_SHARD_CHANNEL);
    if (!this.ctx.shared.mayBeHeard(counted, SLOT_SHARD_CHANNEL)) return 0;
    this.deliverShard(ch, msg);
    if (this.ctx.workers > 1) this.ctx.broadcastPublish(ch, msg, true);
    return counted;
  }

  /** Delivers a shard channel's message to its subscribers on this worker. */
  private deliverShard(ch: Buffer, msg: Buffer): void {
    const subs = this.shardChannels.get(this.key(ch));
    if (subs === undefined) return;
    for (const c of subs) {
      c.out.constant(c.out.resp === 3 ? SMESSAGE3 : SMESSAGE2);
      c.out.bulk(ch);
      c.out.bulk(msg);
      flushSoon(this.ctx, c);
    }
  }

  /** Other subscriber kinds on this worker (binary connections) hear every delivery here. */
  readonly listeners: ((ch: Buffer, msg: Buffer) => void)[] = [];

  /**
   * The channel last delivered to and its subscribers here, so a run of messages to one channel
   * (a pipeline of PUBLISHes, a batch off the bus) looks it up once. Any SUBSCRIBE or UNSUBSCRIBE
   * clears it.
   */
  private lastChannel: Buffer | null = null;
  private lastSubs: Set<Client> | undefined = undefined;

  private subscribersOf(ch: Buffer): Set<Client> | undefined {
    // Patterns only here (a keyspace-event listener): no channel name to look up.
    if (this.channels.size === 0) return undefined;
    const last = this.lastChannel;
    if (last !== null && sameBytes(last, ch)) return this.lastSubs;
    this.lastSubs = this.channels.get(this.key(ch));
    this.lastChannel = Buffer.from(ch);
    return this.lastSubs;
  }

  /** Delivers to this worker's subscribers; returns how many pattern subscriptions here matched. */
  private deliver(ch: Buffer, msg: Buffer): number {
    for (const l of this.listeners) l(ch, msg);
    const subs = this.subscribersOf(ch);
    if (subs !== undefined) {
      for (const c of subs) {
        c.out.constant(c.out.resp === 3 ? MESSAGE3 : MESSAGE2);
        c.out.bulk(ch);
        c.out.bulk(msg);
        flushSoon(this.ctx, c);
      }
    }
    let matched = 0;
    for (const { bytes, subs } of this.patterns.values()) {
      if (!globMatch(bytes, ch)) continue;
      matched += subs.size;
      for (const c of subs) {
        c.out.constant(c.out.resp === 3 ? PMESSAGE3 : PMESSAGE2);
        c.out.bulk(bytes);
        c.out.bulk(ch);
        c.out.bulk(msg);
        flushSoon(this.ctx, c);
      }
    }
    return matched;
  }

  /** This worker's channels (shard channels with `shard`) with subscribers, optionally matching a pattern (PUBSUB CHANNELS, SHARDCHANNELS). */
  localChannels(pattern: Buffer | null, shard = false): string[] {
    const out: string[] = [];
    for (const k of (shard ? this.shardChannels : this.channels).keys()) if (pattern === null || globMatch(pattern, Buffer.from(k, 'latin1'))) out.push(k);
    return out;
  }

  /** Subscribers of a channel (a shard channel with `shard`) on all workers (PUBSUB NUMSUB, SHARDNUMSUB). */
  channelCount(ch: Buffer, shard = false): number {
    return this.ctx.shared.channelCount(ch, shard ? SLOT_SHARD_CHANNEL : SLOT_CHANNEL);
  }
}
