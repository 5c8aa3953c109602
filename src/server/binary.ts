/**
 * Serving a binary-protocol connection inside a worker (native-layout/frames.ts).
 *
 * The port is shared with RESP: the worker hands the first bytes of every connection to
 * maybeAdoptBinary(), which claims the connection when they start with FRAME_MAGIC. From then on
 * its reads come to BinaryConnection.input(): frames are parsed, run directly against the shared
 * store, and the replies of one read leave in one write. Consecutive single-key frames are run as
 * a batch, in order, under the lock scope RESP batches take (lock-scope.ts runStepsLocked).
 *
 * Invalidations reuse RESP tracking's machinery: the shared `trackers` counter (so RESP writes
 * on other workers are broadcast while a binary connection tracks) and the workers' bus message
 * {type: 'invalidate'}. Binary writes post that message through a second BroadcastChannel on the
 * same bus, which reaches every worker, this one included, so RESP trackers here hear them too.
 * Only keys read with FrameFlag.TRACK are remembered (Redis's OPTIN), so untracked reads cost
 * nothing.
 */
import { Buffer } from 'node:buffer';
import { BroadcastChannel, workerData } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { FRAME_LAYOUT_VERSION, FRAME_MAGIC, FrameFlag, MAX_FRAME_BYTES, Opcode, PUSH_REQUEST_ID } from '../../native-layout/frames.ts';
import {
  FrameError,
  FrameParser,
  FrameWriter,
  frameEntries,
  frameKey,
  frameMeta,
  frameValue,
  HEADER_SIZE,
  NEED_MORE,
  newFrame,
  WireErrorCode,
} from '../protocol/binary/codec.ts';
import type { Frame } from '../protocol/binary/codec.ts';
import { ShardcacheError } from '../errors.ts';
import type { SetOptions, ValueSink } from '../store/store.ts';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';
import { PAUSE_ALL } from './commands/client.ts';
import { flushEvents, onAfterCommand } from './dispatch.ts';
import { runStepsLocked } from './lock-scope.ts';
import { afterWrite } from './output.ts';
import { FlagBit, keysOf } from './commands/types.ts';
import type { BusMessage, WorkerInit } from './messages.ts';
import { notify } from './notify.ts';

/** Frames parsed ahead and locked together at most (as RESP pipelines). */
const BATCH_MAX = 64;

const wire = new Packr({ useRecords: false });

/** Opcodes that touch exactly the frame's key and can join a locked batch. */
const SINGLE_KEY = new Uint8Array(256);
for (const op of [Opcode.GET, Opcode.SET, Opcode.DELETE, Opcode.EXISTS, Opcode.INCR, Opcode.EXPIRE, Opcode.TTL, Opcode.UNLOCK]) SINGLE_KEY[op] = 1;
/** What CLIENT PAUSE WRITE holds: as Redis, every command that may replicate (writes and PUBLISH). */
const PAUSE_WRITE_HOLDS = new Uint8Array(256);
for (const op of [Opcode.SET, Opcode.DELETE, Opcode.INCR, Opcode.MSET, Opcode.EXPIRE, Opcode.PUBLISH, Opcode.UNLOCK]) PAUSE_WRITE_HOLDS[op] = 1;

const OPCODE_NAME: string[] = [];
for (const [name, n] of Object.entries(Opcode)) OPCODE_NAME[n] = name.toLowerCase();

/** A request-level failure: the reply is an ERROR frame, the connection stays. */
class RequestError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Per-worker state shared by the binary connections of this thread. */
interface WorkerBinary {
  readonly ctx: WorkerContext;
  readonly conns: Map<number, BinaryConnection>;
  /** Tracked key (latin1) → ids of this worker's connections that read it with TRACK. */
  readonly table: Map<string, Set<number>>;
  /** Channel (latin1) → this worker's binary subscribers. */
  readonly channels: Map<string, Set<BinaryConnection>>;
  /** Our own handle on the workers' bus: unlike ctx's, its posts reach this worker too. */
  readonly bus: BroadcastChannel | null;
  /** The `from` our bus posts carry: negative, so tracking.ts never mistakes them for its own. */
  readonly busFrom: number;
}

let W: WorkerBinary | null = null;

function install(ctx: WorkerContext): WorkerBinary {
  if (W !== null) return W;
  const init = workerData as WorkerInit | null;
  let bus: BroadcastChannel | null = null;
  if (init?.busName !== undefined) {
    bus = new BroadcastChannel(init.busName);
    (bus as unknown as { unref?: () => void }).unref?.();
  }
  const w: WorkerBinary = { ctx, conns: new Map(), table: new Map(), channels: new Map(), bus, busFrom: -(ctx.index + 1) };
  W = w;
  ctx.onBus((m: BusMessage) => {
    if (m.type === 'invalidate') {
      if (m.from === w.busFrom) return; // ours: already applied locally
      invalidateLocal(w, m.keys, null);
    }
  });
  // Every message this worker delivers (PUBLISH from either protocol and any worker, keyspace
  // notifications) reaches its binary subscribers too.
  ctx.pubsub!.listeners.push((ch, msg) => {
    if (w.channels.size > 0) deliverLocal(w, ch, msg);
  });
  // RESP commands on this worker: their writes invalidate binary trackers here (other workers
  // hear them on the bus).
  onAfterCommand((_ctx, _c, spec, argv) => {
    if ((spec.bits & FlagBit.write) !== 0) {
      if (spec.name === 'flushall' || spec.name === 'flushdb') {
        if (trackingCount > 0) invalidateLocal(w, null, null);
      } else if (w.table.size > 0) invalidateLocal(w, keysOf(spec, argv), null);
    }
  });
  return w;
}

/** This worker's binary connections with TRACK on. */
let trackingCount = 0;

/** Keys the store expired or evicted on this worker: binary connections here that track them hear it. */
export function binaryKeysDropped(keys: readonly Uint8Array[]): void {
  if (W !== null && W.table.size > 0) invalidateLocal(W, keys, null);
}

/**
 * Called by the worker with a connection's first bytes. Returns the connection's binary handler
 * when they are a frame's magic byte (the worker then sends every read to its input()), or null
 * for RESP.
 */
export function maybeAdoptBinary(ctx: WorkerContext, c: Client, buf: Uint8Array, n: number): BinaryConnection | null {
  if (n === 0 || buf[0] !== FRAME_MAGIC) return null;
  return new BinaryConnection(install(ctx), c);
}

const runBatchedFrame = (b: BinaryConnection, i: number): void => b.runBatched(i);

export class BinaryConnection implements ValueSink {
  readonly c: Client;
  readonly id: number;
  private readonly w: WorkerBinary;
  private readonly ctx: WorkerContext;
  private readonly parser: FrameParser;
  readonly out = new FrameWriter();
  private readonly frames: Frame[] = Array.from({ length: BATCH_MAX }, newFrame);
  private readonly ids: number[] = [];
  tracking = false;
  readonly channels = new Set<string>();
  /** Inside input(): replies and pushes to this connection wait for the end-of-read flush. */
  private busy = false;
  /** Request id the next value handed to bulkFrom() answers. */
  private replyId = 0;
  /** Written keys of the current read, announced on the bus in one message. */
  private written: Uint8Array[] = [];
  private readonly entrySink: ValueSink = { bulkFrom: (src, off, len) => this.out.entryFrom(src, off, len) };

  constructor(w: WorkerBinary, c: Client) {
    this.w = w;
    this.ctx = w.ctx;
    this.c = c;
    this.id = c.id;
    this.parser = new FrameParser(Math.min(MAX_FRAME_BYTES, w.ctx.maxBulk + HEADER_SIZE + 64 * 1024));
    w.conns.set(this.id, this);
    c.libName = 'shardcache-binary';
    const socket = c.socket;
    // Runs before the worker's own 'end' handler ends our side, so the error still goes out.
    socket.prependListener('end', () => {
      const pending = this.parser.pending;
      if (pending > 0 && !this.c.closing) {
        const want = this.parser.partialFrameLength;
        this.fatal(new FrameError(WireErrorCode.FRAME_TRUNCATED, `connection closed inside a frame: ${pending} of ${want} bytes received`), false);
      }
    });
    socket.once('close', () => {
      if (this.pauseTimer !== null) clearTimeout(this.pauseTimer);
      this.closed();
    });
    // The worker's own 'drain' listener (registered first) resumes reading; this one then runs
    // the frames that waited in the parser.
    socket.on('drain', () => {
      if (c.outputPaused) {
        c.outputPaused = false;
        socket.resume();
      }
      if (this.parser.pending > 0) this.pump();
    });
  }

  /** Bytes from the socket (the worker's shared read buffer; copied before returning). */
  input(buf: Uint8Array, n: number): void {
    const c = this.c;
    const ctx = this.ctx;
    // The store's clock is read once per batch (ctx.nowMs): advance it as dispatch.ts does.
    c.lastInteraction = ctx.tickClock();
    this.parser.push(buf, 0, n);
    if (this.parser.pending > ctx.queryBufferLimit) {
      ctx.log('warning', `Closing client that reached max query buffer length: id=${c.id} addr=${c.addr} (qbuf ${this.parser.pending})`);
      c.closing = true;
      c.socket.destroy();
      return;
    }
    this.pump();
  }

  /**
   * Runs the frames buffered so far, unless CLIENT PAUSE holds this connection (then it retries
   * when the pause ends) or its output is backed up (then the socket's 'drain' calls it again).
   */
  private pump(): void {
    const c = this.c;
    const ctx = this.ctx;
    if (c.closing || c.outputPaused) return;
    let holdWrites = false;
    const mode = ctx.shared.peek('pauseMode');
    if (mode !== 0 && ctx.shared.pauseUntil > Date.now()) {
      if (mode === PAUSE_ALL) return this.retryAfterPause();
      holdWrites = true;
    }
    // As processInput: what other workers posted before these frames came is taken in first.
    ctx.catchUpBus();
    this.busy = true;
    let held = false;
    try {
      held = this.process(holdWrites);
    } finally {
      this.busy = false;
    }
    if (held) this.retryAfterPause();
    this.publishWrites();
    this.flush();
    flushEvents(ctx);
  }
  private pauseTimer: ReturnType<typeof setTimeout> | null = null;

  /** Pumps again once CLIENT PAUSE ends, checking at least every 50 ms (UNPAUSE ends it early). */
  private retryAfterPause(): void {
    if (this.pauseTimer !== null) return;
    const wait = Math.max(1, Math.min(this.ctx.shared.pauseUntil - Date.now(), 50));
    this.pauseTimer = setTimeout(() => {
      this.pauseTimer = null;
      this.pump();
    }, wait);
  }

  /**
   * Runs the buffered frames in order. With `holdWrites` (CLIENT PAUSE WRITE) it stops before
   * the first frame that may replicate and returns true; that frame and every one after it wait,
   * as a Redis client blocked by the pause does.
   */
  private process(holdWrites: boolean): boolean {
    const c = this.c;
    const frames = this.frames;
    let n = 0;
    let done = 0;
    let held = false;
    while (!c.closing && !c.outputPaused) {
      const r = this.parser.next(frames[n]!);
      if (r === NEED_MORE) break;
      if (r instanceof FrameError) {
        this.runBatch(n);
        done += n;
        n = 0;
        this.fatal(r, true);
        break;
      }
      if (holdWrites && PAUSE_WRITE_HOLDS[r.opcode] === 1) {
        this.parser.unread(r);
        held = true;
        break;
      }
      done++;
      if (SINGLE_KEY[r.opcode] === 1 && c.authenticated) {
        if (++n === BATCH_MAX) {
          this.runBatch(n);
          n = 0;
        }
        continue;
      }
      this.runBatch(n);
      n = 0;
      this.run(r);
    }
    this.runBatch(n);
    if (done > 0) {
      c.commands += done;
      this.ctx.shared.workerTotalAdd(this.ctx.index, 'commands', done);
    }
    return held;
  }

  private runBatch(n: number): void {
    if (n === 0) return;
    if (n === 1) return this.run(this.frames[0]!);
    const store = this.c.store;
    // Filled by index and never truncated (runStepsLocked reads the first n), so it is not reallocated.
    const ids = this.ids;
    for (let i = 0; i < n; i++) ids[i] = store.shardIdOf(frameKey(this.frames[i]!));
    runStepsLocked(this.ctx, store, ids, n, runBatchedFrame, this);
  }

  /** Runs batched frame i (through runBatchedFrame, runStepsLocked's step). */
  runBatched(i: number): void {
    this.run(this.frames[i]!);
  }

  /** Runs one frame; any failure becomes an ERROR reply to it. */
  private run(f: Frame): void {
    try {
      this.exec(f);
    } catch (e) {
      this.out.abort();
      this.replyError(f.requestId, e);
    }
  }

  private exec(f: Frame): void {
    const op = f.opcode;
    const id = f.requestId;
    const c = this.c;
    const out = this.out;
    if (!c.authenticated && op !== Opcode.PING && op !== Opcode.AUTH) throw new RequestError(WireErrorCode.NOAUTH, 'NOAUTH Authentication required.');
    c.lastCommand = OPCODE_NAME[op] ?? 'unknown';
    const store = c.store;
    switch (op) {
      case Opcode.GET: {
        const key = frameKey(f);
        if ((f.flags & FrameFlag.TRACK) !== 0) this.remember(key);
        this.replyId = id;
        if (!store.getInto(key, this)) out.frame(Opcode.REPLY, FrameFlag.NIL, id, null, null, null);
        return;
      }
      case Opcode.SET: {
        const key = frameKey(f);
        const opts = f.metaLen > 0 ? setOptions(frameMeta(f)) : undefined;
        const r = store.set(key, frameValue(f), opts);
        if (opts?.get === true) out.frame(Opcode.REPLY, r === null ? FrameFlag.NIL : 0, id, null, null, r as Buffer | null);
        else out.frame(Opcode.REPLY, 0, id, null, null, null, r === false ? 0 : 1);
        if (r !== false || opts?.get === true) this.wrote(key, 'set');
        return;
      }
      case Opcode.DELETE: {
        const key = frameKey(f);
        const n = store.del(key);
        out.frame(Opcode.REPLY, 0, id, null, null, null, n);
        if (n > 0) this.wrote(key, 'del');
        return;
      }
      case Opcode.EXISTS:
        out.frame(Opcode.REPLY, 0, id, null, null, null, store.exists(frameKey(f)));
        return;
      case Opcode.INCR: {
        const key = frameKey(f);
        const delta = i64Arg(f);
        const r = store.incrBy(key, Number.isSafeInteger(Number(delta)) ? Number(delta) : delta);
        out.begin(Opcode.REPLY, 0, id);
        out.keyDone();
        out.metaDone();
        out.i64(BigInt(r));
        out.end();
        this.wrote(key, 'incrby');
        return;
      }
      case Opcode.EXPIRE: {
        const key = frameKey(f);
        const ok = store.pexpire(key, Number(i64Arg(f)));
        out.frame(Opcode.REPLY, 0, id, null, null, null, ok ? 1 : 0);
        if (ok) this.wrote(key, 'expire');
        return;
      }
      case Opcode.TTL:
        out.begin(Opcode.REPLY, 0, id);
        out.keyDone();
        out.metaDone();
        out.i64(BigInt(store.pttl(frameKey(f))));
        out.end();
        return;
      case Opcode.MGET:
        return this.mget(f);
      case Opcode.MSET:
        return this.mset(f);
      case Opcode.UNLOCK:
        return this.unlock(f);
      case Opcode.PUBLISH: {
        const ch = frameKey(f);
        const msg = frameValue(f);
        const n = this.ctx.pubsub!.publish(ch, msg);
        out.frame(Opcode.REPLY, 0, id, null, null, null, n);
        return;
      }
      case Opcode.SUBSCRIBE:
        this.subscribe(frameKey(f));
        out.frame(Opcode.REPLY, 0, id, null, null, null, this.channels.size);
        return;
      case Opcode.UNSUBSCRIBE:
        if (f.keyLen === 0) for (const ch of [...this.channels]) this.unsubscribe(ch);
        else this.unsubscribe(frameKey(f).toString('latin1'));
        out.frame(Opcode.REPLY, 0, id, null, null, null, this.channels.size);
        return;
      case Opcode.TRACK:
        this.setTracking((f.flags & FrameFlag.OFF) === 0);
        out.frame(Opcode.REPLY, 0, id, null, null, null);
        return;
      case Opcode.PING:
        out.frame(Opcode.REPLY, 0, id, null, null, f.valLen > 0 ? frameValue(f) : null);
        return;
      case Opcode.AUTH:
        return this.auth(f);
      case Opcode.INFO:
        out.frame(Opcode.REPLY, 0, id, null, wire.pack(this.info()), null);
        return;
      default:
        throw new RequestError(WireErrorCode.UNKNOWN_OPCODE, `unknown opcode ${op}`);
    }
  }

  /** ValueSink for GET: the value goes straight from the shard's arena into the reply. */
  bulkFrom(src: Uint8Array, off: number, len: number): void {
    const out = this.out;
    out.begin(Opcode.REPLY, 0, this.replyId);
    out.keyDone();
    out.metaDone();
    out.bytesFrom(src, off, len);
    out.end();
  }

  private mget(f: Frame): void {
    const keys = frameEntries(f, false);
    if (keys === null) throw new RequestError(WireErrorCode.BAD_REQUEST, 'MGET entries do not match the frame');
    const store = this.c.store;
    const track = (f.flags & FrameFlag.TRACK) !== 0;
    const locked = store.lockShards(keys.map((k) => store.shardIdOf(k!)));
    const out = this.out;
    try {
      out.begin(Opcode.REPLY, 0, f.requestId);
      out.keyDone();
      out.metaDone();
      for (const k of keys) {
        if (track) this.remember(k!);
        if (!store.getInto(k!, this.entrySink)) out.entry(null);
      }
      out.end(keys.length);
    } finally {
      store.unlockShards(locked);
    }
  }

  private mset(f: Frame): void {
    const pairs = f.count;
    const items = frameEntries({ ...f, count: pairs * 2 }, false);
    if (items === null) throw new RequestError(WireErrorCode.BAD_REQUEST, 'MSET entries do not match the frame');
    const store = this.c.store;
    const ids: number[] = [];
    for (let i = 0; i < items.length; i += 2) ids.push(store.shardIdOf(items[i]!));
    const locked = store.lockShards(ids);
    try {
      for (let i = 0; i < items.length; i += 2) store.set(items[i]!, items[i + 1]!);
    } finally {
      store.unlockShards(locked);
    }
    for (let i = 0; i < items.length; i += 2) this.wrote(items[i]!, 'set');
    this.out.frame(Opcode.REPLY, 0, f.requestId, null, null, null, pairs);
  }

  /** Compare-and-delete under the shard lock: only the holder's token releases a lock key. */
  private unlock(f: Frame): void {
    const store = this.c.store;
    const key = frameKey(f);
    const token = frameValue(f);
    const locked = store.lockShards([store.shardIdOf(key)]);
    let n = 0;
    try {
      const v = store.get(key);
      if (v !== null && v.equals(token)) n = store.del(key);
    } finally {
      store.unlockShards(locked);
    }
    if (n > 0) this.wrote(key, 'del');
    this.out.frame(Opcode.REPLY, 0, f.requestId, null, null, null, n);
  }

  private auth(f: Frame): void {
    const pass = this.ctx.requirepass;
    if (pass === '') throw new RequestError(WireErrorCode.BAD_REQUEST, 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    if (frameValue(f).toString() !== pass) throw new RequestError(WireErrorCode.WRONGPASS, 'WRONGPASS invalid username-password pair or user is disabled.');
    this.c.authenticated = true;
    this.out.frame(Opcode.REPLY, 0, f.requestId, null, null, null);
  }

  private info(): Record<string, unknown> {
    const ctx = this.ctx;
    const s = this.c.store.stats();
    return {
      server: { runId: ctx.runId, uptimeMs: Date.now() - ctx.startedAt, workers: ctx.workers, worker: ctx.index, frameLayoutVersion: FRAME_LAYOUT_VERSION, pid: process.pid },
      clients: { connected: ctx.shared.get('clients'), trackers: ctx.shared.get('trackers') },
      store: { keys: s.keys, volatileKeys: s.volatileKeys, hits: s.hits, misses: s.misses, expired: s.expired, evicted: s.evicted, usedBytes: s.usedBytes, maxBytes: s.maxBytes },
      keyspace: this.c.store.keyspace().filter((k) => k.keys > 0),
      connection: { id: this.id, tracking: this.tracking, subscriptions: this.channels.size, commands: this.c.commands },
    };
  }

  // ---- tracking -------------------------------------------------------------------------------

  private setTracking(on: boolean): void {
    if (on === this.tracking) return;
    this.tracking = on;
    trackingCount += on ? 1 : -1;
    this.ctx.countShared('trackers', on ? 1 : -1);
  }

  private remember(key: Uint8Array): void {
    if (!this.tracking) return;
    const table = this.w.table;
    const s = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
    let ids = table.get(s);
    if (ids === undefined) {
      table.set(s, (ids = new Set()));
      const max = this.ctx.trackingMaxKeys;
      if (max !== 0 && table.size > max) {
        // Over tracking-table-max-keys (held per worker for binary clients): the oldest key is
        // invalidated for its readers.
        const oldest = table.keys().next().value!;
        invalidateLocal(this.w, [Buffer.from(oldest, 'latin1')], null);
      }
    }
    ids.add(this.id);
  }

  /** After a write of `key`: keyspace event, local invalidation now, other workers at end of read. */
  private wrote(key: Buffer, event: string): void {
    notify(this.ctx, this.c, '$', event, key);
    const w = this.w;
    if (w.table.size > 0) invalidateLocal(w, [key], this);
    if (this.ctx.shared.get('trackers') > 0) this.written.push(new Uint8Array(key));
  }

  private publishWrites(): void {
    if (this.written.length === 0) return;
    const keys = this.written;
    this.written = [];
    const w = this.w;
    // A batch of one: the bus carries arrays of messages (WorkerContext.broadcast).
    w.bus?.postMessage([{ type: 'invalidate', keys, db: this.c.db, by: this.id, from: w.busFrom }] satisfies BusMessage[]);
  }

  /** INVALIDATE push for `keys` (null: everything). */
  pushInvalidate(keys: Uint8Array[] | null): void {
    if (this.c.closing || this.c.socket.destroyed) return;
    const out = this.out;
    out.begin(Opcode.INVALIDATE, keys === null ? FrameFlag.ALL : 0, PUSH_REQUEST_ID);
    out.keyDone();
    out.metaDone();
    if (keys !== null) for (const k of keys) out.entry(k);
    out.end(keys === null ? 0 : keys.length);
    if (!this.busy) this.flush();
  }

  // ---- pub/sub --------------------------------------------------------------------------------

  private subscribe(ch: Buffer): void {
    const k = ch.toString('latin1');
    if (this.channels.has(k)) return;
    this.channels.add(k);
    let set = this.w.channels.get(k);
    if (set === undefined) this.w.channels.set(k, (set = new Set()));
    set.add(this);
    this.ctx.channelAdd(ch, 1);
  }

  private unsubscribe(k: string): void {
    if (!this.channels.delete(k)) return;
    const set = this.w.channels.get(k);
    set?.delete(this);
    if (set?.size === 0) this.w.channels.delete(k);
    this.ctx.channelAdd(Buffer.from(k, 'latin1'), -1);
  }

  pushMessage(ch: Uint8Array, msg: Uint8Array): void {
    if (this.c.closing || this.c.socket.destroyed) return;
    this.out.frame(Opcode.MESSAGE, 0, PUSH_REQUEST_ID, ch, null, msg);
    if (!this.busy) this.flush();
  }

  // ---- output and errors ----------------------------------------------------------------------

  private flush(): void {
    const c = this.c;
    // As for RESP (dispatch.ts processInput): the other workers are told before the reply goes out.
    this.ctx.flushOutbox();
    if (this.out.len === 0 || c.socket.destroyed) return;
    const bytes = this.out.len;
    c.socket.write(this.out.take());
    afterWrite(this.ctx, c, bytes);
  }

  private replyError(requestId: number, e: unknown): void {
    let code: string;
    let message: string;
    if (e instanceof RequestError || e instanceof ShardcacheError) {
      code = e.code;
      message = e.message;
    } else {
      code = WireErrorCode.BAD_REQUEST;
      message = e instanceof Error ? e.message : String(e);
    }
    this.out.frame(Opcode.ERROR, 0, requestId, null, wire.pack({ code, message }), null);
  }

  /** Framing is lost: say why, then close once the reply is out. */
  private fatal(e: FrameError, log: boolean): void {
    const c = this.c;
    this.out.frame(Opcode.ERROR, 0, e.requestId, null, wire.pack({ code: e.code, message: e.message }), null);
    if (log) this.ctx.log('verbose', `Binary protocol error (${e.message}) from client: id=${c.id} addr=${c.addr}`);
    this.flush();
    c.closeAfterWrites();
  }

  private closed(): void {
    const w = this.w;
    for (const k of [...this.channels]) this.unsubscribe(k);
    this.setTracking(false);
    w.conns.delete(this.id);
  }
}

/** SET options from msgpackr: the store's SetOptions, with `px` etc. checked for type here. */
function setOptions(meta: Buffer): SetOptions {
  let o: unknown;
  try {
    o = wire.unpack(meta);
  } catch {
    throw new RequestError(WireErrorCode.BAD_REQUEST, 'SET options are not valid msgpack');
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new RequestError(WireErrorCode.BAD_REQUEST, 'SET options must be a map');
  const out: SetOptions = {};
  for (const [k, v] of Object.entries(o as Record<string, unknown>)) {
    switch (k) {
      case 'nx':
      case 'xx':
      case 'get':
      case 'keepTtl':
        if (typeof v !== 'boolean') throw new RequestError(WireErrorCode.BAD_REQUEST, `SET option ${k} must be a boolean`);
        out[k] = v;
        break;
      case 'ex':
      case 'px':
      case 'exat':
      case 'pxat':
        if (typeof v !== 'number') throw new RequestError(WireErrorCode.BAD_REQUEST, `SET option ${k} must be a number`);
        out[k] = v;
        break;
      default:
        throw new RequestError(WireErrorCode.BAD_REQUEST, `unknown SET option '${k}'`);
    }
  }
  return out;
}

function i64Arg(f: Frame): bigint {
  if (f.valLen !== 8) throw new RequestError(WireErrorCode.BAD_REQUEST, `expected an 8-byte integer, got ${f.valLen} bytes`);
  return f.buf.readBigInt64LE(f.valOff);
}

/** Invalidates `keys` (null: all) for this worker's tracking connections. */
function invalidateLocal(w: WorkerBinary, keys: readonly Uint8Array[] | null, _writer: BinaryConnection | null): void {
  if (keys === null) {
    w.table.clear();
    for (const conn of w.conns.values()) if (conn.tracking) conn.pushInvalidate(null);
    return;
  }
  if (w.table.size === 0) return;
  let perConn: Map<BinaryConnection, Uint8Array[]> | null = null;
  for (const k of keys) {
    const s = Buffer.from(k.buffer, k.byteOffset, k.length).toString('latin1');
    const ids = w.table.get(s);
    if (ids === undefined) continue;
    w.table.delete(s);
    for (const id of ids) {
      const conn = w.conns.get(id);
      if (conn === undefined || !conn.tracking) continue;
      perConn ??= new Map();
      let list = perConn.get(conn);
      if (list === undefined) perConn.set(conn, (list = []));
      list.push(k);
    }
  }
  if (perConn !== null) for (const [conn, list] of perConn) conn.pushInvalidate(list);
}

function deliverLocal(w: WorkerBinary, ch: Uint8Array, msg: Uint8Array): void {
  const subs = w.channels.get(Buffer.from(ch.buffer, ch.byteOffset, ch.length).toString('latin1'));
  if (subs === undefined) return;
  for (const conn of subs) conn.pushMessage(ch, msg);
}
