/**
 * The server's side of the binary protocol under bad input: each framing error gets an ERROR
 * frame with a stable code and a message that says what was wrong, then the connection closes;
 * a bad request inside a good frame gets an ERROR and the connection goes on. The server
 * survives all of it. Also AUTH.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FRAME_MAGIC, FrameHeader, Opcode } from '../../native-layout/frames.ts';
import { encodeEntries, encodeFrame, FrameError, FrameParser, frameMeta, frameValue, NEED_MORE, newFrame } from '../../src/protocol/binary/codec.ts';
import { wire } from '../../src/client/connection.ts';
import { ShardcacheClient, ShardcacheClientError } from '../../src/client/index.ts';
import { startServer } from '../server/harness.ts';
import type { TestServer } from '../server/harness.ts';

interface Got {
  opcode: number;
  requestId: number;
  count: number;
  value: Buffer;
  error?: { code: string; message: string };
}

/** A raw connection that collects frames and notices when the server closes. */
class Raw {
  readonly socket: net.Socket;
  readonly frames: Got[] = [];
  closed = false;
  private readonly parser = new FrameParser();
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    const f = newFrame();
    socket.on('data', (d: Buffer) => {
      this.parser.push(d);
      for (;;) {
        const r = this.parser.next(f);
        if (r === NEED_MORE || r instanceof FrameError) break;
        const g: Got = { opcode: r.opcode, requestId: r.requestId, count: r.count, value: Buffer.from(frameValue(r)) };
        if (r.opcode === Opcode.ERROR) g.error = wire.unpack(frameMeta(r)) as { code: string; message: string };
        this.frames.push(g);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async until(done: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out; frames so far: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async frame(n: number): Promise<Got> {
    await this.until(() => this.frames.length >= n);
    return this.frames[n - 1]!;
  }
}

let s: TestServer;
let secured: TestServer;

beforeAll(async () => {
  [s, secured] = await Promise.all([startServer([], { threads: 2 }), startServer(['--requirepass', 'sekret'], { threads: 1 })]);
});

afterAll(async () => {
  await Promise.all([s?.stop(), secured?.stop()]);
});

async function serverStillServes(): Promise<void> {
  const r = await Raw.open(s.port);
  r.socket.write(encodeFrame(Opcode.PING, 0, 77, { value: Buffer.from('alive') }));
  const g = await r.frame(1);
  expect(g.requestId).toBe(77);
  expect(g.value.toString()).toBe('alive');
  r.socket.destroy();
  const redis = new Redis({ port: s.port, host: '127.0.0.1' });
  expect(await redis.ping()).toBe('PONG');
  redis.disconnect();
  expect(s.proc.exitCode).toBeNull();
}

describe('framing errors close the connection with a clear error', () => {
  test('an oversized frame is refused from its header alone', async () => {
    const r = await Raw.open(s.port);
    const h = Buffer.alloc(FrameHeader.size);
    h[0] = FRAME_MAGIC;
    h[1] = Opcode.SET;
    h.writeUInt32LE(0xf0000000, FrameHeader.fields.length.offset);
    h.writeUInt32LE(12, FrameHeader.fields.requestId.offset);
    r.socket.write(h);
    const g = await r.frame(1);
    expect(g.opcode).toBe(Opcode.ERROR);
    expect(g.requestId).toBe(12);
    expect(g.error!.code).toBe('SC_ERR_FRAME_TOO_LARGE');
    expect(g.error!.message).toMatch(/frame of 4026531840 bytes exceeds the limit of \d+/);
    await r.until(() => r.closed);
    await serverStillServes();
  });

  test('a truncated frame: the client stops sending mid-frame', async () => {
    const r = await Raw.open(s.port);
    const f = encodeFrame(Opcode.SET, 0, 5, { key: Buffer.from('trunc'), value: Buffer.alloc(100, 1) });
    r.socket.write(encodeFrame(Opcode.PING, 0, 4));
    r.socket.write(f.subarray(0, 30));
    await r.frame(1);
    r.socket.end();
    const g = await r.frame(2);
    expect(g.error!.code).toBe('SC_ERR_FRAME_TRUNCATED');
    expect(g.error!.message).toBe(`connection closed inside a frame: 30 of ${f.length} bytes received`);
    await r.until(() => r.closed);
    await serverStillServes();
  });

  test('garbage after a good frame, and lengths that contradict each other', async () => {
    const r = await Raw.open(s.port);
    r.socket.write(Buffer.concat([encodeFrame(Opcode.PING, 0, 1), Buffer.from('GET foo\r\n')]));
    expect((await r.frame(1)).opcode).toBe(Opcode.REPLY);
    const g = await r.frame(2);
    expect(g.error!.code).toBe('SC_ERR_PROTOCOL');
    expect(g.error!.message).toMatch(/bad frame magic 0x47/);
    await r.until(() => r.closed);

    const q = await Raw.open(s.port);
    const bad = encodeFrame(Opcode.SET, 0, 9, { key: Buffer.from('k'), value: Buffer.from('v') });
    bad.writeUInt32LE(1000, FrameHeader.fields.keyLen.offset);
    q.socket.write(bad);
    const e = await q.frame(1);
    expect(e.error!.code).toBe('SC_ERR_PROTOCOL');
    expect(e.error!.message).toMatch(/overrun/);
    await q.until(() => q.closed);
    await serverStillServes();
  });
});

describe('request errors keep the connection', () => {
  test('unknown opcode, bad bodies, bad SET options; then the connection still works', async () => {
    const r = await Raw.open(s.port);
    r.socket.write(
      Buffer.concat([
        encodeFrame(99, 0, 1),
        encodeFrame(Opcode.INCR, 0, 2, { key: Buffer.from('n'), value: Buffer.from('abc') }),
        encodeFrame(Opcode.SET, 0, 3, { key: Buffer.from('k'), meta: Buffer.from([0x82, 0xa1]), value: Buffer.from('v') }),
        encodeFrame(Opcode.SET, 0, 4, { key: Buffer.from('k'), meta: wire.pack({ ttl: 5 }), value: Buffer.from('v') }),
        encodeFrame(Opcode.SET, 0, 5, { key: Buffer.from('k'), meta: wire.pack({ px: -1 }), value: Buffer.from('v') }),
        encodeFrame(Opcode.MGET, 0, 6, { value: Buffer.from([1, 0]), count: 1 }),
        encodeFrame(Opcode.SET, 0, 7, { key: Buffer.from('k'), meta: wire.pack({ px: 60_000 }), value: Buffer.from('v') }),
        encodeFrame(Opcode.MGET, 0, 8, { value: encodeEntries([Buffer.from('k')]), count: 1 }),
      ]),
    );
    await r.until(() => r.frames.length >= 8);
    const byId = new Map(r.frames.map((g) => [g.requestId, g]));
    expect(byId.get(1)!.error).toEqual({ code: 'SC_ERR_UNKNOWN_OPCODE', message: 'unknown opcode 99' });
    expect(byId.get(2)!.error!.code).toBe('SC_ERR_BAD_REQUEST');
    expect(byId.get(3)!.error!.message).toMatch(/not valid msgpack/);
    expect(byId.get(4)!.error!.message).toBe("unknown SET option 'ttl'");
    expect(byId.get(5)!.error!.code).toBe('SC_ERR_INVALID_EXPIRE');
    expect(byId.get(6)!.error!.message).toMatch(/MGET entries/);
    expect(byId.get(7)!.count).toBe(1);
    expect(byId.get(8)!.value.subarray(4).toString()).toBe('v');
    expect(r.closed).toBe(false);
    r.socket.destroy();
  });
});

describe('AUTH', () => {
  test('NOAUTH without a password, WRONGPASS with a wrong one, works with the right one', async () => {
    const nodes = [`127.0.0.1:${secured.port}`];
    const anon = new ShardcacheClient({ nodes });
    const wrong = new ShardcacheClient({ nodes, password: 'nope' });
    const right = new ShardcacheClient({ nodes, password: 'sekret' });
    try {
      await expect(anon.get('k')).rejects.toMatchObject({ code: 'SC_ERR_NOAUTH' });
      await expect(wrong.get('k')).rejects.toMatchObject({ code: 'SC_ERR_NOAUTH' });
      expect(await right.set('k', 'v')).toBe(true);
      expect((await right.get('k'))!.toString()).toBe('v');
      const r = await Raw.open(secured.port);
      r.socket.write(encodeFrame(Opcode.AUTH, 0, 1, { value: Buffer.from('bad') }));
      expect((await r.frame(1)).error!.code).toBe('SC_ERR_WRONGPASS');
      r.socket.destroy();
      await expect(anon.get('k')).rejects.toBeInstanceOf(ShardcacheClientError);
    } finally {
      await Promise.all([anon.close(), wrong.close(), right.close()]);
    }
  });
});
