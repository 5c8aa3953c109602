/**
 * The reply writer writes out of its own buffer and reuses it when the socket took every byte at
 * once. These tests drive it over a real TCP connection whose reader stops reading, so that the
 * kernel's buffers fill and the socket has to keep replies: every byte must still arrive intact
 * and in order (a buffer reused too early would show up as overwritten replies).
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { ReplyWriter } from '../../src/protocol/resp-writer.ts';

const open: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A connected pair on 127.0.0.1: `writer` is ours, `reader` starts paused. */
async function pair(): Promise<{ writer: net.Socket; reader: net.Socket }> {
  const server = net.createServer({ pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const writer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => writer.once('connect', r));
  const reader = await accepted;
  open.push(writer, reader);
  return { writer, reader };
}

function readAll(reader: net.Socket, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  return new Promise((resolve) => {
    reader.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= bytes) resolve(Buffer.concat(chunks));
    });
    reader.resume();
  });
}

describe('ReplyWriter.writeTo over a socket that backs up', () => {
  test('small and large replies, flushed one by one, all arrive in order', async () => {
    const { writer, reader } = await pair();
    const out = new ReplyWriter(1024);
    const expected: Buffer[] = [];
    let queuedAtSomePoint = false;
    for (let i = 0; i < 3000; i++) {
      // Mostly short replies, with a large one now and then (past the copy threshold): about
      // 30 MB in all, more than the kernel buffers of a loopback connection hold.
      const size = i % 31 === 0 ? 300_000 + i : i % 7 === 0 ? 600 : 12;
      const value = Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
      value.write(String(i).padStart(8, '0'));
      out.bulk(value);
      expected.push(Buffer.from(`$${size}\r\n`), value, Buffer.from('\r\n'));
      out.writeTo(writer);
      if (writer.writableLength > 0) queuedAtSomePoint = true;
    }
    const want = Buffer.concat(expected);
    const got = await readAll(reader, want.length);
    expect(queuedAtSomePoint).toBe(true);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });

  test('replies written while the reader keeps up reuse the buffer and arrive intact', async () => {
    const { writer, reader } = await pair();
    const out = new ReplyWriter(64);
    const want: Buffer[] = [];
    // Each round is two 14-byte replies.
    const done = readAll(reader, 200 * 28);
    for (let i = 0; i < 200; i++) {
      const s = `reply-${String(i).padStart(5, '0')}`;
      out.simple(s);
      out.simple(s.toUpperCase());
      want.push(Buffer.from(`+${s}\r\n+${s.toUpperCase()}\r\n`));
      out.writeTo(writer);
      await new Promise((r) => setImmediate(r));
    }
    const got = await done;
    expect(got.equals(Buffer.concat(want))).toBe(true);
  });
});
