/**
 * Pins the Node behaviour the worker's socket adoption rests on (src/server/adopt.ts adoptSocket()):
 * a net.Socket posted to a worker arrives with its `_handle`, and a new net.Socket built around
 * that handle with the `onread` option reads into a caller-owned buffer. If a Node upgrade breaks
 * this, this test fails before the server does. Also writeNow(), which writes to the handle's
 * descriptor past the stream, only when that keeps the bytes in order.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { writeNow } from '../../src/server/adopt.ts';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});

it('a transferred socket can be re-wrapped with onread in a worker', async () => {
  const w = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const net = require('node:net');
     const buf = Buffer.alloc(1024);
     parentPort.on('message', (m) => {
       const handle = m.socket._handle;
       m.socket._handle = null;
       const s = new net.Socket({ handle, readable: true, writable: true,
         onread: { buffer: buf, callback(n, b) { s.write('got:' + b.toString('latin1', 0, n) + ':' + (b === buf)); } } });
       s.on('end', () => s.end());
       s.resume();
     });`,
    { eval: true },
  );
  cleanup.push(() => w.terminate());
  const srv = net.createServer({ pauseOnConnect: true }, (sock) => w.postMessage({ socket: sock }, [sock as never]));
  cleanup.push(() => new Promise((r) => srv.close(r)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const reply = await new Promise<string>((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write('ping'));
    c.on('data', (d) => {
      resolve(d.toString());
      c.end();
    });
    c.on('error', reject);
  });
  expect(reply).toBe('got:ping:true');
});

it('writeNow writes past the stream only while the stream holds nothing, and never after end or destroy', async () => {
  const srv = net.createServer();
  cleanup.push(() => new Promise((r) => srv.close(r)));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  cleanup.push(() => client.destroy());
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((r) => client.once('end', r));
  const s = await accepted;
  cleanup.push(() => s.destroy());
  const b = (text: string) => Buffer.from(text, 'latin1');

  // Nothing queued: the kernel takes it all at once.
  expect(writeNow(s, b('one,'), 4)).toBe(4);
  // Bytes held by the stream (corked): a direct write would overtake them, so none is made.
  s.cork();
  s.write('two,');
  expect(s.writableLength).toBeGreaterThan(0);
  expect(writeNow(s, b('three,'), 6)).toBe(0);
  s.write('three,');
  s.uncork();
  while (s.writableLength !== 0) await new Promise((r) => setImmediate(r));
  // Only the first n bytes go.
  expect(writeNow(s, b('four,xxxx'), 5)).toBe(5);
  s.end();
  expect(writeNow(s, b('late'), 4)).toBe(0);
  await ended;
  expect(Buffer.concat(chunks).toString('latin1')).toBe('one,two,three,four,');
  s.destroy();
  expect(writeNow(s, b('gone'), 4)).toBe(0);
});
