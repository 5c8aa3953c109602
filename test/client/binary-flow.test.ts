/**
 * Flow control on binary connections, as on RESP ones: a client that stops reading is not fed
 * without bound (reads stop until the socket drains, then the waiting frames run), and CLIENT
 * PAUSE holds binary requests until the pause ends.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Opcode } from '../../native-layout/frames.ts';
import { encodeFrame, FrameError, FrameParser, frameValue, NEED_MORE, newFrame } from '../../src/protocol/binary/codec.ts';
import { orderingKeys, orderingReader, startServer } from '../server/harness.ts';
import type { TestServer } from '../server/harness.ts';

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer([], { threads: 2 });
});
afterAll(async () => {
  await srv.stop();
});

async function connect(): Promise<{ socket: net.Socket; replies: { id: number; value: Buffer; at: number }[]; wait(n: number): Promise<void> }> {
  const socket = net.connect(srv.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const replies: { id: number; value: Buffer; at: number }[] = [];
  const parser = new FrameParser();
  const f = newFrame();
  let waiter: (() => void) | null = null;
  socket.on('data', (d: Buffer) => {
    parser.push(d);
    for (;;) {
      const r = parser.next(f);
      if (r === NEED_MORE || r instanceof FrameError) break;
      replies.push({ id: r.requestId, value: Buffer.from(frameValue(r)), at: Date.now() });
    }
    waiter?.();
  });
  return {
    socket,
    replies,
    wait: (n) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${replies.length} of ${n} replies`)), 20_000);
        const check = () => {
          if (replies.length >= n) {
            clearTimeout(t);
            waiter = null;
            resolve();
          }
        };
        waiter = check;
        check();
      }),
  };
}

it('a binary client that reads slowly gets every reply, in order, once it reads', async () => {
  const c = await connect();
  const value = Buffer.alloc(256 * 1024, 'z');
  c.socket.write(encodeFrame(Opcode.SET, 0, 1, { key: Buffer.from('bflow'), value }));
  await c.wait(1);
  c.socket.pause();
  const n = 80;
  const frames: Buffer[] = [];
  for (let i = 0; i < n; i++) frames.push(encodeFrame(Opcode.GET, 0, 100 + i, { key: Buffer.from('bflow') }));
  c.socket.write(Buffer.concat(frames));
  await new Promise((r) => setTimeout(r, 300));
  c.socket.resume();
  await c.wait(n + 1);
  expect(c.replies.slice(1).map((r) => r.id)).toEqual(Array.from({ length: n }, (_, i) => 100 + i));
  expect(c.replies.slice(1).every((r) => r.value.equals(value))).toBe(true);
  c.socket.destroy();
});

it('CLIENT PAUSE holds binary requests until it ends', async () => {
  const admin = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const c = await connect();
  try {
    const start = Date.now();
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
    c.socket.write(encodeFrame(Opcode.SET, 0, 7, { key: Buffer.from('bpause'), value: Buffer.from('v') }));
    await c.wait(1);
    expect(c.replies[0]!.at - start).toBeGreaterThanOrEqual(250);
  } finally {
    c.socket.destroy();
    await admin.quit();
  }
});

it('CLIENT PAUSE WRITE answers binary reads and holds the first write and all after it', async () => {
  const admin = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const c = await connect();
  try {
    await admin.set('bpw:r', 'readable');
    await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    c.socket.write(
      Buffer.concat([
        encodeFrame(Opcode.GET, 0, 1, { key: Buffer.from('bpw:r') }),
        encodeFrame(Opcode.SET, 0, 2, { key: Buffer.from('bpw:w'), value: Buffer.from('written') }),
        encodeFrame(Opcode.GET, 0, 3, { key: Buffer.from('bpw:r') }),
      ]),
    );
    await c.wait(1);
    expect(c.replies[0]!.id).toBe(1);
    expect(c.replies[0]!.value.toString()).toBe('readable');
    // The SET has not run: a RESP read (allowed under WRITE) still sees no key.
    expect(await admin.get('bpw:w')).toBeNull();
    expect(c.replies).toHaveLength(1);
    await admin.call('CLIENT', 'UNPAUSE');
    await c.wait(3);
    expect(c.replies.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(await admin.get('bpw:w')).toBe('written');
  } finally {
    c.socket.destroy();
    await admin.quit();
  }
});

it('keyspace notifications and RESP PUBLISH on the same worker reach binary subscribers', async () => {
  const { ShardcacheClient } = await import('../../src/client/index.ts');
  const s = await startServer(['--notify-keyspace-events', 'E$'], { threads: 1 });
  const client = new ShardcacheClient({ nodes: [`127.0.0.1:${s.port}`], l1: false });
  const resp = new Redis({ port: s.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  try {
    const got: string[] = [];
    let wake: (() => void) | null = null;
    const push = (m: string) => {
      got.push(m);
      wake?.();
    };
    await client.subscribe('__keyevent@0__:set', (msg) => push(`set:${msg.toString()}`));
    await client.subscribe('plain', (msg) => push(`plain:${msg.toString()}`));
    await resp.set('kn:1', 'v');
    await resp.publish('plain', 'hello');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`got ${JSON.stringify(got)}`)), 5000);
      wake = () => {
        if (got.length >= 2) {
          clearTimeout(t);
          resolve();
        }
      };
      wake();
    });
    expect(got.sort()).toEqual(['plain:hello', 'set:kn:1']);
  } finally {
    await client.close();
    await resp.quit();
    await s.stop();
  }
});

it('the writes of a binary batch become visible to other connections in request order', async () => {
  const { flag, data } = orderingKeys('bord', 2);
  const writer = await connect();
  const reader = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  const reading = orderingReader(reader, flag, data);
  let result = { seen: 0, violations: 0 };
  try {
    for (let round = 1; round <= 300; round++) {
      const frames = data.map((d, i) => encodeFrame(Opcode.SET, 0, round * 100 + i, { key: Buffer.from(d), value: Buffer.from(String(round)) }));
      frames.push(encodeFrame(Opcode.SET, 0, round * 100 + 99, { key: Buffer.from(flag), value: Buffer.from(String(round)) }));
      writer.socket.write(Buffer.concat(frames));
      await writer.wait(round * (data.length + 1));
    }
  } finally {
    result = await reading.stop();
    writer.socket.destroy();
    await reader.quit();
  }
  expect(result.seen).toBeGreaterThan(0);
  expect(result.violations).toBe(0);
});
