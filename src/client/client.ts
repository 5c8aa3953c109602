/**
 * ShardcacheClient: the cache API over the binary protocol, across several servers.
 *
 * Routing: a key's bytes hash (hash32) onto a consistent-hash ring of the primaries; the same
 * hash picks the connection within the node's pool. Replicas: a primary may list servers that
 * hold copies of its keys. Until servers replicate themselves, the client keeps those copies by
 * mirroring every write to the replicas (fire and forget, `mirrorWrites`); reads go to the
 * primary, and to a replica while the primary is down or when a read to it fails.
 *
 * Hot keys: every read is counted in a count-min sketch; a key whose estimate reaches
 * `l1.hotThreshold` is read with tracking on and its value kept in the L1 for `l1.ttl` ms. The
 * server sends an invalidation when the key changes (any client, any protocol) and the entry
 * goes. Losing a tracking connection clears the L1: its invalidations would be lost with it.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { Packr } from 'msgpackr';
import { FrameFlag, Opcode } from '../../native-layout/frames.ts';
import { hash32 } from '../store/hash.ts';
import { Decode } from './connection.ts';
import type { Connection, DecodeKind } from './connection.ts';
import { ClientErrorCode, isTransportError, neverSent, ShardcacheClientError } from './errors.ts';
import { entryCost, L1_DEFAULTS, L1Cache } from './l1.ts';
import { Loader } from './loader.ts';
import type { KeyRef, LoaderHost, LoaderStats, LoadOptions } from './loader.ts';
import { NodeHandle } from './node.ts';
import type { NodeAddress, NodeListener, NodeSettings } from './node.ts';
import { HashRing } from './ring.ts';
import { CountMinSketch } from './sketch.ts';

export type Key = string | Buffer;

export interface NodeOptions {
  host: string;
  port: number;
  /** Ring identity; `host:port` by default. Keep it stable: it decides which keys the node owns. */
  id?: string;
  /** Share of the ring relative to other nodes (1 by default). */
  weight?: number;
  /** Servers holding copies of this node's keys, as `host:port` or objects. */
  replicas?: (string | NodeAddress)[];
}

export interface L1Options {
  /**
   * Byte bound of the local cache (default 64 MiB), counting each entry's heap cost: its key,
   * its value and about 232 bytes of Map slots, promise and Buffer object.
   */
  maxBytes?: number;
  /**
   * How long an entry may be served without asking the server (default 5000 ms). Invalidation
   * pushes keep the L1 coherent; the TTL bounds staleness only if one were lost, and each expiry
   * costs a hot key one more round trip.
   */
  ttl?: number;
  /**
   * Sketch estimate from which a key is cached locally (default 2: admitted on its second read
   * within the decaying window, which keeps out the one-hit wonders of a long tail, as a CDN's
   * cache-on-second-hit does). Raise it to keep only the hottest keys.
   */
  hotThreshold?: number;
  /** Sketch counters per row (default 16384); the window is 10× this many reads. */
  sketchWidth?: number;
}

export interface ClientOptions {
  nodes: (string | NodeOptions)[];
  password?: string;
  /** Connections per node (default 2). */
  poolSize?: number;
  /** Request timeout, ms (default 1000). */
  timeout?: number;
  /** Connect timeout, ms (default: timeout). */
  connectTimeout?: number;
  /** Retries after a transport failure (default 2); writes that are not idempotent retry only if never sent. */
  retries?: number;
  /** First retry delay, ms, doubled per attempt with jitter (default 10). */
  retryBackoff?: number;
  /** Consecutive failures that mark a node down (default 3). */
  failureThreshold?: number;
  /** Delay between probes of a down node, ms (default 500). */
  probeInterval?: number;
  /** Virtual nodes per unit of weight (default 150). */
  vnodes?: number;
  /** Probe points per ring lookup (default 3; 1 is the classic ring). */
  ringProbes?: number;
  /** 'raw': values are bytes (strings are stored as UTF-8, reads return Buffers). 'msgpack': any msgpackr value. */
  codec?: 'raw' | 'msgpack';
  /** Send every write to the replicas too (default true, until servers replicate themselves). */
  mirrorWrites?: boolean;
  /** getOrLoad TTL jitter fraction (default 0.1). */
  ttlJitter?: number;
  /** getOrLoad XFetch beta (default 1; 0 disables early refresh). */
  earlyRefreshBeta?: number;
  /** getOrLoad cross-process lock TTL, ms (default 2000). */
  lockTtl?: number;
  /** How long getOrLoad waits for another process's load before loading itself, ms (default: lockTtl). */
  lockWait?: number;
  /** Hot-key L1 cache; false to disable. On by default. */
  l1?: false | L1Options;
}

export interface SetOptions {
  /** Time to live, ms. */
  ttl?: number;
  /** Only if absent. */
  nx?: boolean;
  /** Only if present. */
  xx?: boolean;
}

export interface Subscription {
  readonly channel: string;
  unsubscribe(): Promise<void>;
}

export interface ClientStats {
  requests: number;
  retries: number;
  failovers: number;
  errors: number;
  mirrorFailures: number;
  l1: { enabled: boolean; hits: number; misses: number; entries: number; bytes: number; maxBytes: number; evictions: number; rejected: number; invalidations: number };
  hotKeys: { key: string; estimate: number }[];
  stampede: LoaderStats;
  nodes: { id: string; up: boolean; failures: number; timeouts: number; inflight: number; replicas: { id: string; up: boolean }[] }[];
}

type MessageHandler = (message: Buffer, channel: string) => void;

const HOT_KEYS_KEPT = 32;
const LOCK_SUFFIX = Buffer.from('\0sc:lock');
const BUFFER_KEY = '\ud800';
const msgpack = new Packr({ useRecords: false });

function parseAddress(a: string | NodeAddress): NodeAddress {
  if (typeof a !== 'string') return a;
  const i = a.lastIndexOf(':');
  if (i <= 0) throw new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `node address '${a}' is not host:port`);
  const port = Number(a.slice(i + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `node address '${a}' has no valid port`);
  return { host: a.slice(0, i), port };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class ShardcacheClient<V = Buffer> extends EventEmitter {
  private readonly ring: HashRing<NodeHandle>;
  private readonly nodes = new Map<string, NodeHandle>();
  private readonly settings: NodeSettings;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly msgpack: boolean;
  private readonly mirrorWrites: boolean;
  /** Values as resolved promises: a hit returns the stored one (see l1.ts). */
  private readonly l1: L1Cache<Promise<Buffer>> | null;
  private readonly sketch: CountMinSketch | null;
  private readonly hotThreshold: number;
  private readonly hotKeys = new Map<string, number>();
  private hotFloor = 0;
  private readonly loader: Loader;
  /** Keys somebody waits to see change (getOrLoad waiters), woken by invalidations. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private readonly counters = { requests: 0, retries: 0, failovers: 0, errors: 0, mirrorFailures: 0 };
  private readonly listener: NodeListener;

  constructor(opts: ClientOptions) {
    super();
    this.timeoutMs = opts.timeout ?? 1000;
    this.retries = opts.retries ?? 2;
    this.backoffMs = opts.retryBackoff ?? 10;
    this.msgpack = opts.codec === 'msgpack';
    this.mirrorWrites = opts.mirrorWrites ?? true;
    this.settings = {
      poolSize: Math.max(1, opts.poolSize ?? 2),
      timeoutMs: this.timeoutMs,
      connectTimeoutMs: opts.connectTimeout ?? this.timeoutMs,
      failureThreshold: Math.max(1, opts.failureThreshold ?? 3),
      probeIntervalMs: opts.probeInterval ?? 500,
      password: opts.password,
    };
    this.ring = new HashRing({ vnodes: opts.vnodes ?? 150, probes: opts.ringProbes ?? 3 });
    const l1 = opts.l1 === false ? null : (opts.l1 ?? {});
    this.l1 = l1 === null ? null : new L1Cache(l1.maxBytes ?? L1_DEFAULTS.maxBytes, l1.ttl ?? L1_DEFAULTS.ttlMs);
    this.sketch = l1 === null ? null : new CountMinSketch({ width: l1.sketchWidth ?? L1_DEFAULTS.sketchWidth });
    this.hotThreshold = l1?.hotThreshold ?? L1_DEFAULTS.hotThreshold;
    this.listener = this.makeListener();
    const lockTtl = opts.lockTtl ?? 2000;
    this.loader = new Loader(this.loaderHost(), { jitter: opts.ttlJitter ?? 0.1, beta: opts.earlyRefreshBeta ?? 1, lockTtlMs: lockTtl, lockWaitMs: opts.lockWait ?? lockTtl });
    for (const n of opts.nodes) this.addNode(n);
    const every = Math.max(5, Math.min(50, Math.floor(this.timeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), every);
    this.sweeper.unref();
  }

  // ---- topology -------------------------------------------------------------------------------

  /** Adds a primary (and its replicas) to the ring; about 1/N of the keys move to it. */
  addNode(spec: string | NodeOptions): string {
    const o: NodeOptions = typeof spec === 'string' ? parseAddress(spec) : spec;
    const id = o.id ?? `${o.host}:${o.port}`;
    if (this.nodes.has(id)) throw new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `node ${id} is already in the ring`);
    const weight = o.weight ?? 1;
    const node = new NodeHandle(id, o, weight, this.settings, this.listener);
    for (const r of o.replicas ?? []) {
      const a = parseAddress(r);
      const rep = new NodeHandle(`${a.host}:${a.port}`, a, 1, this.settings, this.listener);
      rep.primary = node;
      node.replicas.push(rep);
    }
    this.ring.add(id, node, weight);
    this.nodes.set(id, node);
    return id;
  }

  /** Removes a primary; its keys fall to the other nodes. */
  removeNode(id: string): boolean {
    const node = this.nodes.get(id);
    if (node === undefined) return false;
    this.ring.remove(id);
    this.nodes.delete(id);
    node.close();
    for (const r of node.replicas) r.close();
    this.l1?.clear();
    return true;
  }

  /** The node id that owns a key. */
  nodeFor(key: Key): string {
    return this.route(hash32(this.bytes(key))).id;
  }

  // ---- the cache API ----------------------------------------------------------------------------

  get(key: Key): Promise<V | null> {
    const p = this.getRaw(key);
    return this.msgpack ? p.then((v) => (v === null ? null : (this.decode(v) as V))) : (p as Promise<V | null>);
  }

  /**
   * Date.now() for L1 lookups, read once per run of microtasks: at a million hits a second the
   * clock read is a measurable share of a hit, and within one run of continuations time barely
   * moves. The reading is dropped by a microtask queued behind the continuations already
   * waiting. A long synchronous run can serve an entry past its TTL by that run's length; no
   * invalidation could have been read meanwhile anyway. Deadlines and fill times read the clock
   * itself.
   */
  private clock(): number {
    if (!this.clockValid) {
      this.clockNow = Date.now();
      this.clockValid = true;
      queueMicrotask(this.dropClock);
    }
    return this.clockNow;
  }
  private clockNow = 0;
  private clockValid = false;
  private readonly dropClock = (): void => {
    this.clockValid = false;
  };

  /** A value's bytes, through the L1; counts the access and fills the L1 for a hot key. */
  private getRaw(key: Key): Promise<Buffer | null> {
    const l1 = this.l1;
    let s: string | null = null;
    if (l1 !== null) {
      // The hit path: one lookup by the key as given, nothing encoded, hashed or counted.
      s = this.str(key);
      const hit = l1.get(s, this.clock());
      if (hit !== undefined) return hit;
    }
    const b = this.bytes(key);
    const h = hash32(b);
    let fill: string | null = null;
    if (s !== null) {
      // Misses are what the sketch counts: a key in the L1 is hot already.
      const est = this.sketch!.increment(h);
      if (est >= this.hotThreshold && (typeof key !== 'string' || key.isWellFormed())) {
        fill = s;
        this.noteHot(s, est);
      }
    }
    return this.read(b, h, Opcode.GET, 0, Decode.VALUE, fill) as Promise<Buffer | null>;
  }

  /** Writes a value; false when NX/XX prevented it. */
  set(key: Key, value: V | string | Buffer, opts?: SetOptions): Promise<boolean> {
    const b = this.bytes(key);
    const h = hash32(b);
    this.forget(key, b);
    let meta: Buffer | null = null;
    if (opts !== undefined && (opts.ttl !== undefined || opts.nx === true || opts.xx === true)) {
      const o: Record<string, unknown> = {};
      if (opts.ttl !== undefined) {
        if (!Number.isInteger(opts.ttl) || opts.ttl <= 0) return Promise.reject(new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `ttl must be a positive integer of ms, got ${opts.ttl}`));
        o.px = opts.ttl;
      }
      if (opts.nx === true) o.nx = true;
      if (opts.xx === true) o.xx = true;
      meta = msgpack.pack(o);
    }
    const idempotent = meta === null || (opts?.nx !== true && opts?.xx !== true);
    return this.write(b, h, Opcode.SET, meta, this.encode(value), 0, Decode.COUNT, idempotent, true).then((n) => n === 1);
  }

  /** Deletes a key; true if it existed. */
  delete(key: Key): Promise<boolean> {
    const b = this.bytes(key);
    const h = hash32(b);
    this.forget(key, b);
    return this.write(b, h, Opcode.DELETE, null, null, 0, Decode.COUNT, true, true).then((n) => n === 1);
  }

  exists(key: Key): Promise<boolean> {
    const b = this.bytes(key);
    return this.read(b, hash32(b), Opcode.EXISTS, 0, Decode.COUNT, null).then((n) => n === 1);
  }

  /** Adds `delta` to an integer value (a missing key counts as 0); returns the new value. */
  /** The new value: a number, or a bigint once it is beyond 2^53 (the server counts in 64 bits). */
  increment(key: Key, delta: number | bigint = 1): Promise<number | bigint> {
    if (typeof delta === 'number' && !Number.isSafeInteger(delta)) return Promise.reject(new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `delta must be a safe integer, got ${delta}`));
    const b = this.bytes(key);
    const h = hash32(b);
    this.forget(key, b);
    const v = Buffer.allocUnsafe(8);
    v.writeBigInt64LE(BigInt(delta));
    return this.write(b, h, Opcode.INCR, null, v, 0, Decode.I64, false, true) as Promise<number | bigint>;
  }

  decrement(key: Key, delta: number | bigint = 1): Promise<number | bigint> {
    return this.increment(key, typeof delta === 'bigint' ? -delta : -delta);
  }

  /** Sets a key's time to live, ms; false if the key does not exist. */
  expire(key: Key, ttlMs: number): Promise<boolean> {
    const b = this.bytes(key);
    const h = hash32(b);
    this.forget(key, b);
    const v = Buffer.allocUnsafe(8);
    v.writeBigInt64LE(BigInt(Math.trunc(ttlMs)));
    return this.write(b, h, Opcode.EXPIRE, null, v, 0, Decode.COUNT, true, true).then((n) => n === 1);
  }

  /** Remaining time to live in ms; -1 without expiry, -2 for a missing key. */
  ttl(key: Key): Promise<number> {
    const b = this.bytes(key);
    return this.read(b, hash32(b), Opcode.TTL, 0, Decode.I64, null) as Promise<number>;
  }

  /** Values of several keys (null where missing), one request per node involved. */
  async mget(keys: readonly Key[]): Promise<(V | null)[]> {
    const out: (V | null)[] = new Array(keys.length).fill(null);
    const groups = new Map<NodeHandle, { idx: number[]; bytes: Buffer[]; h: number }>();
    const now = this.clock();
    const hits: [number, Promise<Buffer>][] = [];
    for (let i = 0; i < keys.length; i++) {
      const b = this.bytes(keys[i]!);
      const h = hash32(b);
      if (this.l1 !== null) {
        const hit = this.l1.get(this.str(keys[i]!, b), now);
        if (hit !== undefined) {
          hits.push([i, hit]);
          continue;
        }
      }
      const node = this.route(h);
      let g = groups.get(node);
      if (g === undefined) groups.set(node, (g = { idx: [], bytes: [], h }));
      g.idx.push(i);
      g.bytes.push(b);
    }
    await Promise.all(
      [...groups].map(async ([node, g]) => {
        const vals = (await this.readEntries(node, g.h, Opcode.MGET, g.bytes, g.bytes.length)) as (Buffer | null)[];
        for (let j = 0; j < g.idx.length; j++) out[g.idx[j]!] = vals[j] === null ? null : (this.decode(vals[j]!) as V);
      }),
    );
    for (const [i, p] of hits) out[i] = this.decode(await p) as V;
    return out;
  }

  /** Writes several keys, one request per node involved (atomic per node, not across nodes). */
  async mset(entries: Iterable<readonly [Key, V | string | Buffer]> | Record<string, V | string | Buffer>): Promise<void> {
    const list: (readonly [Key, V | string | Buffer])[] = Symbol.iterator in Object(entries) ? [...(entries as Iterable<readonly [Key, V | string | Buffer]>)] : Object.entries(entries);
    const groups = new Map<NodeHandle, { items: Buffer[]; h: number }>();
    for (const [k, v] of list) {
      const b = this.bytes(k);
      const h = hash32(b);
      this.forget(k, b);
      const node = this.route(h);
      let g = groups.get(node);
      if (g === undefined) groups.set(node, (g = { items: [], h }));
      g.items.push(b, this.encode(v));
    }
    await Promise.all([...groups].map(([node, g]) => this.writeEntries(node, g.h, Opcode.MSET, g.items, g.items.length / 2)));
  }

  /**
   * The cached value, or the loader's (stored with a jittered TTL) on a miss, with the stampede
   * defence described in loader.ts. With the raw codec the result is always a Buffer.
   */
  getOrLoad(key: Key, loader: () => V | string | Buffer | Promise<V | string | Buffer>, opts: LoadOptions): Promise<V> {
    return this.loader.getOrLoad(this.ref(key), loader, opts) as Promise<V>;
  }

  /** Publishes on the channel's home (pubsubHome); resolves with the receivers counted there. */
  publish(channel: string, message: string | Buffer): Promise<number> {
    const b = Buffer.from(channel);
    const h = hash32(b);
    const node = this.route(h);
    const home = this.pubsubHome(node);
    if (home === null) return Promise.reject(node.downError());
    return this.request(home, h, Opcode.PUBLISH, 0, b, null, typeof message === 'string' ? Buffer.from(message) : message, 0, Decode.COUNT, null) as Promise<number>;
  }

  /**
   * Subscribes on the node that owns the channel name, or on the replica that serves its
   * channels while it is down (pubsubHome); resubscribes after a reconnect. Delivery is at most
   * once, as in Redis: messages published while a home moves can be lost.
   */
  async subscribe(channel: string, handler: MessageHandler): Promise<Subscription> {
    const b = Buffer.from(channel);
    const node = this.route(hash32(b));
    const key = b.toString('latin1');
    let set = this.handlers.get(key);
    if (set === undefined) this.handlers.set(key, (set = new Set()));
    set.add(handler);
    if (!node.channels.has(key)) {
      const at = node.carrier ?? node;
      node.channels.add(key);
      at.channels.add(key);
      try {
        await this.channelOp(at, Opcode.SUBSCRIBE, b);
      } catch (e) {
        node.channels.delete(key);
        at.channels.delete(key);
        set.delete(handler);
        throw e;
      }
    }
    return {
      channel,
      unsubscribe: async () => {
        const s = this.handlers.get(key);
        s?.delete(handler);
        if (s !== undefined && s.size === 0) {
          this.handlers.delete(key);
          const at = node.carrier ?? node;
          node.channels.delete(key);
          at.channels.delete(key);
          await this.channelOp(at, Opcode.UNSUBSCRIBE, b).catch(() => {});
        }
      },
    };
  }

  /** PING every primary; resolves with the round-trip ms per node id. */
  async ping(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        const t0 = performance.now();
        await this.request(n, 0, Opcode.PING, 0, null, null, null, 0, Decode.NONE, null);
        out[n.id] = performance.now() - t0;
      }),
    );
    return out;
  }

  /** The servers' INFO (msgpackr objects) per primary node id. */
  async info(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    await Promise.all([...this.nodes.values()].map(async (n) => (out[n.id] = await this.request(n, 0, Opcode.INFO, 0, null, null, null, 0, Decode.META, null))));
    return out;
  }

  stats(): ClientStats {
    const l1 = this.l1;
    return {
      ...this.counters,
      l1: {
        enabled: l1 !== null,
        hits: l1?.hits ?? 0,
        misses: l1?.misses ?? 0,
        entries: l1?.size ?? 0,
        bytes: l1?.bytes ?? 0,
        maxBytes: l1?.maxBytes ?? 0,
        evictions: l1?.evictions ?? 0,
        rejected: l1?.rejected ?? 0,
        invalidations: l1?.invalidations ?? 0,
      },
      hotKeys: [...this.hotKeys].map(([key, estimate]) => ({ key, estimate })).sort((a, b) => b.estimate - a.estimate),
      stampede: { ...this.loader.stats },
      nodes: [...this.nodes.values()].map((n) => ({
        id: n.id,
        up: n.up,
        failures: n.failures,
        timeouts: n.timeouts,
        inflight: n.inflight,
        replicas: n.replicas.map((r) => ({ id: r.id, up: r.up })),
      })),
    };
  }

  /** Closes every connection; pending requests fail with SC_CLIENT_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    for (const n of this.nodes.values()) {
      n.close();
      for (const r of n.replicas) r.close();
    }
    this.l1?.clear();
    for (const set of this.waiters.values()) for (const w of set) w();
    this.waiters.clear();
  }

  // ---- requests, retries, failover --------------------------------------------------------------

  private route(h: number): NodeHandle {
    if (this.closed) throw new ShardcacheClientError(ClientErrorCode.CLOSED, 'the client is closed');
    const n = this.ring.lookup(h);
    if (n === undefined) throw new ShardcacheClientError(ClientErrorCode.NO_NODES, 'no nodes in the ring');
    return n;
  }

  /** Where a read goes on attempt `attempt`: the live copies in turn, primary first. */
  private readTarget(node: NodeHandle, attempt: number): NodeHandle | null {
    if (node.replicas.length === 0) return node.up ? node : null;
    const live: NodeHandle[] = [];
    if (node.up) live.push(node);
    for (const r of node.replicas) if (r.up) live.push(r);
    if (live.length === 0) return null;
    return live[attempt % live.length]!;
  }

  private request(node: NodeHandle, h: number, op: number, flags: number, key: Buffer | null, meta: Buffer | null, value: Buffer | null, count: number, decode: DecodeKind, fill: string | null): Promise<unknown> {
    this.counters.requests++;
    let conn: Connection;
    try {
      conn = node.conn(h);
    } catch (e) {
      return Promise.reject(e);
    }
    const deadline = Date.now() + this.timeoutMs;
    if (fill !== null) {
      conn.ensureTracking(deadline);
      flags |= FrameFlag.TRACK;
    }
    return conn.request(op, flags, key, meta, value, count, decode, deadline, fill);
  }

  private read(b: Buffer, h: number, op: number, flags: number, decode: DecodeKind, fill: string | null): Promise<unknown> {
    let node: NodeHandle;
    try {
      node = this.route(h);
    } catch (e) {
      return Promise.reject(e);
    }
    const target = this.readTarget(node, 0);
    if (target === null) return Promise.reject(this.allDown(node));
    if (target !== node) this.counters.failovers++;
    const p = this.request(target, h, op, flags, b, null, null, 0, decode, fill);
    if (this.retries === 0) return p;
    return p.catch((e: unknown) => this.retryRead(e, node, (t) => this.request(t, h, op, flags, b, null, null, 0, decode, fill)));
  }

  private readEntries(node: NodeHandle, h: number, op: number, items: Buffer[], count: number): Promise<unknown> {
    const send = (t: NodeHandle): Promise<unknown> => {
      this.counters.requests++;
      return t.conn(h).requestEntries(op, 0, items, count, Decode.ENTRIES, Date.now() + this.timeoutMs);
    };
    const target = this.readTarget(node, 0);
    if (target === null) return Promise.reject(this.allDown(node));
    const p = send(target);
    if (this.retries === 0) return p;
    return p.catch((e: unknown) => this.retryRead(e, node, send));
  }

  private async retryRead(e: unknown, node: NodeHandle, send: (t: NodeHandle) => Promise<unknown>): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      if (!isTransportError(e) || attempt > this.retries || this.closed) {
        this.counters.errors++;
        throw e;
      }
      this.counters.retries++;
      // A failed read goes straight to the next live copy; the same copy again only after a pause.
      const target = this.readTarget(node, attempt);
      if (target === null) throw this.allDown(node);
      if (target === node) await sleep(this.backoff(attempt));
      else this.counters.failovers++;
      try {
        return await send(target);
      } catch (next) {
        e = next;
      }
    }
  }

  private write(b: Buffer, h: number, op: number, meta: Buffer | null, value: Buffer | null, count: number, decode: DecodeKind, idempotent: boolean, mirror: boolean): Promise<unknown> {
    let node: NodeHandle;
    try {
      node = this.route(h);
    } catch (e) {
      return Promise.reject(e);
    }
    if (!node.up) {
      this.counters.errors++;
      return Promise.reject(node.downError());
    }
    const p = this.request(node, h, op, 0, b, meta, value, count, decode, null);
    if (mirror && this.mirrorWrites && node.replicas.length > 0) {
      for (const r of node.replicas) if (r.up) this.request(r, h, op, 0, b, meta, value, count, decode, null).catch(() => this.counters.mirrorFailures++);
    }
    if (this.retries === 0) return p;
    return p.catch((e: unknown) => this.retryWrite(e, node, idempotent, () => this.request(node, h, op, 0, b, meta, value, count, decode, null)));
  }

  private writeEntries(node: NodeHandle, h: number, op: number, items: Buffer[], count: number): Promise<unknown> {
    if (!node.up) return Promise.reject(node.downError());
    const send = (t: NodeHandle): Promise<unknown> => {
      this.counters.requests++;
      return t.conn(h).requestEntries(op, 0, items, count, Decode.COUNT, Date.now() + this.timeoutMs);
    };
    const p = send(node);
    if (this.mirrorWrites) for (const r of node.replicas) if (r.up) send(r).catch(() => this.counters.mirrorFailures++);
    if (this.retries === 0) return p;
    return p.catch((e: unknown) => this.retryWrite(e, node, true, () => send(node)));
  }

  private async retryWrite(e: unknown, node: NodeHandle, idempotent: boolean, send: () => Promise<unknown>): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      if (!isTransportError(e) || attempt > this.retries || this.closed || (!idempotent && !neverSent(e))) {
        this.counters.errors++;
        throw e;
      }
      this.counters.retries++;
      await sleep(this.backoff(attempt));
      if (!node.up) {
        this.counters.errors++;
        throw node.downError();
      }
      try {
        return await send();
      } catch (next) {
        e = next;
      }
    }
  }

  private backoff(attempt: number): number {
    const base = this.backoffMs * 2 ** (attempt - 1);
    return Math.min(1000, base / 2 + Math.random() * base);
  }

  private allDown(node: NodeHandle): ShardcacheClientError {
    this.counters.errors++;
    return new ShardcacheClientError(ClientErrorCode.NODE_DOWN, `node ${node.id}${node.replicas.length > 0 ? ' and its replicas are' : ' is'} down`, { node: node.id });
  }

  private sweep(): void {
    const now = Date.now();
    for (const n of this.nodes.values()) {
      n.sweep(now);
      for (const r of n.replicas) r.sweep(now);
    }
  }

  // ---- keys, values, L1 ---------------------------------------------------------------------------

  private bytes(key: Key): Buffer {
    if (typeof key === 'string') return Buffer.from(key);
    if (Buffer.isBuffer(key)) return key;
    throw new ShardcacheClientError(ClientErrorCode.INVALID_ARG, 'a key is a string or a Buffer');
  }

  /**
   * The key as the L1, waiters and single-flight name it: a string key as itself (invalidations
   * arrive as UTF-8 bytes and decode back to it), a Buffer key as its bytes in latin1 behind a
   * lone surrogate, which no well-formed string contains, so the two kinds never collide.
   */
  private str(key: Key, b?: Buffer): string {
    if (typeof key === 'string') return key;
    return BUFFER_KEY + (b ?? this.bytes(key)).toString('latin1');
  }

  private ref(key: Key): KeyRef {
    const b = this.bytes(key);
    return { key, b, h: hash32(b), s: this.str(key, b) };
  }

  /**
   * Stores a hot key's value in the L1. When that would evict, the key must be read more often
   * than the entry it would push out (TinyLFU's admission test, on the same sketch): a full L1
   * keeps its hottest keys instead of cycling through a long tail.
   */
  private fill(s: string, value: Buffer): void {
    const l1 = this.l1;
    if (l1 === null) return;
    const bytes = entryCost(s, value.length);
    if (l1.full(bytes)) {
      const victim = l1.oldest();
      if (victim !== undefined && victim !== s && this.estimateOf(s) <= this.estimateOf(victim)) {
        l1.rejected++;
        return;
      }
    }
    l1.set(s, Promise.resolve(value), bytes, Date.now());
  }

  /** The sketch's count for a key named as str() names it. */
  private estimateOf(s: string): number {
    const b = s.startsWith(BUFFER_KEY) ? Buffer.from(s.slice(BUFFER_KEY.length), 'latin1') : Buffer.from(s);
    return this.sketch!.estimate(hash32(b));
  }

  /** A local write: drop our own L1 copy now (the server's invalidation follows anyway). */
  private forget(key: Key, b: Buffer): void {
    if (this.l1 !== null && this.l1.size > 0) this.l1.delete(this.str(key, b));
  }

  private encode(v: unknown): Buffer {
    if (this.msgpack) return msgpack.pack(v);
    if (Buffer.isBuffer(v)) return v;
    if (typeof v === 'string') return Buffer.from(v);
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length);
    throw new ShardcacheClientError(ClientErrorCode.INVALID_ARG, "the raw codec stores Buffers and strings; use codec: 'msgpack' for other values");
  }

  private decode(b: Buffer): unknown {
    if (!this.msgpack) return b;
    try {
      return msgpack.unpack(b);
    } catch (e) {
      throw new ShardcacheClientError(ClientErrorCode.CODEC, `value is not msgpack: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Keeps the HOT_KEYS_KEPT highest estimates; `hotFloor` (their minimum once full) skips the rest in O(1). */
  private noteHot(s: string, est: number): void {
    const hot = this.hotKeys;
    if (hot.size >= HOT_KEYS_KEPT && est <= this.hotFloor && !hot.has(s)) return;
    if (hot.has(s) || hot.size < HOT_KEYS_KEPT) hot.set(s, est);
    else {
      let minKey = '';
      let min = Infinity;
      for (const [k, v] of hot) if (v < min) [min, minKey] = [v, k];
      hot.delete(minKey);
      hot.set(s, est);
    }
    if (hot.size < HOT_KEYS_KEPT) return;
    let floor = Infinity;
    for (const v of hot.values()) if (v < floor) floor = v;
    this.hotFloor = floor;
  }

  private wake(s: string): void {
    const set = this.waiters.get(s);
    if (set === undefined) return;
    this.waiters.delete(s);
    for (const w of set) w();
  }

  private makeListener(): NodeListener {
    return {
      onInvalidate: (_node, keys) => {
        if (keys === null) {
          this.l1?.clear();
          for (const s of [...this.waiters.keys()]) this.wake(s);
          this.emit('invalidate', null);
          return;
        }
        for (const k of keys) {
          const text = k.toString();
          const raw = BUFFER_KEY + k.toString('latin1');
          const l1 = this.l1;
          if (l1 !== null) {
            l1.invalidate(text);
            l1.invalidate(raw);
          }
          if (this.waiters.size > 0) {
            this.wake(text);
            this.wake(raw);
          }
          this.emit('invalidate', text, k);
        }
      },
      onMessage: (_node, channel, message) => {
        const name = channel.toString('latin1');
        const set = this.handlers.get(name);
        if (set === undefined) return;
        const text = channel.toString();
        for (const h of set) {
          try {
            h(message, text);
          } catch (e) {
            // A handler's bug: to 'error' listeners if any, else uncaught like any event handler's.
            if (this.listenerCount('error') > 0) this.emit('error', e);
            else queueMicrotask(() => {
              throw e;
            });
          }
        }
      },
      onFill: (key, value) => this.fill(key, value),
      onTrackingLost: () => {
        this.l1?.clear();
        for (const s of [...this.waiters.keys()]) this.wake(s);
      },
      onDown: (node) => {
        this.rehomeAll();
        this.emit('node-down', node.id);
      },
      onUp: (node) => {
        this.rehomeAll();
        this.emit('node-up', node.id);
      },
      onSubscriberLost: (node) => void this.resubscribe(node),
    };
  }

  /**
   * Where a primary's channels live: the primary while it is up, else its first live replica.
   * Publishers and subscribers that see the same health pick the same node.
   */
  private pubsubHome(node: NodeHandle): NodeHandle | null {
    if (node.up) return node;
    for (const r of node.replicas) if (r.up) return r;
    return null;
  }

  private rehomeAll(): void {
    for (const p of this.nodes.values()) if (p.channels.size > 0) void this.rehome(p);
  }

  /** Moves a primary's subscriptions to its current pubsubHome: subscribe there first, then leave the old one. */
  private async rehome(p: NodeHandle): Promise<void> {
    const to = this.pubsubHome(p);
    const from = p.carrier ?? p;
    if (to === null || to === from) return;
    const chans = [...p.channels];
    p.carrier = to === p ? null : to;
    if (to !== p) for (const ch of chans) to.channels.add(ch);
    if (from !== p) for (const ch of chans) from.channels.delete(ch);
    // A SUBSCRIBE lost with its connection is retried by that node's resubscribe loop.
    await Promise.all(chans.map((ch) => this.channelOp(to, Opcode.SUBSCRIBE, ch).catch(() => {})));
    if (from.up) await Promise.all(chans.map((ch) => this.channelOp(from, Opcode.UNSUBSCRIBE, ch).catch(() => {})));
    this.emit('pubsub-home', p.id, to.id);
  }

  /** SUBSCRIBE or UNSUBSCRIBE one channel, named by its bytes or as `channels` holds it (latin1). */
  private channelOp(node: NodeHandle, op: number, channel: Buffer | string): Promise<unknown> {
    const b = typeof channel === 'string' ? Buffer.from(channel, 'latin1') : channel;
    return this.request(node, 0, op, 0, b, null, null, 0, Decode.COUNT, null);
  }

  /** Restores a node's subscriptions on a fresh connection, retrying until it answers or we close. */
  private async resubscribe(node: NodeHandle): Promise<void> {
    let pause = 50;
    while (!this.closed && node.channels.size > 0) {
      await sleep(pause);
      try {
        for (const ch of node.channels) await this.channelOp(node, Opcode.SUBSCRIBE, ch);
        return;
      } catch {
        pause = Math.min(pause * 2, 2000);
      }
    }
  }

  private loaderHost(): LoaderHost {
    return {
      fetch: (k, track) => (track ? (this.read(k.b, k.h, Opcode.GET, 0, Decode.VALUE, k.s) as Promise<Buffer | null>) : this.getRaw(k.key)),
      store: (k, value, pxMs) => {
        this.forget(k.s, k.b);
        return this.write(k.b, k.h, Opcode.SET, msgpack.pack({ px: Math.max(1, Math.round(pxMs)) }), value, 0, Decode.COUNT, true, true);
      },
      lock: (k, token, ttlMs) => {
        const lk = Buffer.concat([k.b, LOCK_SUFFIX]);
        // Routed by the data key's hash: the lock lives on the node that owns the key.
        return this.write(lk, k.h, Opcode.SET, msgpack.pack({ nx: true, px: ttlMs }), token, 0, Decode.COUNT, false, false).then((n) => n === 1);
      },
      unlock: (k, token) => this.write(Buffer.concat([k.b, LOCK_SUFFIX]), k.h, Opcode.UNLOCK, null, token, 0, Decode.COUNT, true, false),
      waitForChange: (k, ms) => {
        let set = this.waiters.get(k.s);
        if (set === undefined) this.waiters.set(k.s, (set = new Set()));
        let done!: () => void;
        const promise = new Promise<void>((r) => (done = r));
        const fire = (): void => {
          clearTimeout(timer);
          this.waiters.get(k.s)?.delete(fire);
          done();
        };
        const timer = setTimeout(fire, ms);
        set.add(fire);
        return {
          promise,
          cancel: () => {
            clearTimeout(timer);
            const s = this.waiters.get(k.s);
            s?.delete(fire);
            if (s?.size === 0) this.waiters.delete(k.s);
          },
        };
      },
      encode: (v) => this.encode(v),
      decode: (b) => this.decode(b),
    };
  }
}
