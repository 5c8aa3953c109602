/**
 * The floor under the server: a process shaped like `shardcache server` (a main thread that
 * accepts and transfers each socket to a worker, which re-wraps it with `onread` and writes once
 * per read) that does no parsing and has no store. It answers redis-benchmark's GET and SET
 * traffic only: each request starts with `*`, a two-argument one (GET) gets a bulk reply of
 * `--size` bytes, any other gets +OK. Its CPU per request is what Node's socket path costs
 * before the server does any work; `bench net --floor` runs it beside both servers.
 *   node src/bench/floor-server.ts [--port 0] [--size 100] [--threads 1]
 * Prints `ready: port N`; on SIGINT or SIGTERM prints its CPU time per request and exits.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const STAR = 0x2a;
const TWO = 0x32;

if (isMainThread) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, size: { type: 'string', default: '100' }, threads: { type: 'string', default: '1' } } });
  const size = Number(values.size);
  const workers = Array.from({ length: Math.max(1, Number(values.threads)) }, () => new Worker(new URL(import.meta.url), { workerData: { size } }));
  const counts = workers.map(() => 0);
  workers.forEach((w, i) => w.on('message', (n: number) => (counts[i] = n)));
  let next = 0;
  const srv = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => {
    workers[next]!.postMessage({ socket: s }, [s as never]);
    next = (next + 1) % workers.length;
  });
  srv.listen(Number(values.port), '127.0.0.1', () => console.log(`ready: port ${(srv.address() as net.AddressInfo).port}`));
  const cpu0 = process.cpuUsage();
  const stop = () => {
    for (const w of workers) w.postMessage('report');
    setTimeout(() => {
      const c = process.cpuUsage(cpu0);
      const requests = counts.reduce((a, b) => a + b, 0);
      console.log(`${requests} requests, ${((c.user + c.system) / Math.max(1, requests)).toFixed(2)} µs CPU per request (process, all threads)`);
      process.exit(0);
    }, 200);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  const { size } = workerData as { size: number };
  const bulk = Buffer.from(`$${size}\r\n${'x'.repeat(size)}\r\n`);
  const ok = Buffer.from('+OK\r\n');
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  let requests = 0;
  parentPort!.on('message', (m: { socket: net.Socket } | 'report') => {
    if (m === 'report') return parentPort!.postMessage(requests);
    // The server's adoption (src/server/worker.ts): the transferred handle, re-wrapped with onread.
    const handle = (m.socket as unknown as { _handle: unknown })._handle;
    (m.socket as unknown as { _handle: unknown })._handle = null;
    /** A `*` seen as the last byte of the previous read: its count digit starts this one. */
    let starPending = false;
    let out = Buffer.allocUnsafe(64 * 1024);
    const s: net.Socket = new net.Socket({
      handle: handle as never,
      readable: true,
      writable: true,
      onread: {
        buffer: readBuffer,
        callback(n: number, b: Uint8Array) {
          let len = 0;
          for (let i = 0; i < n; i++) {
            const isStart = starPending || b[i] === STAR;
            if (!isStart) continue;
            const digit = starPending ? b[i] : b[i + 1];
            if (!starPending && i + 1 >= n) {
              starPending = true;
              break;
            }
            starPending = false;
            const reply = digit === TWO ? bulk : ok;
            if (len + reply.length > out.length) {
              const bigger = Buffer.allocUnsafe(out.length * 2 + reply.length);
              out.copy(bigger, 0, 0, len);
              out = bigger;
            }
            reply.copy(out, len);
            len += reply.length;
            requests++;
          }
          if (len > 0) {
            s.write(out.subarray(0, len));
            // As the server's reply writer: the buffer is reused when the socket took every byte.
            if (s.writableLength !== 0) out = Buffer.allocUnsafe(out.length);
          }
          return true;
        },
      },
    });
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    s.resume();
  });
}
