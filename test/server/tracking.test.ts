/**
 * CLIENT TRACKING (server-assisted client-side caching) across two workers: RESP3 pushes, the
 * RESP2 REDIRECT form through `__redis__:invalidate`, BCAST prefixes, NOLOOP, OPTIN / CACHING,
 * FLUSHALL, and ioredis (RESP3) receiving the push.
 *
 * Placement: the main thread hands each new connection to the worker with the fewest, so two
 * connections opened one after the other (each answered before the next opens, none closed until
 * the end) land on different workers; open() keeps that order.
 *
 * Absence of a message is checked without timing: an invalidation that should not exist would
 * reach the connection before a later one that must exist (same sender, same order), so tests
 * wait for the later one and then look at what arrived before it.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

type Value = string | number | boolean | null | RespError | Push | Value[];
class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}
class Push {
  readonly items: Value[];
  constructor(items: Value[]) {
    this.items = items;
  }
}

/** A minimal RESP2/RESP3 client that keeps out-of-band messages (pushes) apart from replies. */
class Resp {
  private buf = Buffer.alloc(0);
  private readonly replies: ((v: Value) => void)[] = [];
  readonly pushes: Push[] = [];
  private readonly pushWaiters: (() => void)[] = [];
  /** RESP2 in pub/sub mode: `message` arrays are messages, not replies. */
  subscribed = false;
  id = 0;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const r = parse(this.buf, 0);
        if (r === null) break;
        this.buf = this.buf.subarray(r[1]);
        const v = r[0];
        if (v instanceof Push || (this.subscribed && Array.isArray(v) && (v[0] === 'message' || v[0] === 'pmessage'))) {
          this.pushes.push(v instanceof Push ? v : new Push(v as Value[]));
          for (const w of this.pushWaiters.splice(0)) w();
        } else this.replies.shift()?.(v);
      }
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, resp3: boolean): Promise<Resp> {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
      sock.once('error', reject);
    });
    const c = new Resp(s);
    if (resp3) await c.call('HELLO', '3');
    c.id = (await c.call('CLIENT', 'ID')) as number;
    return c;
  }

  call(...args: (string | number)[]): Promise<Value> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.socket.write(enc(...args));
    });
  }

  /** Waits for the next push (first one not yet taken) and takes it. */
  async nextPush(timeoutMs = 5000): Promise<Value[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.pushes.length === 0) {
      if (Date.now() >= deadline) throw new Error('no push arrived');
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.pushWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.pushes.shift()!.items;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Parses one RESP value at `i`: [value, next index], or null when incomplete. */
function parse(b: Buffer, i: number): [Value, number] | null {
  const eol = b.indexOf('\r\n', i);
  if (eol < 0) return null;
  const t = String.fromCharCode(b[i]!);
  const head = b.toString('utf8', i + 1, eol);
  const next = eol + 2;
  switch (t) {
    case '+':
      return [head, next];
    case '-':
      return [new RespError(head), next];
    case ':':
      return [Number(head), next];
    case ',':
      return [Number(head), next];
    case '#':
      return [head === 't', next];
    case '_':
      return [null, next];
    case '$':
    case '=': {
      const n = Number(head);
      if (n < 0) return [null, next];
      if (b.length < next + n + 2) return null;
      const s = b.toString('utf8', next, next + n);
      return [t === '=' ? s.slice(4) : s, next + n + 2];
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      const n = Number(head);
      if (n < 0) return [null, next];
      const items: Value[] = [];
      let j = next;
      for (let k = 0; k < n * (t === '%' ? 2 : 1); k++) {
        const r = parse(b, j);
        if (r === null) return null;
        items.push(r[0]);
        j = r[1];
      }
      return [t === '>' ? new Push(items) : items, j];
    }
    default:
      throw new Error(`bad RESP type ${t}`);
  }
}

let srv: TestServer;
const open: { close(): void }[] = [];
let writer: Resp;

beforeAll(async () => {
  srv = await startServer([], { threads: 2 });
  writer = await conn(false);
});
afterAll(async () => {
  for (const c of open) c.close();
  await srv.stop();
});

async function conn(resp3: boolean): Promise<Resp> {
  const c = await Resp.open(srv.port, resp3);
  open.push(c);
  return c;
}

/** A tracking client on the worker `writer` is not on (connections alternate between workers). */
async function otherWorker(resp3: boolean): Promise<Resp> {
  // Connections so far (all open): writer first; an even count means the next lands beside it.
  if (open.length % 2 === 0) await conn(false);
  return conn(resp3);
}

describe('default mode', () => {
  it('RESP3: a write on the other worker sends one invalidation, then the key is forgotten', async () => {
    const t = await otherWorker(true);
    expect(await t.call('CLIENT', 'TRACKING', 'on')).toBe('OK');
    expect(await t.call('GET', 'tk:1')).toBe(null);
    expect(await t.call('MGET', 'tk:2', 'tk:3')).toEqual([null, null]);
    expect(await writer.call('SET', 'tk:1', 'a')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['tk:1']]);
    expect(await writer.call('MSET', 'tk:2', 'b', 'tk:3', 'c')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['tk:2']]);
    expect(await t.nextPush()).toEqual(['invalidate', ['tk:3']]);
    // Forgotten until read again: the second write of tk:1 sends nothing.
    expect(await writer.call('SET', 'tk:1', 'again')).toBe('OK');
    // A write that changes nothing (DEL of a missing key) invalidates nothing, as in Redis.
    expect(await t.call('MGET', 'tk:4', 'tk:5')).toEqual([null, null]);
    expect(await writer.call('DEL', 'tk:4')).toBe(0);
    expect(await writer.call('SET', 'tk:5', 'e')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['tk:5']]);
    expect(t.pushes).toEqual([]);
  });

  it("the client's own write invalidates after its reply; inside MULTI after EXEC's reply", async () => {
    const t = await conn(true);
    await t.call('CLIENT', 'TRACKING', 'on');
    await t.call('GET', 'own:1');
    expect(await t.call('SET', 'own:1', 'x')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['own:1']]);
    await t.call('GET', 'own:1');
    await t.call('MULTI');
    await t.call('SET', 'own:1', 'y');
    await t.call('GET', 'own:1');
    expect(await t.call('EXEC')).toEqual(['OK', 'y']);
    expect(await t.nextPush()).toEqual(['invalidate', ['own:1']]);
  });

  it('NOLOOP: no invalidation for its own writes', async () => {
    const t = await otherWorker(true);
    await t.call('CLIENT', 'TRACKING', 'on', 'NOLOOP');
    await t.call('MGET', 'nl:1', 'nl:2');
    expect(await t.call('SET', 'nl:1', 'own')).toBe('OK');
    expect(await writer.call('SET', 'nl:2', 'theirs')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['nl:2']]);
    expect(t.pushes).toEqual([]);
  });

  it('OPTIN: only the command after CLIENT CACHING yes is tracked', async () => {
    const t = await otherWorker(true);
    expect(await t.call('CLIENT', 'TRACKING', 'on', 'OPTIN')).toBe('OK');
    await t.call('GET', 'oi:1');
    expect(await t.call('CLIENT', 'CACHING', 'yes')).toBe('OK');
    expect(await t.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on', 'optin', 'caching-yes'], 'redirect', 0, 'prefixes', []]);
    await t.call('GET', 'oi:2');
    await t.call('GET', 'oi:3');
    expect(await t.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on', 'optin'], 'redirect', 0, 'prefixes', []]);
    expect(await writer.call('SET', 'oi:1', '1')).toBe('OK');
    expect(await writer.call('SET', 'oi:3', '3')).toBe('OK');
    expect(await writer.call('SET', 'oi:2', '2')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['oi:2']]);
    expect(t.pushes).toEqual([]);
    expect(await t.call('CLIENT', 'CACHING', 'no')).toEqual(new RespError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.'));
  });

  it('OPTOUT: everything but the command after CLIENT CACHING no', async () => {
    const t = await otherWorker(true);
    await t.call('CLIENT', 'TRACKING', 'on', 'OPTOUT');
    await t.call('CLIENT', 'CACHING', 'no');
    await t.call('GET', 'oo:1');
    await t.call('GET', 'oo:2');
    expect(await writer.call('MSET', 'oo:1', '1', 'oo:2', '2')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['oo:2']]);
    expect(t.pushes).toEqual([]);
  });
});

describe('REDIRECT to a RESP2 connection subscribed to __redis__:invalidate', () => {
  it('delivers a pub/sub message whose payload is the array of keys, on another worker', async () => {
    // The subscriber and the tracking client are opened one after the other: different workers.
    const sub = await RawConn.connect(srv.port);
    open.push(sub);
    const sid = Number(/^:(\d+)/.exec(await sub.request('*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n'))![1]);
    expect(await sub.request('*2\r\n$9\r\nSUBSCRIBE\r\n$20\r\n__redis__:invalidate\r\n')).toBe('*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n');
    const t = await conn(false);
    expect(await t.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', sid)).toBe('OK');
    expect(await t.call('CLIENT', 'GETREDIR')).toBe(sid);
    expect(await t.call('GET', 'rd:1')).toBe(null);
    expect(await writer.call('SET', 'rd:1', 'v')).toBe('OK');
    const msg = '*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$4\r\nrd:1\r\n';
    expect(await sub.request('', 1)).toBe(msg);
    // FLUSHDB: a null payload.
    expect(await t.call('GET', 'rd:1')).toBe('v');
    expect(await writer.call('FLUSHDB')).toBe('OK');
    expect(await sub.request('', 1)).toBe('*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n');
    const info = (await t.call('CLIENT', 'INFO')) as string;
    expect(info).toContain(' flags=t ');
    expect(info).toContain(` redir=${sid} `);
  });

  it('CLIENT REPLY OFF silences the answer that waits on the other worker, and its error', async () => {
    const sub = await RawConn.connect(srv.port);
    open.push(sub);
    const sid = Number(/^:(\d+)/.exec(await sub.request('*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n'))![1]);
    const t = await RawConn.connect(srv.port);
    open.push(t);
    // One write, so the server sees all of it at once: nothing may come back before the PING.
    const reply = await t.request(
      enc('CLIENT', 'REPLY', 'OFF') + enc('CLIENT', 'TRACKING', 'on', 'REDIRECT', String(sid)) + enc('CLIENT', 'TRACKING', 'on', 'REDIRECT', '999999') + enc('CLIENT', 'REPLY', 'ON') + enc('CLIENT', 'GETREDIR'),
      2,
    );
    expect(reply).toBe(`+OK\r\n:${sid}\r\n`);
  });
});

describe('BCAST', () => {
  it('every write under a prefix is announced, one message per command and prefix', async () => {
    const t = await otherWorker(true);
    expect(await t.call('CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'bc:', 'PREFIX', 'bd:')).toBe('OK');
    expect(await writer.call('MSET', 'bc:1', 'x', 'zz:1', 'y', 'bc:2', 'z')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['bc:1', 'bc:2']]);
    expect(await writer.call('SET', 'zz:2', 'x')).toBe('OK');
    expect(await writer.call('INCR', 'bd:n')).toBe(1);
    expect(await t.nextPush()).toEqual(['invalidate', ['bd:n']]);
    expect(t.pushes).toEqual([]);
    expect(await t.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on', 'bcast'], 'redirect', 0, 'prefixes', ['bc:', 'bd:']]);
    expect(((await t.call('CLIENT', 'INFO')) as string).includes(' flags=tB ')).toBe(true);
  });

  it('NOLOOP skips its own writes', async () => {
    const t = await otherWorker(true);
    await t.call('CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'bn:', 'NOLOOP');
    expect(await t.call('SET', 'bn:own', '1')).toBe('OK');
    expect(await writer.call('SET', 'bn:theirs', '1')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', ['bn:theirs']]);
    expect(t.pushes).toEqual([]);
  });
});

describe('options and errors', () => {
  it('answers with Redis 7 texts', async () => {
    const t = await conn(true);
    const cases: [(string | number)[], Value][] = [
      [['CLIENT', 'CACHING', 'yes'], new RespError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled')],
      [['CLIENT', 'TRACKING', 'on', 'PREFIX', 'a'], new RespError('ERR PREFIX option requires BCAST mode to be enabled')],
      [['CLIENT', 'TRACKING', 'on', 'OPTIN', 'OPTOUT'], new RespError("ERR You can't specify both OPTIN mode and OPTOUT mode")],
      [['CLIENT', 'TRACKING', 'on', 'BCAST', 'OPTIN'], new RespError('ERR OPTIN and OPTOUT are not compatible with BCAST')],
      [['CLIENT', 'TRACKING', 'on', 'REDIRECT', 999999], new RespError('ERR The client ID you want redirect to does not exist')],
      [['CLIENT', 'TRACKING', 'on', 'REDIRECT', 'abc'], new RespError('ERR value is not an integer or out of range')],
      [['CLIENT', 'TRACKING', 'maybe'], new RespError('ERR syntax error')],
      [['CLIENT', 'TRACKING', 'on', 'foo'], new RespError('ERR syntax error')],
      [['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'a', 'PREFIX', 'ab'], new RespError("ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.")],
      [['CLIENT', 'TRACKINGINFO'], ['flags', ['off'], 'redirect', -1, 'prefixes', []]],
      [['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'p:'], 'OK'],
      [['CLIENT', 'TRACKING', 'on', 'BCAST', 'PREFIX', 'p:x'], new RespError("ERR Prefix 'p:x' overlaps with an existing prefix 'p:'. Prefixes for a single client must not overlap.")],
      [['CLIENT', 'TRACKING', 'on'], new RespError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")],
      [['CLIENT', 'TRACKING', 'off'], 'OK'],
      [['CLIENT', 'TRACKING', 'on', 'OPTIN'], 'OK'],
      [['CLIENT', 'TRACKING', 'on', 'OPTOUT'], new RespError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")],
      [['CLIENT', 'GETREDIR'], 0],
      [['RESET'], 'RESET'],
      [['CLIENT', 'GETREDIR'], -1],
    ];
    for (const [args, reply] of cases) expect([args.join(' '), await t.call(...args)]).toEqual([args.join(' '), reply]);
  });

  it('FLUSHALL on the other worker invalidates every tracking client with a null', async () => {
    const t = await otherWorker(true);
    await t.call('CLIENT', 'TRACKING', 'on');
    const b = await otherWorker(true);
    await b.call('CLIENT', 'TRACKING', 'on', 'BCAST');
    expect(await writer.call('FLUSHALL')).toBe('OK');
    expect(await t.nextPush()).toEqual(['invalidate', null]);
    expect(await b.nextPush()).toEqual(['invalidate', null]);
  });
});

describe('ioredis (RESP3)', () => {
  it('receives the invalidation push and keeps working', async () => {
    // ioredis 6 speaks RESP3 but drops `invalidate` pushes: surface them as an event for the test.
    const require = createRequire(import.meta.url);
    const DataHandler = require('ioredis/built/DataHandler.js').default as { prototype: { returnPush(this: { redis: Redis }, reply: unknown[]): void } };
    const original = DataHandler.prototype.returnPush;
    DataHandler.prototype.returnPush = function (reply: unknown[]) {
      if (Array.isArray(reply) && String(reply[0]) === 'invalidate') this.redis.emit('invalidate', reply[1]);
      else original.call(this, reply);
    };
    if (open.length % 2 === 0) await conn(false);
    const r = new Redis({ port: srv.port, host: '127.0.0.1', protocol: 3, maxRetriesPerRequest: 1 });
    open.push({ close: () => r.disconnect() });
    try {
      const pushed = new Promise<unknown>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no invalidation reached ioredis')), 5000);
        r.once('invalidate', (keys: unknown) => {
          clearTimeout(t);
          resolve(keys);
        });
      });
      pushed.catch(() => undefined);
      expect(await r.client('TRACKING', 'on')).toBe('OK');
      expect(await r.get('io:track')).toBe(null);
      expect(await writer.call('SET', 'io:track', 'fresh')).toBe('OK');
      const keys = (await pushed) as (string | Buffer)[];
      expect(keys.map(String)).toEqual(['io:track']);
      expect(await r.get('io:track')).toBe('fresh');
    } finally {
      DataHandler.prototype.returnPush = original;
    }
  });
});

describe('tracking-table-max-keys', () => {
  const totalKeys = async () => Number(/tracking_total_keys:(\d+)/.exec((await writer.call('INFO', 'stats')) as string)![1]);
  /** Keys of `pushes` (invalidate pushes only), flattened. */
  const invalidated = (c: Resp) => c.pushes.filter((p) => p.items[0] === 'invalidate').flatMap((p) => p.items[1] as string[]);

  it('holds the keys remembered on all workers together to the limit, forgetting with an invalidation', async () => {
    expect(await writer.call('CONFIG', 'GET', 'tracking-table-max-keys')).toEqual(['tracking-table-max-keys', '1000000']);
    expect(await writer.call('CONFIG', 'SET', 'tracking-table-max-keys', '-1')).toEqual(
      new RespError("ERR CONFIG SET failed (possibly related to argument 'tracking-table-max-keys') - argument must be between 0 and 9223372036854775807 inclusive"),
    );
    // a on the other worker, b beside the writer.
    const a = await otherWorker(true);
    const b = await conn(true);
    expect(await a.call('CLIENT', 'TRACKING', 'on')).toBe('OK');
    expect(await b.call('CLIENT', 'TRACKING', 'on')).toBe('OK');
    // Earlier tests' keys are forgotten (the flush invalidates them everywhere; a and b hear it too).
    expect(await writer.call('FLUSHALL')).toBe('OK');
    await a.nextPush();
    await b.nextPush();
    expect(await totalKeys()).toBe(0);
    try {
      expect(await writer.call('CONFIG', 'SET', 'tracking-table-max-keys', '3')).toBe('OK');
      // The setting reaches the other worker through the main thread.
      for (let i = 0; (await b.call('CONFIG', 'GET', 'tracking-table-max-keys'))?.toString() !== 'tracking-table-max-keys,3'; i++) expect(i).toBeLessThan(500);
      expect(await a.call('MGET', 'lim:1', 'lim:2')).toEqual([null, null]);
      expect(await b.call('GET', 'lim:3')).toBe(null);
      expect(await totalKeys()).toBe(3);
      // A fourth key on b's worker: over the limit there, so that worker forgets its oldest.
      expect(await b.call('GET', 'lim:4')).toBe(null);
      expect(await b.nextPush()).toEqual(['invalidate', ['lim:3']]);
      expect(await totalKeys()).toBe(3);
      expect(a.pushes).toEqual([]);

      // Lowered: every worker trims at once, each key forgotten with an invalidation.
      expect(await writer.call('CONFIG', 'SET', 'tracking-table-max-keys', '1')).toBe('OK');
      for (let i = 0; (await totalKeys()) > 1; i++) expect(i).toBeLessThan(500);
      // Each key forgotten is announced once. lim:1 is a's worker's oldest, so it goes whichever
      // worker trims first; lim:2 or lim:4 may stay.
      const left = await totalKeys();
      for (let i = 0; invalidated(a).length + invalidated(b).length < 3 - left; i++) {
        expect(i).toBeLessThan(500);
        await new Promise((r) => setTimeout(r, 10));
      }
      const gone = [...invalidated(a), ...invalidated(b)].sort();
      expect(gone).toHaveLength(3 - left);
      expect(gone[0]).toBe('lim:1');
      expect(invalidated(b).every((k) => k === 'lim:4')).toBe(true);

      // 0: no limit.
      a.pushes.length = 0;
      b.pushes.length = 0;
      expect(await writer.call('CONFIG', 'SET', 'tracking-table-max-keys', '0')).toBe('OK');
      for (let i = 0; (await a.call('CONFIG', 'GET', 'tracking-table-max-keys'))?.toString() !== 'tracking-table-max-keys,0'; i++) expect(i).toBeLessThan(500);
      const before = await totalKeys();
      expect(await a.call('MGET', 'lim:5', 'lim:6', 'lim:7', 'lim:8')).toEqual([null, null, null, null]);
      expect(await totalKeys()).toBe(before + 4);
      // A write's invalidation is the first push since: nothing was forgotten for the limit.
      expect(await writer.call('SET', 'lim:8', 'x')).toBe('OK');
      expect(await a.nextPush()).toEqual(['invalidate', ['lim:8']]);
      expect(a.pushes).toEqual([]);
    } finally {
      await writer.call('CONFIG', 'SET', 'tracking-table-max-keys', '1000000');
    }
  });
});

// Last: it closes a connection, which ends the alternation otherWorker() counts on.
describe('REDIRECT target gone', () => {
  it('a target that went away is reported as a broken redirect (RESP3 push, TRACKINGINFO)', async () => {
    const gone = await conn(false);
    const t = await conn(true);
    await t.call('CLIENT', 'TRACKING', 'on', 'REDIRECT', gone.id);
    await t.call('GET', 'br:1');
    gone.close();
    // Wait until the server has dropped it.
    for (;;) {
      const list = (await writer.call('CLIENT', 'LIST', 'ID', gone.id)) as string;
      if (list === '') break;
    }
    await writer.call('SET', 'br:1', 'x');
    expect(await t.nextPush()).toEqual(['tracking-redir-broken', gone.id]);
    expect(await t.call('CLIENT', 'TRACKINGINFO')).toEqual(['flags', ['on', 'broken_redirect'], 'redirect', gone.id, 'prefixes', []]);
  });
});
