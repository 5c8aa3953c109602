/**
 * Pins the Node behaviour the worker's socket adoption rests on (src/server/adopt.ts adoptSocket()):
 * a net.Socket posted to a worker arrives with its `_handle`, and a new net.Socket built around
 * that handle with the `onread` option reads into a caller-owned buffer. If a Node upgrade breaks
 * this, this test fails before the server does.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';

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
