/**
 * Differential fuzzer: the same seeded command sequences (difffuzz-gen.ts) to redis-server and to
 * shardcache, over raw RESP2 connections, replies compared. It starts both servers itself, on free
 * ports, at their defaults (shardcache with two workers), and stops them when done.
 *
 *   node test/server/difffuzz.ts [--seeds 1-30 | --seeds 1,5,9] [--n 10000] [--epoch 300]
 *     [--pipe 20] [--split] [--boost watch=8,multi=4] [--exclude incrbyfloat,copy] [--out f.jsonl]
 *     [--no-active-expire]
 *
 * --pipe sends random pipelines of 1..N requests in one write, --split cuts that write at random
 * offsets. Every 40 commands a digest (MGET of every key, DBSIZE, PTTL of each key) compares the
 * state; every --epoch commands both servers are compared over databases 0-3 and flushed. A
 * mismatch (with the history since the last flush) goes to --out as one JSON line; both servers
 * are then flushed and the run goes on. It ends with the count of each kind of mismatch, and of
 * the known differences it let pass (knownInExec).
 *
 * Replies must be equal byte for byte, except: TTL-like integers may differ by the time between
 * the two requests, and KEYS in any order. Not in CI: reply timing on a loaded machine (a key set
 * to expire in the past, then reclaimed by either server's active expiry) makes a few DBSIZE
 * digests differ in a long run, which the fuzzer reports as it finds them. --no-active-expire
 * turns both servers' expiry cycles off, which leaves only the lookups to remove expired keys.
 */
import { execFileSync } from 'node:child_process';
import { writeSync, openSync, closeSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { hasBinary, startRedis, startShardcache } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { ALL_KEYS, KEYS, makeGen, rng } from './difffuzz-gen.ts';
import { request } from './harness.ts';
import { decodeDump } from '../../src/store/dump.ts';

/** A parsed RESP2 reply. */
type Reply = { t: '+' | '-' | ':' | '$' | '?'; s: string } | { t: '*'; a: Reply[] } | { t: 'nil' | 'nilarr' | 'timeout' | 'closed' };
interface Got {
  raw: Buffer;
  v: Reply;
}

/** One reply at buf[off], or null while incomplete. */
function parseReply(buf: Buffer, off: number): { end: number; v: Reply } | null {
  const nl = buf.indexOf('\r\n', off, 'latin1');
  if (nl < 0) return null;
  const t = String.fromCharCode(buf[off]!);
  const line = buf.toString('latin1', off + 1, nl);
  const next = nl + 2;
  switch (t) {
    case '+':
    case '-':
    case ':':
      return { end: next, v: { t, s: line } };
    case '$': {
      const n = Number(line);
      if (n < 0) return { end: next, v: { t: 'nil' } };
      if (buf.length < next + n + 2) return null;
      return { end: next + n + 2, v: { t, s: buf.toString('latin1', next, next + n) } };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { end: next, v: { t: 'nilarr' } };
      const a: Reply[] = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, p);
        if (r === null) return null;
        a.push(r.v);
        p = r.end;
      }
      return { end: p, v: { t, a } };
    }
    default:
      return { end: next, v: { t: '?', s: t + line } };
  }
}

/** A raw connection: each request gets the next reply, or a timeout or closed marker. */
class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiters: { resolve: (g: Got) => void; timer: NodeJS.Timeout }[] = [];
  private closed = false;
  private readonly sock: net.Socket;
  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.pump();
    });
    const end = () => {
      this.closed = true;
      this.failWaiters();
    };
    sock.on('error', end);
    sock.on('close', end);
  }

  /** Every request still waiting gets the closed marker. */
  private failWaiters(): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve({ raw: Buffer.from('<connection closed>'), v: { t: 'closed' } });
    }
  }

  static connect(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ port, host: '127.0.0.1' }, () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }

  private pump(): void {
    while (this.waiters.length !== 0) {
      const r = parseReply(this.buf, 0);
      if (r === null) return;
      const raw = Buffer.from(this.buf.subarray(0, r.end));
      this.buf = this.buf.subarray(r.end);
      const w = this.waiters.shift()!;
      clearTimeout(w.timer);
      w.resolve({ raw, v: r.v });
    }
  }

  /** Requests in one write, cut at the offsets `cuts` gives for its length; their replies in order. */
  send(list: readonly string[][], cuts: ((len: number) => number[]) | null = null): Promise<Got[]> {
    const replies = list.map(
      () =>
        new Promise<Got>((resolve) => {
          const w = {
            resolve,
            timer: setTimeout(() => {
              this.waiters.splice(this.waiters.indexOf(w), 1);
              resolve({ raw: Buffer.from('<timeout>'), v: { t: 'timeout' } });
            }, 5000),
          };
          this.waiters.push(w);
        }),
    );
    if (this.closed) this.failWaiters();
    else void this.write(Buffer.concat(list.map(request)), cuts);
    return Promise.all(replies);
  }

  private async write(buf: Buffer, cuts: ((len: number) => number[]) | null): Promise<void> {
    let prev = 0;
    for (const c of [...(cuts === null ? [] : cuts(buf.length)), buf.length]) {
      if (c <= prev) continue;
      this.sock.write(buf.subarray(prev, c));
      prev = c;
      if (c < buf.length) await new Promise((r) => setTimeout(r, 1));
    }
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Integers that are times: equal within this much (the time between the two servers' replies). */
const TIME_SLACK: Record<string, bigint> = { ttl: 1n, pttl: 1000n, expiretime: 1n, pexpiretime: 1000n };

/** Past 2^53 ms an expiry time is kept as a double here (README), 2,048 ms apart near 2^63. */
const DOUBLE_EXACT = 2n ** 53n;
const DOUBLE_STEP_NEAR_2_63 = 2048n;

function sameValue(args: readonly string[], a: Reply, b: Reply): boolean {
  const name = args[0]!.toLowerCase();
  if (a.t !== b.t) return false;
  const slack = TIME_SLACK[name];
  if (slack !== undefined && a.t === ':' && b.t === ':') {
    const [x, y] = [BigInt(a.s), BigInt(b.s)];
    if (x < 0n || y < 0n) return x === y;
    const d = x > y ? x - y : y - x;
    if (d <= slack) return true;
    return (x > DOUBLE_EXACT || y > DOUBLE_EXACT) && d <= slack + DOUBLE_STEP_NEAR_2_63 && known('TTL beyond 2^53 ms');
  }
  if (/^p?expire(at)?$/.test(name) && a.t === ':' && b.t === ':' && args.slice(3).some((o) => /^(gt|lt)$/i.test(o)) && /^\d+$/.test(args[2] ?? '')) {
    // GT / LT between two expiry times beyond 2^53 ms: both are doubles here, and may be equal.
    const n = BigInt(args[2]!);
    if ((name.startsWith('p') ? n : n * 1000n) > DOUBLE_EXACT) return known('GT/LT beyond 2^53 ms');
  }
  if (name === 'dump' && a.t === '$' && b.t === '$') {
    // A string over 20 bytes that LZF shrinks: Redis compresses it, we do not (README); the
    // payloads must hold the same value.
    const value = (s: string) => decodeDump(Buffer.from(s, 'latin1'));
    const [x, y] = [value(a.s), value(b.s)];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) && x.equals(y) && known('DUMP of a string Redis compresses');
  }
  if (name === 'keys' && a.t === '*' && b.t === '*') {
    const names = (r: Reply[]) => JSON.stringify(r.map((e) => ('s' in e ? e.s : e.t)).sort());
    return names(a.a) === names(b.a);
  }
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Differences the README lists as known, counted apart rather than as mismatches: a TTL beyond
 * 2^53 ms in its last digits and an EXPIRE GT/LT that compares two such times (sameValue), and
 * OBJECT REFCOUNT inside EXEC, where Redis says 2 for
 * a value a command queued in the same transaction stored from its argument (the queued
 * arguments hold it until EXEC ends) and we say 1.
 */
const knownDifferences = new Map<string, number>();
function known(kind: string): true {
  knownDifferences.set(kind, (knownDifferences.get(kind) ?? 0) + 1);
  return true;
}
function knownInExec(args: readonly string[], a: Reply, b: Reply): boolean {
  return args[0]!.toLowerCase() === 'object' && args[1]?.toLowerCase() === 'refcount' && a.t === ':' && b.t === ':' && a.s === '2' && b.s === '1' && known('OBJECT REFCOUNT inside EXEC');
}

/** Whether the replies agree; an EXEC's elements are compared with their own commands' rules. */
function agree(args: readonly string[], r: Got, s: Got, queued: string[][] | null): boolean {
  if (r.raw.equals(s.raw)) return true;
  if (queued !== null && r.v.t === '*' && s.v.t === '*') {
    const [ra, sa] = [r.v.a, s.v.a];
    return ra.length === sa.length && ra.length === queued.length && ra.every((x, i) => sameValue(queued[i]!, x, sa[i]!) || knownInExec(queued[i]!, x, sa[i]!));
  }
  return sameValue(args, r.v, s.v);
}

function shape(v: Reply): string {
  if (v.t === '-') return `-${v.s.replace(/'[^']*'/g, "'_'").replace(/-?\d+/g, 'N').slice(0, 70)}`;
  if (v.t === '*') return `*${v.a.length !== 0 ? `[${shape(v.a[0]!)}]` : '0'}`;
  return v.t;
}

const OPTION_WORDS = new Set(['nx', 'xx', 'gt', 'lt', 'get', 'ex', 'px', 'exat', 'pxat', 'keepttl', 'persist', 'len', 'idx', 'minmatchlen', 'withmatchlen', 'db', 'replace', 'encoding', 'refcount']);

/** The kind of a mismatch: the command, its option words, and the two replies' shapes. */
function signature(args: readonly string[], r: Got, s: Got): string {
  const opts = [...new Set(args.slice(1).map((a) => a.toLowerCase()).filter((a) => OPTION_WORDS.has(a)))].sort();
  return `${args[0]!.toLowerCase()}[${opts.join(',')}] redis=${shape(r.v)} sc=${shape(s.v)}`;
}

/** A connection to each server, following MULTI so that EXEC's elements can be compared. */
class Session {
  private queued: string[][] | null = null;
  db = 0;
  private readonly redis: Conn;
  private readonly ours: Conn;
  private constructor(redis: Conn, ours: Conn) {
    this.redis = redis;
    this.ours = ours;
  }

  static async open(ports: readonly [number, number]): Promise<Session> {
    for (const port of ports) {
      const c = await Conn.connect(port);
      await c.send([['FLUSHALL']]);
      c.close();
    }
    return new Session(await Conn.connect(ports[0]), await Conn.connect(ports[1]));
  }

  get inMulti(): boolean {
    return this.queued !== null;
  }

  async run(list: string[][], cuts: ((len: number) => number[]) | null): Promise<{ r: Got; s: Got; ok: boolean }[]> {
    const [rs, ss] = await Promise.all([this.redis.send(list, cuts), this.ours.send(list, cuts)]);
    return list.map((args, i) => {
      const [r, s] = [rs[i]!, ss[i]!];
      const name = args[0]!.toLowerCase();
      const ok = r.raw.toString('latin1');
      let queued: string[][] | null = null;
      if (this.queued !== null) {
        if (name === 'exec' || name === 'discard') {
          if (name === 'exec') queued = this.queued;
          this.queued = null;
        } else if (ok === '+QUEUED\r\n') this.queued.push(args);
      } else if (name === 'multi' && ok === '+OK\r\n') this.queued = [];
      if (name === 'select' && ok === '+OK\r\n') this.db = Number(args[1]);
      return { r, s, ok: agree(args, r, s, queued) };
    });
  }

  close(): void {
    this.redis.close();
    this.ours.close();
  }
}

function seedList(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^(\d+)-(\d+)$/.exec(part);
    if (m === null) out.push(Number(part));
    else for (let i = Number(m[1]); i <= Number(m[2]); i++) out.push(i);
  }
  return out;
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1-5' },
      n: { type: 'string', default: '5000' },
      epoch: { type: 'string', default: '300' },
      pipe: { type: 'string', default: '1' },
      split: { type: 'boolean', default: false },
      exclude: { type: 'string', default: '' },
      boost: { type: 'string', default: '' },
      out: { type: 'string', default: '' },
      'no-active-expire': { type: 'boolean', default: false },
    },
  });
  const seeds = seedList(o.seeds);
  const N = Number(o.n);
  const EPOCH = Number(o.epoch);
  const PIPE = Number(o.pipe);
  const split = o.split;
  const exclude = o.exclude.split(',').filter(Boolean);
  const boost = Object.fromEntries(
    o.boost
      .split(',')
      .filter(Boolean)
      .map((x) => [x.split('=')[0]!.toLowerCase(), Number(x.split('=')[1])]),
  );
  const outPath = o.out;
  if (!hasBinary('redis-server')) throw new Error('redis-server is not installed (apt-get install redis-server)');

  const servers: Running[] = [];
  const out = outPath === '' ? -1 : openSync(outPath, 'w');
  try {
    // Without active expiry, an expired key goes only when a command looks it up, at the same
    // step on both servers, so DBSIZE digests cannot differ by timing.
    const still = o['no-active-expire'];
    servers.push(await startRedis('0', ['--maxmemory-policy', 'noeviction', ...(still ? ['--enable-debug-command', 'local'] : [])]));
    servers.push(await startShardcache(2, '0', ['--maxmemory-policy', 'noeviction', ...(still ? ['--active-expire-enabled', 'no'] : [])]));
    if (still) execFileSync('redis-cli', ['-p', String(servers[0]!.port), 'DEBUG', 'SET-ACTIVE-EXPIRE', '0']);
    const ports = [servers[0]!.port, servers[1]!.port] as const;
    const kinds = new Map<string, number>();
    let total = 0;
    let mismatches = 0;
    const t0 = Date.now();
    for (const seed of seeds) {
      const gen = makeGen(seed, { exclude, boost });
      const r2 = rng(seed ^ 0x5bd1e995);
      const cuts = split ? (len: number) => Array.from({ length: r2.int(0, 3) }, () => r2.int(1, len - 1)).sort((a, b) => a - b) : null;
      let session = await Session.open(ports);
      let history: string[][] = [];
      /** Runs `list` as one write; false after a mismatch, which also starts a fresh session. */
      const run = async (list: string[][], i: number, digest: boolean): Promise<boolean> => {
        total += list.length;
        const results = await session.run(list, list.length > 1 ? cuts : null);
        for (let j = 0; j < list.length; j++) {
          history.push(list[j]!);
          const { r, s, ok } = results[j]!;
          if (ok) continue;
          mismatches++;
          const kind = signature(list[j]!, r, s);
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
          if (out >= 0) writeSync(out, `${JSON.stringify({ seed, i: i + j, digest, pipe: list.length, kind, args: list[j], history, redis: r.raw.toString('latin1'), ours: s.raw.toString('latin1') })}\n`);
          session.close();
          session = await Session.open(ports);
          history = [];
          return false;
        }
        return true;
      };
      const digest = async (i: number, allDbs: boolean) => {
        const back = session.db;
        for (const db of allDbs ? [0, 1, 2, 3] : [null]) {
          if (db !== null && !(await run([['SELECT', String(db)]], i, true))) return;
          if (!(await run([['MGET', ...ALL_KEYS], ['DBSIZE'], ...KEYS.map((k) => ['PTTL', k])], i, true))) return;
        }
        if (allDbs) await run([['SELECT', String(back)]], i, true);
      };
      let nextDigest = 40;
      let nextEpoch = EPOCH;
      for (let i = 0; i < N; ) {
        if (i >= nextEpoch) {
          nextEpoch += EPOCH;
          if (session.inMulti) await run([['DISCARD']], i, true);
          await digest(i, true);
          session.close();
          session = await Session.open(ports);
          history = [];
        } else if (i >= nextDigest && !session.inMulti) {
          nextDigest += 40;
          await digest(i, false);
        }
        const n = PIPE > 1 ? r2.int(1, PIPE) : 1;
        await run(Array.from({ length: n }, gen), i, false);
        i += n;
      }
      if (session.inMulti) await run([['DISCARD']], N, true);
      await digest(N, true);
      session.close();
      console.error(`seed ${seed}: ${total} commands so far, ${mismatches} mismatches, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    const knownList = [...knownDifferences].map(([k, n]) => `${n} ${k}`).join(', ');
    console.log(`${total} commands, ${mismatches} mismatches, ${kinds.size} kinds; known differences: ${knownList === '' ? 'none' : knownList}`);
    for (const [kind, n] of [...kinds].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(6)}  ${kind}`);
  } finally {
    if (out >= 0) closeSync(out);
    for (const s of servers) await s.stop();
  }
}

await main();
