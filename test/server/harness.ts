/**
 * Starts a real shardcache server process on an ephemeral port for a test, and stops it.
 * Every test file that starts one must call stop() (afterAll), which waits for the process to exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { defaultShards } from '../../src/server/config.ts';
import { hash32, shardOf } from '../../src/store/hash.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const NODE = process.execPath;

export interface TestServer {
  readonly port: number;
  readonly proc: ChildProcess;
  /** Everything the server printed so far. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServer(args: string[] = [], opts: { threads?: number } = {}): Promise<TestServer> {
  const argv = ['src/cli/main.ts', 'server', '--port', '0', '--threads', String(opts.threads ?? 2), ...args];
  const proc = spawn(NODE, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /ready: port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => {
    if (proc.exitCode !== null) resolve(proc.exitCode);
    else proc.once('exit', (code) => resolve(code));
  });
  return {
    port,
    proc,
    output: () => out,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/** A raw TCP connection for protocol-level tests: write bytes, read what comes back. */
export class RawConn {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawConn(s)));
      s.once('error', reject);
    });
  }

  write(data: string | Uint8Array): void {
    this.socket.write(data);
  }

  /** Waits until the received bytes satisfy `done` (or the peer closes, or the timeout passes). */
  async until(done: (s: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.buf.toString('latin1')) && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.buf.toString('latin1');
  }

  /**
   * Sends a request and waits until `n` complete top-level RESP replies have arrived since the
   * last request returned (replies to bytes written with write() count too); returns them.
   */
  request(data: string | Uint8Array, n = 1): Promise<string> {
    return this.exchange(data, (all) => countReplies(all) >= n);
  }

  /** Sends `data` and waits until the bytes received since satisfy `done`; returns them. */
  exchange(data: string | Uint8Array, done: (s: string) => boolean): Promise<string> {
    this.write(data);
    return this.take(done);
  }

  /** Waits until the bytes received so far satisfy `done` (or the usual ends), and takes them. */
  async take(done: (s: string) => boolean, timeoutMs?: number): Promise<string> {
    const out = await this.until(done, timeoutMs);
    this.buf = Buffer.alloc(0);
    return out;
  }

  waitClosed(timeoutMs = 5000): Promise<boolean> {
    return this.until(() => false, timeoutMs).then(() => this.closed);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Counts complete RESP values at the top level of `s` (enough for test replies). */
export function countReplies(s: string): number {
  let i = 0;
  let n = 0;
  const one = (): boolean => {
    if (i >= s.length) return false;
    const t = s[i]!;
    const eol = s.indexOf('\r\n', i);
    if (eol < 0) return false;
    const head = s.slice(i + 1, eol);
    i = eol + 2;
    if (t === '$' || t === '=' || t === '!') {
      const len = Number(head);
      if (len < 0) return true;
      if (s.length < i + len + 2) return false;
      i += len + 2;
      return true;
    }
    if (t === '*' || t === '~' || t === '>' || t === '%') {
      const len = Number(head) * (t === '%' ? 2 : 1);
      for (let k = 0; k < len; k++) if (!one()) return false;
      return true;
    }
    return true;
  };
  for (;;) {
    const save = i;
    if (!one()) {
      i = save;
      return n;
    }
    n++;
  }
}

/**
 * For a test file that starts servers per test: `server()` and `conn()` remember what they
 * opened, and `cleanup()` (call it in afterEach) closes the connections and stops the servers.
 */
export function serverPool(): { server(args?: string[], threads?: number): Promise<TestServer>; conn(s: TestServer): Promise<RawConn>; cleanup(): Promise<void> } {
  const servers: TestServer[] = [];
  const conns: RawConn[] = [];
  return {
    async server(args: string[] = [], threads = 2) {
      const s = await startServer(args, { threads });
      servers.push(s);
      return s;
    },
    async conn(s: TestServer) {
      const c = await RawConn.connect(s.port);
      conns.push(c);
      return c;
    },
    async cleanup() {
      for (const c of conns.splice(0)) c.close();
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}

/** A request from byte strings: each character is one byte (latin1), so NUL and 0xff go as they are. */
export function request(argv: readonly string[]): Buffer {
  const parts = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) parts.push(Buffer.from(`$${Buffer.byteLength(a, 'latin1')}\r\n`), Buffer.from(a, 'latin1'), Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** A request in RESP: an array of bulk strings. */
export function enc(...args: (string | number)[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('');
}

/**
 * Keys for checking that a batch's writes become visible in request order: a flag on shard 0
 * and 24 data keys on other shards of a server with `threads` workers (default shard count), so
 * a batch run shard by shard in shard order, rather than in request order, would write the flag
 * before the data written ahead of it.
 */
export function orderingKeys(prefix: string, threads: number): { flag: string; data: string[] } {
  const mask = defaultShards(threads) - 1;
  const shard = (k: string) => shardOf(hash32(Buffer.from(k)), mask);
  let flag = '';
  for (let i = 0; flag === '' || shard(flag) !== 0; i++) flag = `${prefix}:flag:${i}`;
  const data: string[] = [];
  for (let i = 0; data.length < 24; i++) if (shard(`${prefix}:${i}`) > 0) data.push(`${prefix}:${i}`);
  return { flag, data };
}

/**
 * A reader that pipelines GET flag, then GET of every data key, until stopped. A round whose
 * flag is set while some data key holds an older round (or none) counts as a violation: the
 * writer writes the data of a round before its flag.
 */
export function orderingReader(reader: Redis, flag: string, data: string[]): { stop(): Promise<{ seen: number; violations: number }> } {
  let stopped = false;
  let seen = 0;
  let violations = 0;
  const reading = (async () => {
    while (!stopped) {
      const p = reader.pipeline().get(flag);
      for (const d of data) p.get(d);
      const res = (await p.exec())!.map(([, v]) => v as string | null);
      const round = res[0];
      if (round === null || round === undefined) continue;
      seen++;
      if (res.slice(1).some((v) => v === null || Number(v) < Number(round))) violations++;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await reading;
      return { seen, violations };
    },
  };
}

/**
 * For a test file comparing with Redis: a two-worker shardcache and, where redis-server is
 * installed, a redis-server beside it, both started before the file's tests and stopped after.
 * `hasRedis` is known when the file loads, for it.skipIf.
 */
export function oursAndRedis(): { hasRedis: boolean; ours(): TestServer; redisPort(): number; conn(): Promise<RawConn> } {
  const pool = serverPool();
  const hasRedis = hasBinary('redis-server');
  let ours: TestServer | null = null;
  let redis: Running | null = null;
  beforeAll(async () => {
    ours = await pool.server([], 2);
    if (hasRedis) redis = await startRedis('64mb');
  });
  afterAll(async () => {
    await pool.cleanup();
    await redis?.stop();
  });
  return { hasRedis, ours: () => ours!, redisPort: () => redis!.port, conn: () => pool.conn(ours!) };
}
