/**
 * One thread of the load generator (src/bench/loadgen.ts), run by piscina. It opens its share of
 * the client connections, waits on a shared start flag so that every thread starts together, then
 * each connection sends batches of `pipeline` requests and sends the next batch once every reply
 * of the previous one has arrived (what redis-benchmark -P does). Keys are "key:" and a 12-digit
 * zero-padded counter, drawn uniformly from [0, keys) as redis-benchmark -r names them, so keys
 * loaded for redis-benchmark serve this generator too. The get:set ratio is exact: of every
 * get+set consecutive requests of a connection, the first `get` are GETs.
 *
 * Latency is measured per request, from the write of its batch to the arrival of its reply, into
 * a log-scale histogram (0.54% wide buckets) that threads merge by addition.
 *
 * Protocols: a Codec turns a key (and value) into request bytes and counts complete replies in
 * the byte stream. RESP is built in. Other protocols plug in through CODEC_MODULES: a module that
 * exports `codec: Codec` (see loadCodec); the binary protocol is expected at
 * src/protocol/binary/loadgen-codec.ts.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import net from 'node:net';

/** A request as bytes, with the key's 16 bytes at keyOffset (rewritten for every request). */
export interface RequestTemplate {
  bytes: Uint8Array;
  keyOffset: number;
}

/** Counts complete replies in a reply byte stream that arrives in arbitrary pieces. */
export interface ReplyReader {
  /** Consumes a chunk; returns how many replies it completed. */
  feed(chunk: Uint8Array): number;
  /** Error replies seen so far. */
  readonly errors: number;
}

/** How the load generator speaks one protocol. */
export interface Codec {
  readonly name: string;
  /** GET of `key` (KEY_BYTES bytes). */
  getTemplate(key: Uint8Array): RequestTemplate;
  /** SET of `key` to `value`. */
  setTemplate(key: Uint8Array, value: Uint8Array): RequestTemplate;
  createReader(): ReplyReader;
  /** Bytes sent on each new connection before the load (a protocol switch, say), and how many replies they produce. */
  handshake?: { bytes: Uint8Array; replies: number };
}

/** Protocol name -> module (relative to this file) exporting `codec: Codec`. RESP needs none. */
export const CODEC_MODULES: Readonly<Record<string, string>> = {
  binary: '../protocol/binary/loadgen-codec.ts',
};

export const KEY_BYTES = 16;
const KEY_DIGITS = KEY_BYTES - 4;

// ---- RESP ----------------------------------------------------------------------------------------

const CR = 13;
const LF = 10;

/**
 * A RESP2/RESP3 reply counter: a state machine that reads type lines and skips bulk payloads
 * without buffering them, tracking aggregate nesting so that only top-level replies count.
 */
export class RespReplyReader implements ReplyReader {
  errors = 0;
  /** Bytes of a type line not yet terminated by CRLF. */
  private line: number[] = [];
  /** Payload bytes (including its CRLF) still to skip. */
  private skip = 0;
  /** Elements still expected by each open aggregate, innermost last. */
  private stack: number[] = [];

  feed(b: Uint8Array): number {
    let done = 0;
    let i = 0;
    const n = b.length;
    while (i < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - i);
        this.skip -= k;
        i += k;
        if (this.skip === 0) done += this.element();
        continue;
      }
      const lf = b.indexOf(LF, i);
      if (lf < 0) {
        for (let j = i; j < n; j++) this.line.push(b[j]!);
        break;
      }
      let head: string;
      if (this.line.length > 0) {
        for (let j = i; j <= lf; j++) this.line.push(b[j]!);
        head = String.fromCharCode(...this.line.slice(0, this.line.length - 2));
        this.line.length = 0;
      } else {
        head = latin1(b, i, lf - 1 >= i && b[lf - 1] === CR ? lf - 1 : lf);
      }
      i = lf + 1;
      done += this.header(head);
    }
    return done;
  }

  private header(head: string): number {
    const t = head.charCodeAt(0);
    switch (t) {
      case 0x24: // $ bulk string
      case 0x21: // ! bulk error
      case 0x3d: { // = verbatim string
        if (t === 0x21) this.errors++;
        const len = Number(head.slice(1));
        if (len < 0) return this.element();
        this.skip = len + 2;
        return 0;
      }
      case 0x2a: // * array
      case 0x7e: // ~ set
      case 0x3e: // > push
      case 0x25: { // % map
        let len = Number(head.slice(1));
        if (t === 0x25) len *= 2;
        if (len <= 0) return this.element();
        this.stack.push(len);
        return 0;
      }
      case 0x2d: // - error
        this.errors++;
        return this.element();
      default: // + : _ # , ( simple types
        return this.element();
    }
  }

  /** One element finished: closes the aggregates it completes; 1 if it ended a top-level reply. */
  private element(): number {
    for (;;) {
      const s = this.stack;
      if (s.length === 0) return 1;
      const left = --s[s.length - 1]!;
      if (left > 0) return 0;
      s.pop();
    }
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let j = from; j < to; j++) s += String.fromCharCode(b[j]!);
  return s;
}

function respCommand(args: Uint8Array[]): RequestTemplate {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  let keyOffset = -1;
  let off = parts[0]!.length;
  args.forEach((a, i) => {
    const head = Buffer.from(`$${a.length}\r\n`, 'latin1');
    parts.push(head, Buffer.from(a), Buffer.from('\r\n', 'latin1'));
    off += head.length;
    if (i === 1) keyOffset = off;
    off += a.length + 2;
  });
  return { bytes: Buffer.concat(parts), keyOffset };
}

export const RESP_CODEC: Codec = {
  name: 'resp',
  getTemplate: (key) => respCommand([Buffer.from('GET'), key]),
  setTemplate: (key, value) => respCommand([Buffer.from('SET'), key, value]),
  createReader: () => new RespReplyReader(),
};

/** The codec for a protocol: RESP built in, others from CODEC_MODULES. */
export async function loadCodec(protocol: string): Promise<Codec> {
  if (protocol === 'resp') return RESP_CODEC;
  const spec = CODEC_MODULES[protocol];
  if (spec === undefined) throw new Error(`unknown protocol ${protocol} (known: resp, ${Object.keys(CODEC_MODULES).join(', ')})`);
  let mod: { codec?: Codec };
  try {
    mod = (await import(new URL(spec, import.meta.url).href)) as { codec?: Codec };
  } catch (e) {
    throw new Error(`the ${protocol} protocol has no load-generator codec yet: src/bench/${spec} must export \`codec\` implementing Codec from src/bench/loadgen-worker.ts (${(e as Error).message.split('\n')[0]})`);
  }
  if (mod.codec === undefined) throw new Error(`src/bench/${spec} does not export \`codec\``);
  return mod.codec;
}

// ---- latency histogram -----------------------------------------------------------------------------

/** Buckets per power of two of microseconds; 2^(1/128) - 1 = 0.54% wide. */
const SUB = 128;
/** Up to 2^26 µs (67 s). */
export const HIST_BUCKETS = 26 * SUB + 1;

export function bucketOf(us: number): number {
  if (!(us > 0)) return 0;
  const b = Math.floor(Math.log2(us + 1) * SUB);
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/** The middle of a bucket, in microseconds. */
export function bucketValue(b: number): number {
  return (2 ** (b / SUB) + 2 ** ((b + 1) / SUB)) / 2 - 1;
}

/** The q-quantile (0..1) of a histogram, in microseconds. */
export function quantile(hist: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < hist.length; i++) total += hist[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let c = 0;
  for (let i = 0; i < hist.length; i++) {
    c += hist[i]!;
    if (c >= rank) return bucketValue(i);
  }
  return bucketValue(hist.length - 1);
}

// ---- the task ----------------------------------------------------------------------------------------

export interface WorkerTask {
  host: string;
  port: number;
  /** Connections this thread opens. */
  clients: number;
  /** Index of this thread's first connection among all (for seeds and request shares). */
  firstClient: number;
  pipeline: number;
  size: number;
  keys: number;
  get: number;
  set: number;
  /** Send for this long after the warmup (ms), then drain. Ignored when requestsPerClient is given. */
  durationMs: number;
  /** Warmup (ms): requests sent in it are counted as sent but not measured. */
  warmupMs: number;
  /** Exact request counts per connection (fixed-count mode), indexed from firstClient. */
  requestsPerClient?: number[];
  protocol: string;
  seed: number;
  /** Int32Array: [0] threads connected, [1] go flag. */
  control: SharedArrayBuffer;
}

export interface WorkerResult {
  gets: number;
  sets: number;
  replies: number;
  errors: number;
  /** Replies to requests sent after the warmup, and the span they cover (ms). */
  measured: number;
  measuredMs: number;
  hist: number[];
  minUs: number;
  maxUs: number;
  sumUs: number;
  bytesOut: number;
  bytesIn: number;
  /** This thread's CPU time over the run, and its wall time (ms). */
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function writeDigits(b: Uint8Array, off: number, n: number): void {
  for (let i = off + KEY_DIGITS - 1; i >= off; i--) {
    b[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
}

function threadCpu(): { user: number; system: number } {
  const f = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  return f ? f() : process.cpuUsage();
}

function connect(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    s.setNoDelay(true);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

export default async function loadgenThread(t: WorkerTask): Promise<WorkerResult> {
  const codec = await loadCodec(t.protocol);
  const key = Buffer.alloc(KEY_BYTES, 0x30);
  key.write('key:', 0, 'latin1');
  const value = Buffer.alloc(t.size);
  for (let i = 0; i < t.size; i++) value[i] = 0x61 + (i % 26);
  const getT = codec.getTemplate(key);
  const setT = codec.setTemplate(key, value);
  const cycle = t.get + t.set;

  const hist = new Array<number>(HIST_BUCKETS).fill(0);
  const r: WorkerResult = { gets: 0, sets: 0, replies: 0, errors: 0, measured: 0, measuredMs: 0, hist, minUs: Infinity, maxUs: 0, sumUs: 0, bytesOut: 0, bytesIn: 0, cpuUserMs: 0, cpuSystemMs: 0, wallMs: 0 };

  const sockets: net.Socket[] = [];
  try {
    for (let c = 0; c < t.clients; c++) {
      const s = await connect(t.host, t.port);
      sockets.push(s);
      if (codec.handshake) {
        const reader = codec.createReader();
        let left = codec.handshake.replies;
        await new Promise<void>((resolve, reject) => {
          const onData = (d: Buffer) => {
            left -= reader.feed(d);
            if (left <= 0) {
              s.off('data', onData);
              resolve();
            }
          };
          s.on('data', onData);
          s.once('error', reject);
          s.write(codec.handshake!.bytes);
        });
      }
    }
  } catch (e) {
    for (const s of sockets) s.destroy();
    // Still count as ready so the main thread does not wait for this thread forever.
    Atomics.add(new Int32Array(t.control), 0, 1);
    throw e;
  }

  const ctl = new Int32Array(t.control);
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const w = Atomics.waitAsync(ctl, 1, 0);
  if (w.async) await w.value;

  const cpu0 = threadCpu();
  const t0 = performance.now();
  const measureFrom = t0 + t.warmupMs;
  const deadline = measureFrom + t.durationMs;
  let lastReply = measureFrom;

  const runClient = (s: net.Socket, ci: number) =>
    new Promise<void>((resolve, reject) => {
      const rnd = xorshift(t.seed + (t.firstClient + ci) * 0x9e3779b1);
      const reader = codec.createReader();
      let quota = t.requestsPerClient ? t.requestsPerClient[ci]! : Infinity;
      let opNo = 0;
      let inflight = 0;
      let sentAt = 0;
      let measuring = false;
      let finished = false;
      const finish = (err?: Error) => {
        if (finished) return;
        finished = true;
        r.errors += reader.errors;
        s.removeAllListeners('data');
        if (err) reject(err);
        else resolve();
      };
      const sendBatch = () => {
        const n = Math.min(t.pipeline, quota);
        quota -= n;
        let total = 0;
        const kinds = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          const isSet = opNo++ % cycle >= t.get;
          kinds[i] = isSet ? 1 : 0;
          total += (isSet ? setT : getT).bytes.length;
        }
        const buf = Buffer.allocUnsafe(total);
        let off = 0;
        for (let i = 0; i < n; i++) {
          const tpl = kinds[i] ? setT : getT;
          buf.set(tpl.bytes, off);
          writeDigits(buf, off + tpl.keyOffset + 4, rnd() % t.keys);
          off += tpl.bytes.length;
          if (kinds[i]) r.sets++;
          else r.gets++;
        }
        inflight = n;
        r.bytesOut += total;
        sentAt = performance.now();
        measuring = sentAt >= measureFrom;
        s.write(buf);
      };
      s.on('data', (d: Buffer) => {
        r.bytesIn += d.length;
        const k = reader.feed(d);
        if (k === 0) return;
        const now = performance.now();
        if (k > inflight) return finish(new Error(`more replies than requests on connection ${t.firstClient + ci}`));
        inflight -= k;
        r.replies += k;
        if (measuring) {
          const us = (now - sentAt) * 1000;
          hist[bucketOf(us)]! += k;
          if (us < r.minUs) r.minUs = us;
          if (us > r.maxUs) r.maxUs = us;
          r.sumUs += us * k;
          r.measured += k;
          if (now > lastReply) lastReply = now;
        }
        if (inflight === 0) {
          if (quota > 0 && (t.requestsPerClient !== undefined || now < deadline)) sendBatch();
          else finish();
        }
      });
      s.once('error', (e) => finish(e));
      s.once('close', () => finish(inflight > 0 ? new Error(`connection ${t.firstClient + ci} closed with ${inflight} replies outstanding`) : undefined));
      if (quota > 0) sendBatch();
      else finish();
    });

  try {
    await Promise.all(sockets.map((s, i) => runClient(s, i)));
  } finally {
    for (const s of sockets) s.destroy();
  }
  const t1 = performance.now();
  const cpu1 = threadCpu();
  r.cpuUserMs = (cpu1.user - cpu0.user) / 1000;
  r.cpuSystemMs = (cpu1.system - cpu0.system) / 1000;
  r.wallMs = t1 - t0;
  // Fixed-count runs have no warmup: everything is measured, from the start.
  r.measuredMs = t.requestsPerClient !== undefined ? lastReply - t0 : lastReply - measureFrom;
  if (r.minUs === Infinity) r.minUs = 0;
  return r;
}
