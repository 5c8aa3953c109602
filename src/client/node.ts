/**
 * One server as the client sees it: a small pool of connections, and its health. A key always
 * uses the same connection of the pool (chosen by its hash), so requests for one key stay in
 * order and an invalidation can never overtake the reply it follows.
 *
 * Health: N consecutive transport failures (connect errors, connections lost with requests in
 * flight, timeouts) mark the node down. Its connections are dropped; a background probe opens a
 * fresh connection every probeInterval and PINGs, and the first answer marks it up again.
 */
import { Opcode } from '../../native-layout/frames.ts';
import { Connection, Decode } from './connection.ts';
import type { ConnectionOwner } from './connection.ts';
import { ClientErrorCode, ShardcacheClientError } from './errors.ts';

export interface NodeAddress {
  host: string;
  port: number;
}

export interface NodeSettings {
  poolSize: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  failureThreshold: number;
  probeIntervalMs: number;
  password: string | undefined;
}

/** What a node reports back to the client. */
export interface NodeListener {
  onInvalidate(node: NodeHandle, keys: Buffer[] | null): void;
  onMessage(node: NodeHandle, channel: Buffer, message: Buffer): void;
  onFill(key: string, value: Buffer): void;
  /** A connection that could carry invalidations went away: what it tracked is unknown now. */
  onTrackingLost(node: NodeHandle): void;
  onDown(node: NodeHandle): void;
  onUp(node: NodeHandle): void;
  /** A connection (re)opened where subscriptions must be restored. */
  onSubscriberLost(node: NodeHandle): void;
}

export class NodeHandle implements ConnectionOwner {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** Servers that hold a copy of this node's keys; reads go there while it is down. */
  readonly replicas: NodeHandle[] = [];
  /** Set on a replica: the primary it copies. */
  primary: NodeHandle | null = null;
  up = true;
  /** Consecutive transport failures. */
  failures = 0;
  downSince = 0;
  timeouts = 0;
  private readonly conns: (Connection | null)[];
  private readonly settings: NodeSettings;
  private readonly listener: NodeListener;
  private probeTimer: NodeJS.Timeout | null = null;
  private probing: Connection | null = null;
  private checking = false;
  private closed = false;
  /**
   * Channels subscribed through this node (on connection 0 of the pool): on a primary, those it
   * owns; on a replica, those it carries for its primary while that primary is down.
   */
  readonly channels = new Set<string>();
  /** Set on a primary whose channels a replica carries now; null while it carries them itself. */
  carrier: NodeHandle | null = null;

  constructor(id: string, addr: NodeAddress, weight: number, settings: NodeSettings, listener: NodeListener) {
    this.id = id;
    this.host = addr.host;
    this.port = addr.port;
    this.weight = weight;
    this.settings = settings;
    this.listener = listener;
    this.conns = new Array<Connection | null>(settings.poolSize).fill(null);
  }

  /** The pool connection for a key hash, opened on demand. */
  conn(h: number): Connection {
    const i = this.conns.length === 1 ? 0 : (h >>> 0) % this.conns.length;
    let c = this.conns[i]!;
    if (c === null || !c.open) {
      c = new Connection(this, { host: this.host, port: this.port, password: this.settings.password, connectTimeoutMs: this.settings.connectTimeoutMs });
      this.conns[i] = c;
    }
    return c;
  }

  /** Requests in flight on every connection of the pool. */
  get inflight(): number {
    let n = 0;
    for (const c of this.conns) if (c !== null) n += c.inflight;
    return n;
  }

  sweep(now: number): void {
    for (const c of this.conns) if (c !== null) c.sweep(now);
  }

  // ---- ConnectionOwner ------------------------------------------------------------------------

  onInvalidate(keys: Buffer[] | null): void {
    this.listener.onInvalidate(this, keys);
  }

  onMessage(channel: Buffer, message: Buffer): void {
    this.listener.onMessage(this, channel, message);
  }

  onFill(key: string, value: Buffer): void {
    this.listener.onFill(key, value);
  }

  onReplies(): void {
    this.failures = 0;
  }

  onTimeouts(_conn: Connection, n: number): void {
    this.timeouts += n;
    this.failed();
  }

  onClose(conn: Connection, inflight: number, everConnected: boolean): void {
    const i = this.conns.indexOf(conn);
    if (i >= 0) this.conns[i] = null;
    if (conn.tracking) this.listener.onTrackingLost(this);
    if (i === 0 && this.channels.size > 0 && !this.closed) this.listener.onSubscriberLost(this);
    if (this.closed || conn.closedByUs) return;
    if (!everConnected || inflight > 0) this.failed();
    // Lost without being asked to: find out now whether the node is gone, whatever the traffic.
    this.check();
  }

  private failed(): void {
    this.failures++;
    if (this.up && this.failures >= this.settings.failureThreshold) this.markDown();
  }

  /** While up but suspect: PING on a fresh connection until it answers or the node is marked down. */
  private check(): void {
    if (this.checking || this.closed || !this.up) return;
    this.checking = true;
    void this.pingOnce().then((ok) => {
      this.checking = false;
      if (this.closed || !this.up) return;
      if (ok) {
        this.failures = 0;
        return;
      }
      this.failed();
      if (!this.up) return;
      const t = setTimeout(() => this.check(), Math.min(100, this.settings.probeIntervalMs));
      t.unref();
    });
  }

  private markDown(): void {
    this.up = false;
    this.downSince = Date.now();
    for (const c of this.conns) c?.close();
    this.listener.onDown(this);
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer !== null) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probe();
    }, this.settings.probeIntervalMs);
    this.probeTimer.unref();
  }

  /** While down: one PING; up on an answer, another probe later otherwise. */
  private probe(): void {
    if (this.closed || this.up) return;
    void this.pingOnce().then((ok) => {
      if (this.closed || this.up) return;
      if (!ok) return this.scheduleProbe();
      this.up = true;
      this.failures = 0;
      this.listener.onUp(this);
    });
  }

  /** PING on a throwaway connection, outside the pool. */
  private pingOnce(): Promise<boolean> {
    const owner: ConnectionOwner = {
      id: this.id,
      onInvalidate: () => {},
      onMessage: () => {},
      onFill: () => {},
      onReplies: () => {},
      onTimeouts: () => {},
      onClose: () => {},
    };
    const c = new Connection(owner, { host: this.host, port: this.port, password: this.settings.password, connectTimeoutMs: this.settings.connectTimeoutMs });
    this.probing = c;
    const timer = setTimeout(() => c.sweep(Date.now()), this.settings.timeoutMs + 5);
    timer.unref();
    const done = (ok: boolean): boolean => {
      clearTimeout(timer);
      c.close();
      if (this.probing === c) this.probing = null;
      return ok;
    };
    return c.request(Opcode.PING, 0, null, null, null, 0, Decode.NONE, Date.now() + this.settings.timeoutMs).then(
      () => done(true),
      () => done(false),
    );
  }

  /** The error for a write to this node while it is down. */
  downError(): ShardcacheClientError {
    return new ShardcacheClientError(ClientErrorCode.PRIMARY_DOWN, `node ${this.id} is down (${this.failures} consecutive failures); writes fail until it answers again`, { node: this.id });
  }

  close(): void {
    this.closed = true;
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    this.probeTimer = null;
    this.probing?.close();
    for (const c of this.conns) c?.close();
  }
}
