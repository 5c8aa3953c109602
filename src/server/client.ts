/**
 * Per-connection state. One Client per socket, owned by the worker thread that holds the socket.
 */
import type { Socket } from 'node:net';
import { RespParser } from '../protocol/resp-parser.ts';
import { writeNow } from './adopt.ts';
import { ReplyWriter } from '../protocol/resp-writer.ts';
import type { Store, WatchState } from '../store/store.ts';
import type { TxQueue } from './tx-queue.ts';

/** CLIENT REPLY: 'skip-next' right after CLIENT REPLY SKIP, 'skip' during the request it silences. */
export type ReplyMode = 'on' | 'off' | 'skip' | 'skip-next';

export interface TrackingState {
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  prefixes: Buffer[];
  /** Client id receiving invalidations instead of this one (REDIRECT), 0 for self. */
  redirect: number;
  /** OPTIN/OPTOUT: CLIENT CACHING yes|no applies to the next command only. */
  caching: boolean | null;
}

export class Client {
  readonly id: number;
  readonly socket: Socket;
  readonly parser: RespParser;
  /** writeNow (adopt.ts) on this client's socket, for ReplyWriter.writeTo. */
  readonly writeNow: (b: Buffer, n: number) => number;
  /** Replies not yet flushed. EXEC swaps in a writer of its own while it stages a reply (transactions.ts). */
  out = new ReplyWriter();
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt = Date.now();
  lastInteraction = Date.now();
  name: string | null = null;
  libName: string | null = null;
  libVer: string | null = null;
  db = 0;
  store: Store;
  /** Whether the connection may run commands (requirepass met); an unauthenticated one's parser holds requests to Redis's small limits. */
  get authenticated(): boolean {
    return !this.parser.unauthenticated;
  }
  set authenticated(v: boolean) {
    this.parser.unauthenticated = !v;
  }
  replyMode: ReplyMode = 'on';
  noEvict = false;
  noTouch = false;
  /** Queued commands while in MULTI; null outside a transaction. */
  multi: TxQueue | null = null;
  /** A queued command failed to queue (arity, unknown): EXEC will abort. */
  multiDirty = false;
  /** WATCHed keys, as the store saw them at WATCH; each holds a registration until unwatchAll. */
  watched: WatchState[] = [];
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  /** SSUBSCRIBE's shard channels, a namespace apart from `channels`. */
  readonly shardChannels = new Set<string>();
  tracking: TrackingState | null = null;
  monitor = false;
  /** The client is closing: ignore further input. */
  closing = false;
  /**
   * Redis's allowProtectedAction for a setting of enable-debug-command or
   * enable-protected-configs: 'yes', or 'local' and this client is on a loopback address.
   */
  allowedBy(setting: string): boolean {
    if (setting === 'yes') return true;
    if (setting !== 'local') return false;
    const ip = this.socket.remoteAddress ?? '';
    return ip.startsWith('127.') || ip.startsWith('::ffff:127.') || ip === '::1';
  }

  /**
   * A `gathers` command is running for this client (gatherReply), its reply not yet placed; a
   * close it asks for (CLIENT KILL of itself) waits for the reply (closeAfterGather).
   */
  gathering = false;
  closeAfterGather = false;
  /** EXEC is running this client's queued commands. */
  inExec = false;
  /** Input is paused until an async handler finishes. */
  busy = false;
  /** Input is paused until the socket drains (output.ts OUTPUT_PAUSE_BYTES). */
  outputPaused = false;
  lastCommand = '';
  commands = 0;
  /** Set when the output buffer went over the soft limit, to time the soft limit. */
  softLimitSince = 0;
  /** Ends this client's block (blocking.ts), while a command blocks it; null otherwise. */
  blocked: ((how: 'timeout' | 'error' | 'closed') => void) | null = null;
  /** Milliseconds its running command spent blocked: not part of the command's time. */
  blockedMs = 0;
  /** Its block has a timeout (it counts in INFO's clients_in_timeout_table). */
  blockTimed = false;

  /** What this client counts in its worker's WorkerStats.clientMemory (client-eviction.ts). */
  memCounted = 0;

  /**
   * Memory this client holds (CLIENT LIST tot-mem, what maxmemory-clients limits): the query
   * buffer, the arguments of queued MULTI commands, the reply staging buffer and what the socket
   * still holds to send.
   */
  memoryUse(): number {
    return this.parser.capacity + (this.multi === null ? 0 : this.multi.argBytes) + this.out.buf.length + this.socket.writableLength;
  }

  /** Kind for client-output-buffer-limit and CLIENT LIST flags. */
  get kind(): 'normal' | 'pubsub' {
    return this.subscriptions > 0 ? 'pubsub' : 'normal';
  }
  /** RESP2 clients with subscriptions may only run (P|S)(UN)SUBSCRIBE, PING, QUIT, RESET. */
  get inPubSubContext(): boolean {
    return this.out.resp === 2 && this.subscriptions > 0;
  }
  /** Channels, patterns and shard channels subscribed. */
  get subscriptions(): number {
    return this.channels.size + this.patterns.size + this.shardChannels.size;
  }

  /** Leaves MULTI (if in it) and forgets watched keys: DISCARD, EXEC, RESET, a rejected EXEC. */
  clearTransaction(): void {
    this.multi = null;
    this.multiDirty = false;
    this.unwatchAll();
  }

  /**
   * Told of each WATCH registration this client takes (+1) or releases (-1) on a shard: the
   * worker counts them where the main thread can take them back if the worker dies.
   */
  watchCounts: ((shard: number, d: number) => void) | null = null;

  /** WATCH of one key: registers it with the store until unwatchAll. */
  watch(key: Buffer): void {
    const w = this.store.watch(key);
    this.watched.push(w);
    this.watchCounts?.(w.shard, 1);
  }

  /** Forgets the watched keys, releasing their registrations in the store: UNWATCH, and above. */
  unwatchAll(): void {
    for (const w of this.watched) {
      this.store.unwatch(w);
      this.watchCounts?.(w.shard, -1);
    }
    this.watched = [];
  }

  /**
   * Closes the connection once the replies already written have gone out (QUIT, protocol
   * errors), as Redis does: input that arrives meanwhile is ignored, and the socket is destroyed
   * rather than half-closed, so a client that keeps sending cannot keep it open.
   */
  closeAfterWrites(): void {
    this.closing = true;
    this.socket.end(() => this.socket.destroy());
  }

  constructor(id: number, socket: Socket, store: Store, needsAuth: boolean, maxBulk: number) {
    this.id = id;
    this.socket = socket;
    this.writeNow = (b, n) => writeNow(socket, b, n);
    this.store = store;
    this.parser = new RespParser({ maxBulkLen: maxBulk });
    this.authenticated = !needsAuth;
    this.addr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.laddr = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
  }
}
