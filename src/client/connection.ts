/**
 * One TCP connection to a node, speaking frames. Requests issued within one tick go out in one
 * write (the flush runs on process.nextTick, after the promise continuations of the current
 * tick have queued theirs); replies are matched by request id in whatever order they come.
 * Server pushes (invalidations, pub/sub messages) go to the owner.
 *
 * Timeouts are swept, not timed one by one: a Map keeps insertion order and every request gets
 * the same timeout, so the oldest requests are always first and a sweep stops at the first one
 * still in time. No timer per request.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { Packr } from 'msgpackr';
import { FrameFlag, Opcode, PUSH_REQUEST_ID } from '../../native-layout/frames.ts';
import { FrameError, FrameParser, FrameWriter, frameEntries, frameKey, frameMeta, NEED_MORE, newFrame } from '../protocol/binary/codec.ts';
import type { Frame } from '../protocol/binary/codec.ts';
import { ClientErrorCode, ShardcacheClientError } from './errors.ts';

export const wire = new Packr({ useRecords: false });

/** How a reply is turned into a result. */
export const Decode = {
  /** undefined */
  NONE: 0,
  /** the value bytes (a copy), or null for NIL */
  VALUE: 1,
  /** header count */
  COUNT: 2,
  /** the value as a signed 64-bit integer, as a number */
  I64: 3,
  /** the entries (copies; null for NIL_LEN) */
  ENTRIES: 4,
  /** the msgpackr meta */
  META: 5,
} as const;
export type DecodeKind = (typeof Decode)[keyof typeof Decode];

interface Pending {
  decode: DecodeKind;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  deadline: number;
  /** L1 key to fill with a VALUE reply, synchronously, before any later push is read. */
  fill: string | null;
}

export interface ConnectionOwner {
  readonly id: string;
  onInvalidate(keys: Buffer[] | null): void;
  onMessage(channel: Buffer, message: Buffer): void;
  onFill(key: string, value: Buffer): void;
  /** At least one reply arrived in this read: the node is alive. */
  onReplies(): void;
  onTimeouts(conn: Connection, n: number): void;
  onClose(conn: Connection, inflight: number, everConnected: boolean): void;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  password?: string | undefined;
  connectTimeoutMs: number;
}

const READY = 1;
const CONNECTING = 0;
const CLOSED = 2;

export class Connection {
  private readonly owner: ConnectionOwner;
  private readonly socket: net.Socket;
  private readonly out = new FrameWriter(8 * 1024);
  private readonly parser = new FrameParser();
  private readonly frame: Frame = newFrame();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private scheduled = false;
  private state = CONNECTING;
  private everConnected = false;
  private connectTimer: NodeJS.Timeout | null;
  /** Why the connection ended, for the requests it fails. */
  private closeReason: ShardcacheClientError | null = null;
  /** TRACK has been sent on this connection. */
  tracking = false;
  /** close() was called: the end is not a failure of the node. */
  closedByUs = false;

  constructor(owner: ConnectionOwner, opts: ConnectionOptions) {
    this.owner = owner;
    const readBuffer = Buffer.allocUnsafe(64 * 1024);
    this.socket = net.connect({
      host: opts.host,
      port: opts.port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => this.onData(buf, n) },
    });
    this.connectTimer = setTimeout(() => {
      this.closeReason = new ShardcacheClientError(ClientErrorCode.CONNECT_FAILED, `connect to ${owner.id} timed out after ${opts.connectTimeoutMs} ms`, { node: owner.id });
      this.socket.destroy();
    }, opts.connectTimeoutMs);
    this.connectTimer.unref();
    this.socket.once('connect', () => {
      this.state = READY;
      this.everConnected = true;
      clearTimeout(this.connectTimer!);
      this.connectTimer = null;
    });
    this.socket.on('error', (e: Error) => {
      this.closeReason ??= this.everConnected
        ? new ShardcacheClientError(ClientErrorCode.CONNECTION_CLOSED, `connection to ${owner.id} failed: ${e.message}`, { node: owner.id, cause: e })
        : new ShardcacheClientError(ClientErrorCode.CONNECT_FAILED, `cannot connect to ${owner.id}: ${e.message}`, { node: owner.id, cause: e });
    });
    this.socket.once('close', () => this.onClosed());
    // Requests written before the socket connects wait in its buffer; AUTH goes first.
    if (opts.password !== undefined && opts.password !== '') {
      this.request(Opcode.AUTH, 0, null, null, Buffer.from(opts.password), 0, Decode.NONE, Date.now() + opts.connectTimeoutMs * 2).catch(() => {});
    }
  }

  get open(): boolean {
    return this.state !== CLOSED;
  }

  get inflight(): number {
    return this.pending.size;
  }

  /** Queues one request frame; resolves with its decoded reply. */
  request(op: number, flags: number, key: Uint8Array | null, meta: Uint8Array | null, value: Uint8Array | null, count: number, decode: DecodeKind, deadline: number, fill: string | null = null): Promise<unknown> {
    if (this.state === CLOSED) return Promise.reject(this.closedError());
    const id = this.allocId();
    this.out.frame(op, flags, id, key, meta, value, count);
    this.schedule();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { decode, resolve, reject, deadline, fill });
    });
  }

  /** A request whose value region is a list of entries (MGET, MSET). */
  requestEntries(op: number, flags: number, items: readonly Uint8Array[], count: number, decode: DecodeKind, deadline: number): Promise<unknown> {
    if (this.state === CLOSED) return Promise.reject(this.closedError());
    const id = this.allocId();
    const out = this.out;
    out.begin(op, flags, id);
    out.keyDone();
    out.metaDone();
    for (const it of items) out.entry(it);
    out.end(count);
    this.schedule();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { decode, resolve, reject, deadline, fill: null });
    });
  }

  /** Turns on invalidation pushes for this connection (once); ordered before anything queued after. */
  ensureTracking(deadline: number): void {
    if (this.tracking || this.state === CLOSED) return;
    this.tracking = true;
    this.request(Opcode.TRACK, 0, null, null, null, 0, Decode.NONE, deadline).catch(() => {});
  }

  private allocId(): number {
    const id = this.nextId;
    this.nextId = id === 0xffffffff ? 1 : id + 1;
    return id;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.out.len === 0 || this.state === CLOSED) return;
    this.socket.write(this.out.take());
  };

  /** Fails requests past their deadline; returns how many. */
  sweep(now: number): number {
    let n = 0;
    for (const [id, p] of this.pending) {
      if (p.deadline > now) break;
      this.pending.delete(id);
      n++;
      p.reject(new ShardcacheClientError(ClientErrorCode.TIMEOUT, `request to ${this.owner.id} timed out`, { node: this.owner.id }));
    }
    if (n > 0) this.owner.onTimeouts(this, n);
    return n;
  }

  close(): void {
    if (this.state === CLOSED) return;
    this.closedByUs = true;
    this.closeReason ??= new ShardcacheClientError(ClientErrorCode.CLOSED, 'connection closed by the client', { node: this.owner.id });
    this.socket.destroy();
  }

  private closedError(): ShardcacheClientError {
    return this.closeReason ?? new ShardcacheClientError(ClientErrorCode.CONNECTION_CLOSED, `connection to ${this.owner.id} closed`, { node: this.owner.id });
  }

  private onClosed(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.state = CLOSED;
    const inflight = this.pending.size;
    if (this.closeReason === null && !this.everConnected) {
      this.closeReason = new ShardcacheClientError(ClientErrorCode.CONNECT_FAILED, `cannot connect to ${this.owner.id}`, { node: this.owner.id });
    }
    const err = this.closedError();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
    this.owner.onClose(this, inflight, this.everConnected);
  }

  private onData(buf: Uint8Array, n: number): boolean {
    const parser = this.parser;
    parser.push(buf, 0, n);
    const f = this.frame;
    let replies = false;
    for (;;) {
      const r = parser.next(f);
      if (r === NEED_MORE) break;
      if (r instanceof FrameError) {
        this.closeReason = new ShardcacheClientError(ClientErrorCode.PROTOCOL, `invalid frame from ${this.owner.id}: ${r.message}`, { node: this.owner.id });
        this.socket.destroy();
        return false;
      }
      if (r.requestId === PUSH_REQUEST_ID) {
        this.onPush(r);
        continue;
      }
      const p = this.pending.get(r.requestId);
      if (p === undefined) continue; // timed out already
      this.pending.delete(r.requestId);
      replies = true;
      if (r.opcode === Opcode.ERROR) {
        p.reject(serverError(r, this.owner.id));
        continue;
      }
      let v: unknown;
      try {
        v = decodeReply(r, p.decode);
      } catch (e) {
        p.reject(new ShardcacheClientError(ClientErrorCode.PROTOCOL, `bad reply from ${this.owner.id}: ${(e as Error).message}`, { node: this.owner.id }));
        continue;
      }
      if (p.fill !== null && v !== null) this.owner.onFill(p.fill, v as Buffer);
      p.resolve(v);
    }
    if (replies) this.owner.onReplies();
    return true;
  }

  private onPush(f: Frame): void {
    if (f.opcode === Opcode.INVALIDATE) {
      if ((f.flags & FrameFlag.ALL) !== 0) return this.owner.onInvalidate(null);
      const keys = frameEntries(f, false);
      if (keys !== null) this.owner.onInvalidate(keys as Buffer[]);
    } else if (f.opcode === Opcode.MESSAGE) {
      this.owner.onMessage(Buffer.from(frameKey(f)), copyRange(f.buf, f.valOff, f.valLen));
    } else if (f.opcode === Opcode.ERROR) {
      // A connection-level error (the server closes after it): keep it as the close reason.
      const e = serverError(f, this.owner.id);
      this.closeReason = new ShardcacheClientError(e.code, e.message, { node: this.owner.id, fromServer: true });
    }
  }
}

function copyRange(b: Buffer, off: number, len: number): Buffer {
  const v = Buffer.allocUnsafe(len);
  b.copy(v, 0, off, off + len);
  return v;
}

function serverError(f: Frame, node: string): ShardcacheClientError {
  let code: string = ClientErrorCode.PROTOCOL;
  let message = 'server error without details';
  try {
    const m = wire.unpack(frameMeta(f)) as { code?: unknown; message?: unknown };
    if (typeof m.code === 'string') code = m.code;
    if (typeof m.message === 'string') message = m.message;
  } catch {
    // keep the generic text
  }
  return new ShardcacheClientError(code, message, { node, fromServer: true });
}

function decodeReply(f: Frame, kind: DecodeKind): unknown {
  switch (kind) {
    case Decode.NONE:
      return undefined;
    case Decode.VALUE:
      return (f.flags & FrameFlag.NIL) !== 0 ? null : copyRange(f.buf, f.valOff, f.valLen);
    case Decode.COUNT:
      return f.count;
    case Decode.I64:
      if (f.valLen !== 8) throw new Error(`expected an 8-byte integer, got ${f.valLen}`);
    {
      // Exact: a number while it is a safe integer, a bigint beyond 2^53.
      const v = f.buf.readBigInt64LE(f.valOff);
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : v;
    }
    case Decode.ENTRIES: {
      const items = frameEntries(f, true);
      if (items === null) throw new Error('entries do not match the frame');
      return items.map((b) => (b === null ? null : Buffer.from(b)));
    }
    case Decode.META:
      return f.metaLen === 0 ? null : wire.unpack(frameMeta(f));
  }
}
