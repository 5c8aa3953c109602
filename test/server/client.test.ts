/**
 * CLIENT subcommands against a two-worker server: LIST / KILL across workers, INFO, REPLY,
 * PAUSE / UNPAUSE, the per-connection flags, and Redis's error texts.
 *
 * Placement: the main thread hands each new connection to the worker with the fewest, so two
 * connections opened one after the other (each answered before the next opens, none closed in
 * between) land on different workers. pair() relies on that.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
const conns: RawConn[] = [];
const ios: Redis[] = [];
beforeAll(async () => {
  srv = await startServer([], { threads: 2 });
});
afterAll(async () => {
  for (const c of conns) c.close();
  await Promise.all(ios.map((r) => r.quit().catch(() => undefined)));
  await srv.stop();
});


/** Opens a connection and waits until its worker answers (so the next one is balanced against it). */
async function open(): Promise<{ c: RawConn; id: number }> {
  const c = await RawConn.connect(srv.port);
  conns.push(c);
  const r = await c.request(enc('CLIENT', 'ID'));
  return { c, id: Number(/^:(\d+)/.exec(r)![1]) };
}

/** Two connections on different workers. */
async function pair(): Promise<[{ c: RawConn; id: number }, { c: RawConn; id: number }]> {
  const a = await open();
  const b = await open();
  return [a, b];
}

/** The text of a bulk / verbatim reply. */
function text(reply: string): string {
  const m = /^\$(\d+)\r\n/.exec(reply);
  expect(m).not.toBeNull();
  return reply.slice(m![0].length, m![0].length + Number(m![1]));
}

const LINE =
  /^id=(\d+) addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=-?\d+ name=(\S*) age=\d+ idle=\d+ flags=(\w+) db=\d+ sub=\d+ psub=\d+ ssub=0 multi=-?\d+ qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=\d+ rbs=\d+ rbp=\d+ obl=\d+ oll=\d+ omem=\d+ tot-mem=\d+ events=rw? cmd=(\S+) user=default redir=-?\d+ resp=[23] lib-name=(\S*) lib-ver=(\S*)$/;

describe('CLIENT LIST / INFO', () => {
  it('lists the clients of both workers in Redis line format', async () => {
    const four = [await open(), await open(), await open(), await open()];
    await four[1]!.c.request(enc('CLIENT', 'SETNAME', 'second'));
    const list = text(await four[0]!.c.request(enc('CLIENT', 'LIST')));
    expect(list.endsWith('\n')).toBe(true);
    const lines = list.slice(0, -1).split('\n');
    const byId = new Map(lines.map((l) => [Number(LINE.exec(l)?.[1]), l]));
    for (const l of lines) expect(l).toMatch(LINE);
    for (const { id } of four) expect(byId.has(id)).toBe(true);
    const ids = [...byId.keys()];
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(LINE.exec(byId.get(four[0]!.id)!)![4]).toBe('client|list');
    expect(LINE.exec(byId.get(four[1]!.id)!)![2]).toBe('second');
    expect(LINE.exec(byId.get(four[1]!.id)!)![4]).toBe('client|setname');

    // ID filter: in the order asked, unknown ids left out.
    const some = text(await four[0]!.c.request(enc('CLIENT', 'LIST', 'ID', four[3]!.id, 99999, four[2]!.id)));
    expect(some.split('\n').filter(Boolean).map((l) => Number(LINE.exec(l)![1]))).toEqual([four[3]!.id, four[2]!.id]);

    // TYPE pubsub: only the subscriber (on the other worker).
    await four[3]!.c.request(enc('SUBSCRIBE', 'somechannel'));
    const pubsub = text(await four[0]!.c.request(enc('CLIENT', 'LIST', 'TYPE', 'pubsub')));
    expect(pubsub.split('\n').filter(Boolean).map((l) => Number(LINE.exec(l)![1]))).toEqual([four[3]!.id]);
    expect(pubsub).toContain('flags=P ');
    expect(pubsub).toContain(' sub=1 ');
    const normal = text(await four[0]!.c.request(enc('CLIENT', 'LIST', 'TYPE', 'NORMAL')));
    expect(normal).not.toContain(`id=${four[3]!.id} `);
    expect(normal).toContain(`id=${four[2]!.id} `);
    expect(await four[0]!.c.request(enc('CLIENT', 'LIST', 'TYPE', 'master'))).toBe('$0\r\n\r\n');

    // A client in MULTI shows the command it queued last, as Redis shows c->lastcmd.
    await four[2]!.c.request(enc('MULTI'));
    expect(await four[2]!.c.request(enc('SET', 'queued', '1'))).toBe('+QUEUED\r\n');
    const inMulti = text(await four[0]!.c.request(enc('CLIENT', 'LIST', 'ID', four[2]!.id)));
    expect(LINE.exec(inMulti.slice(0, -1))![4]).toBe('set');
    await four[2]!.c.request(enc('DISCARD'));
  });

  it('the memory fields follow a held half request, queued commands and a pending reply', async () => {
    const [watcher, holder, queuer] = [await open(), await open(), await open()];
    const field = (line: string, name: string) => Number(new RegExp(` ${name}=(\\d+)`).exec(line)![1]);
    const lineOf = async (id: number) => text(await watcher.c.request(enc('CLIENT', 'LIST', 'ID', id))).slice(0, -1);
    // Half of a 60,000-byte SET held in the query buffer.
    holder.c.write(`*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$60000\r\n${'h'.repeat(30_000)}`);
    let held = '';
    for (let i = 0; i < 100 && field((held = await lineOf(holder.id)), 'qbuf') < 30_000; i++) await new Promise((r) => setTimeout(r, 20));
    expect(field(held, 'qbuf')).toBeGreaterThanOrEqual(30_000);
    expect(field(held, 'tot-mem')).toBeGreaterThanOrEqual(field(held, 'qbuf') + field(held, 'qbuf-free'));
    // Two queued SETs of 10,000 bytes each.
    expect(await queuer.c.request(enc('MULTI'))).toBe('+OK\r\n');
    for (const k of ['q1', 'q2']) expect(await queuer.c.request(enc('SET', k, 'v'.repeat(10_000)))).toBe('+QUEUED\r\n');
    const queued = await lineOf(queuer.id);
    expect(field(queued, 'multi-mem')).toBeGreaterThanOrEqual(20_000);
    expect(field(queued, 'multi-mem')).toBeLessThan(21_000);
    expect(field(queued, 'tot-mem')).toBeGreaterThanOrEqual(field(queued, 'multi-mem'));
    expect(await queuer.c.request(enc('DISCARD'))).toBe('+OK\r\n');
    expect(field(await lineOf(queuer.id), 'multi-mem')).toBe(0);
    holder.c.write('h'.repeat(30_000) + '\r\n');
    await holder.c.until((t) => t.includes('+OK'));
    expect(field(await lineOf(holder.id), 'qbuf')).toBe(0);
  });

  it('CLIENT INFO describes this connection; flags follow the connection state', async () => {
    const { c, id } = await open();
    const info = text(await c.request(enc('CLIENT', 'INFO')));
    expect(info.endsWith('\n')).toBe(true);
    const m = LINE.exec(info.slice(0, -1))!;
    expect(m).not.toBeNull();
    expect(Number(m[1])).toBe(id);
    expect(m[3]).toBe('N');
    expect(m[4]).toBe('client|info');
    expect(await c.request(enc('CLIENT', 'NO-EVICT', 'on'))).toBe('+OK\r\n');
    expect(await c.request(enc('CLIENT', 'NO-TOUCH', 'ON'))).toBe('+OK\r\n');
    expect(await c.request(enc('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'))).toBe('+OK\r\n');
    expect(await c.request(enc('CLIENT', 'SETINFO', 'lib-ver', '1.2.3'))).toBe('+OK\r\n');
    expect(await c.request(enc('MULTI'))).toBe('+OK\r\n');
    expect(await c.request(enc('PING'))).toBe('+QUEUED\r\n');
    expect(await c.request(enc('DISCARD'))).toBe('+OK\r\n');
    const after = LINE.exec(text(await c.request(enc('CLIENT', 'INFO'))).slice(0, -1))!;
    expect(after[3]).toBe('eT');
    expect(after[5]).toBe('mylib');
    expect(after[6]).toBe('1.2.3');
    // RESP3: a verbatim string.
    await c.request(enc('HELLO', '3'));
    expect(await c.request(enc('CLIENT', 'INFO'))).toMatch(/^=\d+\r\ntxt:id=\d+ .* resp=3 lib-name=mylib lib-ver=1\.2\.3\n\r\n$/);
  });

  it('shows the library name and version ioredis sends with CLIENT SETINFO', async () => {
    const r = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    ios.push(r);
    const id = (await r.client('ID')) as number;
    const list = (await r.client('LIST', 'ID', id)) as string;
    expect(list).toMatch(/ lib-name=ioredis\S* lib-ver=\d+\.\d+\.\d+\S*\n$/);
  });
});

describe('CLIENT KILL', () => {
  it('kills a client of the other worker by ID', async () => {
    const [a, b] = await pair();
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ID', b.id))).toBe(':1\r\n');
    expect(await b.c.waitClosed()).toBe(true);
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ID', b.id))).toBe(':0\r\n');
    expect(await a.c.request(enc('PING'))).toBe('+PONG\r\n');
  });

  it('old form by address: +OK or "No such client"', async () => {
    const [a, b] = await pair();
    const addr = /addr=(\S+)/.exec(text(await b.c.request(enc('CLIENT', 'INFO'))))![1]!;
    expect(await a.c.request(enc('CLIENT', 'KILL', '1.2.3.4:5'))).toBe('-ERR No such client\r\n');
    expect(await a.c.request(enc('CLIENT', 'KILL', addr))).toBe('+OK\r\n');
    expect(await b.c.waitClosed()).toBe(true);
  });

  it('filters combine; SKIPME no may kill the caller after its reply', async () => {
    const [a, b] = await pair();
    const baddr = /addr=(\S+)/.exec(text(await b.c.request(enc('CLIENT', 'INFO'))))![1]!;
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ADDR', baddr, 'TYPE', 'pubsub'))).toBe(':0\r\n');
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ID', b.id, 'USER', 'default', 'MAXAGE', 100000))).toBe(':0\r\n');
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ID', a.id))).toBe(':0\r\n');
    expect(await a.c.request(enc('CLIENT', 'KILL', 'ID', a.id, 'SKIPME', 'no'))).toBe(':1\r\n');
    expect(await a.c.waitClosed()).toBe(true);
    expect(await b.c.request(enc('PING'))).toBe('+PONG\r\n');
  });

  it('a client that kills itself runs nothing it sent after the kill, as Redis', async () => {
    const { c, id } = await open();
    const got = await c.request(enc('CLIENT', 'KILL', 'ID', id, 'SKIPME', 'no') + enc('SET', 'killed:after', '1') + enc('PING'));
    expect(got).toBe(':1\r\n');
    expect(await c.waitClosed()).toBe(true);
    const { c: other } = await open();
    expect(await other.request(enc('EXISTS', 'killed:after'))).toBe(':0\r\n');
  });
});

describe('CLIENT REPLY', () => {
  it('OFF silences until ON; SKIP silences the next command only', async () => {
    const { c } = await open();
    const pipeline = enc('CLIENT', 'REPLY', 'SKIP') + enc('PING', 'a') + enc('PING', 'b') + enc('CLIENT', 'REPLY', 'OFF') + enc('PING', 'c') + enc('SET', 'reply:k', 'v') + enc('CLIENT', 'REPLY', 'ON') + enc('PING', 'd');
    const got = await c.request(pipeline, 3);
    expect(got).toBe('$1\r\nb\r\n+OK\r\n$1\r\nd\r\n');
    expect(await c.request(enc('GET', 'reply:k'))).toBe('$1\r\nv\r\n');
  });

  it.skipIf(!hasBinary('redis-server'))('silences what redis-server silences: errors, QUEUED, EXEC, replies gathered from every worker, RESET', async () => {
    const redis = await startRedis('64mb');
    try {
      const cases: string[][][] = [
        [['CLIENT', 'REPLY', 'OFF'], ['SLOWLOG', 'LEN'], ['CLIENT', 'LIST', 'ID', '99999'], ['CLIENT', 'REPLY', 'ON'], ['PING']],
        [['CLIENT', 'REPLY', 'SKIP'], ['SLOWLOG', 'LEN'], ['PING']],
        [['CLIENT', 'REPLY', 'OFF'], ['MULTI'], ['SLOWLOG', 'LEN'], ['INCR', 'rq:n'], ['EXEC'], ['CLIENT', 'REPLY', 'ON'], ['PING']],
        [['CLIENT', 'REPLY', 'OFF'], ['NOSUCH'], ['GET'], ['MULTI'], ['GET', 'x'], ['NOSUCH'], ['DISCARD'], ['CLIENT', 'REPLY', 'ON'], ['PING']],
        [['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'ON'], ['PING']],
        [['CLIENT', 'REPLY', 'SKIP'], ['CLIENT', 'REPLY', 'SKIP'], ['ECHO', 'a'], ['ECHO', 'b']],
        [['CLIENT', 'REPLY', 'SKIP'], ['MULTI'], ['ECHO', 'a'], ['EXEC'], ['ECHO', 'b']],
        [['CLIENT', 'REPLY', 'SKIP'], ['SET', 'rq:k', 'v'], ['GET', 'rq:k'], ['CLIENT', 'REPLY', 'SKIP'], ['RESET'], ['PING']],
        [['CLIENT', 'REPLY', 'OFF'], ['RESET'], ['PING']],
      ];
      for (const seq of cases) {
        const req = seq.map((a) => enc(...a)).join('');
        const [a, b] = await Promise.all([RawConn.connect(redis.port), RawConn.connect(srv.port)]);
        try {
          // Every case ends with a reply that is not silenced: wait for it on both.
          const last = seq.at(-1)![0] === 'ECHO' ? '$1\r\nb\r\n' : '+PONG\r\n';
          a.write(req);
          b.write(req);
          const [theirs, ours] = await Promise.all([a.until((x) => x.endsWith(last)), b.until((x) => x.endsWith(last))]);
          expect(ours, seq.map((x) => x.join(' ')).join(' | ')).toBe(theirs);
        } finally {
          a.close();
          b.close();
        }
      }
    } finally {
      await redis.stop();
    }
  });
});

describe('CLIENT PAUSE', () => {
  /** Sends a request; resolves with the reply and the time it arrived. */
  async function timed(c: RawConn, req: string): Promise<{ reply: string; at: number }> {
    const reply = await c.request(req);
    return { reply, at: Date.now() };
  }

  it('WRITE holds a SET until the pause ends, not a GET', async () => {
    const [p, w] = await pair();
    const { c: r } = await open();
    const t0 = Date.now();
    expect(await p.c.request(enc('CLIENT', 'PAUSE', 1000, 'WRITE'))).toBe('+OK\r\n');
    let setDone = false;
    const set = timed(w.c, enc('SET', 'pause:k', 'v')).then((x) => ((setDone = true), x));
    const get = await timed(r, enc('GET', 'pause:k'));
    expect(get.reply).toBe('$-1\r\n');
    expect(setDone).toBe(false);
    const s = await set;
    expect(s.reply).toBe('+OK\r\n');
    expect(s.at).toBeGreaterThanOrEqual(t0 + 1000);
    expect(get.at).toBeLessThan(s.at);
    expect(await r.request(enc('GET', 'pause:k'))).toBe('$1\r\nv\r\n');
  });

  it('UNPAUSE on another worker releases held writes at once', async () => {
    const [p, w] = await pair();
    const { c: r } = await open();
    const t0 = Date.now();
    expect(await p.c.request(enc('CLIENT', 'PAUSE', 20000, 'WRITE'))).toBe('+OK\r\n');
    let setDone = false;
    const set = timed(w.c, enc('INCR', 'pause:n')).then((x) => ((setDone = true), x));
    // A read round trip: the INCR is still held after it.
    expect(await r.request(enc('EXISTS', 'pause:n'))).toBe(':0\r\n');
    expect(setDone).toBe(false);
    const u = await timed(p.c, enc('CLIENT', 'UNPAUSE'));
    expect(u.reply).toBe('+OK\r\n');
    const s = await set;
    expect(s.reply).toBe(':1\r\n');
    expect(s.at - t0).toBeLessThan(20000);
  });

  it('ALL holds reads too; errors have Redis text', async () => {
    const [p, r] = await pair();
    const t0 = Date.now();
    expect(await p.c.request(enc('CLIENT', 'PAUSE', 300))).toBe('+OK\r\n');
    const g = await timed(r.c, enc('GET', 'pause:none'));
    expect(g.reply).toBe('$-1\r\n');
    expect(g.at).toBeGreaterThanOrEqual(t0 + 300);
    expect(await p.c.request(enc('CLIENT', 'PAUSE', 10, 'foo'))).toBe('-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n');
    expect(await p.c.request(enc('CLIENT', 'PAUSE', 'abc'))).toBe('-ERR timeout is not an integer or out of range\r\n');
    expect(await p.c.request(enc('CLIENT', 'PAUSE', -1))).toBe('-ERR timeout is negative\r\n');
  });
});

describe('CLIENT errors and help', () => {
  it('answers with Redis 7 texts', async () => {
    const { c } = await open();
    const cases: [string[], string][] = [
      [['CLIENT'], "-ERR wrong number of arguments for 'client' command\r\n"],
      [['CLIENT', 'FOO'], "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"],
      [['CLIENT', 'LIST', 'TYPE', 'foo'], "-ERR Unknown client type 'foo'\r\n"],
      [['CLIENT', 'LIST', 'ID', 'abc'], '-ERR Invalid client ID\r\n'],
      [['CLIENT', 'LIST', 'x'], '-ERR syntax error\r\n'],
      [['CLIENT', 'KILL', 'ID', '0'], '-ERR client-id should be greater than 0\r\n'],
      [['CLIENT', 'KILL', 'USER', 'bob'], "-ERR No such user 'bob'\r\n"],
      [['CLIENT', 'KILL', 'SKIPME', 'maybe'], '-ERR syntax error\r\n'],
      [['CLIENT', 'KILL', 'TYPE', 'foo'], "-ERR Unknown client type 'foo'\r\n"],
      [['CLIENT', 'KILL', 'ID', '5', 'TYPE'], '-ERR syntax error\r\n'],
      [['CLIENT', 'KILL', 'id'], '-ERR No such client\r\n'],
      [['CLIENT', 'REPLY', 'foo'], '-ERR syntax error\r\n'],
      [['CLIENT', 'REPLY'], "-ERR wrong number of arguments for 'client|reply' command\r\n"],
      [['CLIENT', 'NO-EVICT', 'x'], '-ERR syntax error\r\n'],
      [['CLIENT', 'NO-TOUCH', 'x'], '-ERR syntax error\r\n'],
      [['CLIENT', 'SETINFO', 'foo', 'bar'], "-ERR Unrecognized option 'foo'\r\n"],
      [['CLIENT', 'SETINFO', 'lib-name', 'a b'], '-ERR lib-name cannot contain spaces, newlines or special characters.\r\n'],
      [['CLIENT', 'PAUSE', '10', 'write', 'x'], "-ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.\r\n"],
      [['CLIENT', 'UNPAUSE', 'x'], "-ERR wrong number of arguments for 'client|unpause' command\r\n"],
      [['CLIENT', 'GETREDIR'], ':-1\r\n'],
    ];
    for (const [args, reply] of cases) expect([args.join(' '), await c.request(enc(...args))]).toEqual([args.join(' '), reply]);
  });

  it('HELP lists the subcommands', async () => {
    const { c } = await open();
    const help = await c.request(enc('CLIENT', 'HELP'));
    expect(help.startsWith('*58\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CACHING (YES|NO)\r\n')).toBe(true);
    expect(help.endsWith('+HELP\r\n+    Print this help.\r\n')).toBe(true);
  });
});
