/**
 * Everything a worker thread shares among its connections: the store, its copy of the server
 * configuration, the shared counters, the other workers (through the main thread and a
 * BroadcastChannel), and the services built on them (pub/sub, tracking, the slow log).
 */
import { BroadcastChannel, parentPort, receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { Store } from '../store/store.ts';
import type { Client } from './client.ts';
import { parseOutputLimits, SETTING_BY_NAME } from './config.ts';
import type { OutputLimit } from './config.ts';
import type { BusMessage, BusPost, FromWorker, WorkerInit } from './messages.ts';
import { PublishBatch } from './publish-batch.ts';
import { SharedState, slotHashes } from './shared-state.ts';
import { SLOT_CHANNEL } from '../../native-layout/server.ts';
import { ErrorCode, fromCode, ShardcacheError } from '../errors.ts';

export interface SlowlogEntry {
  id: number;
  time: number;
  micros: number;
  argv: string[];
  addr: string;
  name: string;
}

type Listener = (msg: BusMessage) => void;

type PublishesMessage = Extract<BusMessage, { type: 'publishes' }>;
const EMPTY = new Uint8Array(0);

export class WorkerContext {
  readonly index: number;
  readonly store: Store;
  readonly shared: SharedState;
  readonly workers: number;
  readonly ownedShards: number[];
  readonly startedAt: number;
  readonly runId: string;
  readonly config = new Map<string, string>();
  readonly clients = new Map<number, Client>();
  readonly slowlog: SlowlogEntry[] = [];
  slowlogId = 0;
  /** Socket reads and writes this worker made (INFO total_reads_processed, total_writes_processed). */
  netReads = 0;
  netWrites = 0;
  /** Derived settings, refreshed by applyConfig. */
  requirepass = '';
  maxBulk = 512 * 1024 * 1024;
  queryBufferLimit = 1024 ** 3;
  databases = 16;
  outputLimits: Record<'normal' | 'replica' | 'pubsub', OutputLimit> = parseOutputLimits('normal 0 0 0');
  timeoutSec = 0;
  slowlogThresholdUs = 10000;
  /** latency-tracking: commands are counted in their latency histograms (command-stats.ts). */
  latencyTracking = true;
  /** latency-tracking-info-percentiles, as numbers. */
  latencyPercentiles: number[] = [50, 99, 99.9];
  slowlogMaxLen = 128;
  /** tracking-table-max-keys: keys the tracking tables of all workers hold at most (0: no limit). */
  trackingMaxKeys = 1_000_000;
  /** maxmemory-clients in bytes (0: off), kept by client-eviction.ts. */
  clientsMemLimit = 0;
  activeExpire = true;
  /** enable-debug-command: 'no', 'yes' or 'local'. */
  debugCommand = 'no';
  /**
   * The worker's store clock: Unix ms read once per batch of requests (and per housekeeping run)
   * rather than once per command; commands of one batch see the same time, as Redis commands see
   * the time their event-loop iteration started.
   */
  nowMs = Date.now();
  tickClock(): number {
    return (this.nowMs = Date.now());
  }
  /** performance.now() at the end of the last command, NaN when not read since: see execute(). */
  lastTick = NaN;
  /** Keys the store expired or evicted during the current batch (Shard.onDrop), for flushDrops. */
  readonly dropped: { key: Buffer; db: number; evicted: boolean }[] = [];
  /**
   * While any client tracks: hashes of the keys the running write command changed (Store.onWrite),
   * so only those are invalidated, as Redis's signalModifiedKey does. Null while nobody tracks.
   */
  written: number[] | null = null;
  /** Keys this thread's writes created, for the keyspace 'new' event (notify.ts), in order. */
  readonly created: { key: Buffer; db: number }[] = [];
  /**
   * Turns the first `n` of `dropped` into keyspace events and invalidations, in order; set up by
   * the worker. Called after each command and before each event (notify.ts), so an 'expired'
   * goes out where Redis sends it: at the lookup that found the key expired.
   */
  flushDrops: (n?: number) => void = (n = this.dropped.length) => {
    this.dropped.splice(0, n);
  };
  /** Commands run since the shared total was last updated (once per batch, not per command). */
  pendingCommands = 0;
  /** Settings under which GET/SET may take the fast path (fast-path.ts). */
  private fastSettingsOk = true;
  /** Server-wide conditions for the fast path, checked once per batch of input. */
  fastPathOk(): boolean {
    const sh = this.shared;
    return this.fastSettingsOk && sh.peek('pauseMode') === 0 && sh.peek('monitors') === 0 && sh.peek('trackers') === 0;
  }
  private refreshFastSettings(): void {
    // A slow-log threshold under 1 ms, keyspace events or the latency monitor need per-command
    // bookkeeping, which the fast path does not do.
    this.fastSettingsOk =
      (this.config.get('notify-keyspace-events') ?? '') === '' &&
      (this.config.get('latency-monitor-threshold') ?? '0') === '0' &&
      (this.slowlogThresholdUs < 0 || this.slowlogThresholdUs >= 1000);
  }

  /** Set by the worker once the services exist. */
  pubsub: import('./pubsub.ts').PubSub | null = null;
  private readonly bus: BroadcastChannel;
  private readonly busListeners: Listener[] = [];
  private readonly configListeners: ((name: string, value: string) => void)[] = [];
  private rpcSeq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(init: WorkerInit, store: Store) {
    this.index = init.index;
    this.store = store;
    this.shared = new SharedState(init.shared);
    this.workers = init.workers;
    this.ownedShards = init.ownedShards;
    this.startedAt = init.startedAt;
    this.runId = init.runId;
    for (const [k, v] of init.config) this.applyConfig(k, v);
    this.bus = new BroadcastChannel(init.busName);
    this.busSeen = new Array<number>(init.workers).fill(0);
    for (let w = 0; w < init.workers; w++) if (w !== this.index) this.busSeen[w] = this.shared.busPosts(w);
    this.bus.onmessage = (ev) => this.receive((ev as MessageEvent).data as BusPost | BusMessage[]);
  }

  /** The last post seen from each worker (BusPost.seq); a replacement starts from the counts as they stand. */
  private readonly busSeen: number[];

  private receive(data: BusPost | BusMessage[]): void {
    let msgs: BusMessage[];
    if (Array.isArray(data)) msgs = data;
    else {
      if (data.seq > this.busSeen[data.from]!) this.busSeen[data.from] = data.seq;
      msgs = data.msgs;
    }
    for (const msg of msgs) for (const l of this.busListeners) l(msg);
  }

  /**
   * Takes in, now, every bus post another worker made before this call: called before a
   * client's requests run, so a reply a client got on another worker (a PUBLISH, a write that
   * invalidates) is causally before whatever this worker answers next. Redis, on one thread, gives
   * a subscriber a message before the reply to any command it sends after the PUBLISH returned.
   */
  catchUpBus(): void {
    // Alone, there is nobody to catch up with (the common case on every read).
    if (this.workers === 1) return;
    for (let w = 0; w < this.workers; w++) {
      if (w === this.index) continue;
      const posted = this.shared.busPosts(w);
      while (this.busSeen[w]! < posted) {
        // Node documents a BroadcastChannel as a valid port here since v15.12.0; @types/node does not.
        const m = receiveMessageOnPort(this.bus as unknown as MessagePort);
        // Counted but never queued here: posted before this worker's channel existed (this
        // worker is a replacement), counted after it read the counts.
        if (m === undefined) {
          this.busSeen[w] = posted;
          break;
        }
        this.receive(m.message as BusPost | BusMessage[]);
      }
    }
  }

  close(): void {
    this.flushOutbox();
    this.bus.close();
  }

  /**
   * Adds to a server-wide count this worker's clients make up (MONITOR, CLIENT TRACKING), and to
   * the worker's own share of it, which the main thread takes back if the worker dies.
   */
  countShared(name: 'monitors' | 'trackers', d: number): void {
    this.shared.add(name, d);
    this.shared.workerAdd(this.index, name, d);
  }

  /**
   * Counts a subscription in the shared channel table, and tells the main thread, which takes
   * this worker's subscriptions out of the table if it dies (else PUBLISH and PUBSUB NUMSUB would
   * count subscribers that are gone). ChannelLedger says why each change is numbered.
   */
  channelAdd(name: Uint8Array, d: number, kind = SLOT_CHANNEL): void {
    const [a, b] = slotHashes(name, kind);
    const seq = this.shared.workerChannelAdd(this.index, a, b, kind, d);
    this.post({ type: 'subscriptions', a, b, kind, d, seq });
  }

  post(msg: FromWorker): void {
    parentPort?.postMessage(msg);
  }

  log(level: 'debug' | 'verbose' | 'notice' | 'warning', text: string): void {
    this.post({ type: 'log', level, text });
  }

  /**
   * Sends to every other worker, in order with this worker's other bus messages; the sender
   * handles its own share locally. Messages are posted together, one postMessage at the end of
   * this turn of the event loop carrying them all, and the replies of the requests that sent
   * them wait for it (processInput): a pipeline of PUBLISHes, or a DEL or MSET of many keys with
   * keyspace events, posts once per turn, not once per message, and a client that got its reply
   * knows the other workers were told first.
   */
  broadcast(msg: BusMessage): void {
    this.outbox.push(msg);
    this.scheduleOutbox();
  }

  private outbox: BusMessage[] = [];
  private outboxQueued = false;
  private readonly outboxHooks: (() => void)[] = [];
  /** The outbox's PUBLISH batches, whose bytes are set at the post; the last may still grow. */
  private readonly batches: { msg: PublishesMessage; batch: PublishBatch }[] = [];
  /** Batches taken at earlier posts, reused. */
  private readonly spareBatches: PublishBatch[] = [];

  /**
   * A PUBLISH for the other workers: added to the batch at the outbox's tail, or to a new one
   * when another bus message came after it, so the bus keeps this worker's order.
   */
  broadcastPublish(channel: Uint8Array, message: Uint8Array, shard = false): void {
    let last = this.batches[this.batches.length - 1];
    if (last === undefined || this.outbox[this.outbox.length - 1] !== last.msg) {
      last = { msg: { type: 'publishes', data: EMPTY, from: this.index }, batch: this.spareBatches.pop() ?? new PublishBatch() };
      this.batches.push(last);
      this.broadcast(last.msg);
    }
    last.batch.add(channel, message, shard);
  }

  /**
   * Makes sure the outbox is posted by the end of this turn, with what the hooks add: in the
   * check phase, after every read and bus message of the poll phase, so the turn posts once.
   */
  scheduleOutbox(): void {
    if (this.outboxQueued) return;
    this.outboxQueued = true;
    setImmediate(() => {
      // Flushed while still marked queued, so the hooks run even when only they have work.
      this.flushOutbox();
      this.outboxQueued = false;
    });
  }

  /** Bus messages (or hook work) wait to be posted: a reply written now would overtake them. */
  get outboxWaiting(): boolean {
    return this.outboxQueued;
  }

  /** A hook that may add messages (built once per flush, however often they were asked for). */
  onOutboxFlush(h: () => void): void {
    this.outboxHooks.push(h);
  }

  /** Posts the queued bus messages now. */
  flushOutbox(): void {
    // Nothing broadcast or scheduled this turn: the hooks have nothing to add (the common case,
    // on every read).
    if (this.outbox.length === 0 && !this.outboxQueued) return;
    for (const h of this.outboxHooks) h();
    for (const b of this.batches) {
      b.msg.data = b.batch.take();
      this.spareBatches.push(b.batch);
    }
    this.batches.length = 0;
    if (this.outbox.length === 0) return;
    const msgs = this.outbox;
    this.outbox = [];
    const seq = this.shared.busPosts(this.index) + 1;
    this.bus.postMessage({ from: this.index, seq, msgs } satisfies BusPost);
    this.shared.busPosted(this.index);
  }

  onBus(l: Listener): void {
    this.busListeners.push(l);
  }

  onConfig(l: (name: string, value: string) => void): void {
    this.configListeners.push(l);
  }

  applyConfig(name: string, value: string): void {
    this.config.set(name, value);
    switch (name) {
      case 'requirepass':
        this.requirepass = value;
        break;
      case 'proto-max-bulk-len':
        this.maxBulk = Number(value);
        // Redis reads the setting at every bulk header: connections open now take it too.
        for (const c of this.clients.values()) c.parser.setMaxBulkLen(this.maxBulk);
        break;
      case 'client-query-buffer-limit':
        this.queryBufferLimit = Number(value);
        break;
      case 'databases':
        this.databases = Number(value);
        break;
      case 'client-output-buffer-limit':
        this.outputLimits = parseOutputLimits(value);
        break;
      case 'timeout':
        this.timeoutSec = Number(value);
        break;
      case 'slowlog-log-slower-than':
        this.slowlogThresholdUs = Number(value);
        break;
      case 'tracking-table-max-keys':
        this.trackingMaxKeys = Number(value);
        break;
      case 'slowlog-max-len':
        this.slowlogMaxLen = Number(value);
        while (this.slowlog.length > this.slowlogMaxLen) this.slowlog.pop();
        break;
      case 'active-expire-enabled':
        this.activeExpire = value === 'yes';
        break;
      case 'latency-tracking':
        this.latencyTracking = value === 'yes';
        break;
      case 'latency-tracking-info-percentiles':
        this.latencyPercentiles = value === '' ? [] : value.split(' ').map(Number);
        break;
      case 'enable-debug-command':
        this.debugCommand = value;
        break;
    }
    this.refreshFastSettings();
    for (const l of this.configListeners) l(name, value);
  }

  /** CONFIG SET from a client on this worker: apply here, then through the main thread everywhere. */
  setConfig(name: string, value: string): void {
    if (!SETTING_BY_NAME.has(name)) throw new ShardcacheError(ErrorCode.INVALID_ARG, `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`);
    this.applyConfig(name, value);
    this.post({ type: 'config-set', name, value });
    this.configWrites++;
  }
  /** Settings this worker changed (setConfig): an EXEC that changed any waits for the others to have them. */
  configWrites = 0;

  /**
   * Asks every worker (this one included) a question through the main thread; resolves with
   * their answers in worker order.
   */
  rpc<T>(op: string, ...args: unknown[]): Promise<T> {
    const id = ++this.rpcSeq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ type: 'rpc', id, op, args });
    });
  }

  rpcReply(id: number, result: unknown, error?: { code: string; message: string }): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (error !== undefined) p.reject(fromCode(error.code, error.message));
    else p.resolve(result);
  }
}
