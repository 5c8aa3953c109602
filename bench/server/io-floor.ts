/**
 * The floor of Node's socket path, for comparison with the server: a worker thread adopts
 * sockets exactly as src/server/worker.ts does (transfer + `onread`) and answers every request
 * with a fixed 100-byte bulk reply, without parsing or a store. Drive it with redis-benchmark;
 * it prints its own CPU time per request when stopped (Ctrl-C).
 *   node bench/server/io-floor.ts [port]      then: redis-benchmark -p PORT -t get -P 16 -n 1000000 -q
 */
import net from 'node:net';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';

if (isMainThread) {
  const port = Number(process.argv[2] ?? 7403);
  const w = new Worker(new URL(import.meta.url));
  let requests = 0;
  w.on('message', (n: number) => (requests = n));
  const srv = net.createServer({ pauseOnConnect: true, noDelay: true }, (s) => w.postMessage({ socket: s }, [s as never]));
  srv.listen(port, '127.0.0.1', () => console.log(`io-floor listening on ${port}`));
  const cpu0 = process.cpuUsage();
  process.once('SIGINT', () => {
    w.postMessage('report');
    setTimeout(() => {
      const c = process.cpuUsage(cpu0);
      console.log(`${requests} requests, ${((c.user + c.system) / Math.max(1, requests)).toFixed(2)} µs CPU per request (process, all threads)`);
      process.exit(0);
    }, 200);
  });
} else {
  const buf = Buffer.allocUnsafe(65536);
  const reply = Buffer.from('$100\r\n' + 'x'.repeat(100) + '\r\n');
  let requests = 0;
  parentPort!.on('message', (m: { socket: net.Socket } | 'report') => {
    if (m === 'report') return parentPort!.postMessage(requests);
    const handle = (m.socket as unknown as { _handle: unknown })._handle;
    (m.socket as unknown as { _handle: unknown })._handle = null;
    const s: net.Socket = new net.Socket({
      handle: handle as never,
      readable: true,
      writable: true,
      onread: {
        buffer: buf,
        callback(n: number, b: Uint8Array) {
          // One reply per request: a request starts with '*' (no value or key here contains one).
          let k = 0;
          for (let i = 0; i < n; i++) if (b[i] === 42) k++;
          requests += k;
          const out = Buffer.allocUnsafe(reply.length * k);
          for (let i = 0; i < k; i++) reply.copy(out, i * reply.length);
          s.write(out);
          return true;
        },
      },
    });
    s.setNoDelay(true);
    s.resume();
  });
}
