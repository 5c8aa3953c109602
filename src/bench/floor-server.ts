/**
 * The floor under the server: a process shaped like `shardcache server` (a main thread that
 * accepts and transfers each socket to a worker, which re-wraps it with `onread` and writes once
 * per read) that has no store and parses no more than it must to find where each request ends.
 * It answers redis-benchmark's GET and SET traffic only: a two-argument request (GET) gets a bulk
 * reply of `--size` bytes, any other gets +OK. Its CPU per request is what Node's socket path costs
 * before the server does any work; `bench net --floor` runs it beside both servers.
 *   node src/bench/floor-server.ts [--port 0] [--size 100] [--threads 1]
 * Prints `ready: port N`; on SIGINT or SIGTERM prints its CPU time per request and exits.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { adoptSocket, writeNow } from '../server/adopt.ts';

const STAR = 0x2a;
const DOLLAR = 0x24;
const LF = 0x0a;
/** Framing states: before a request's `*`, in its count, before an argument's `$`, in its length, in its payload. */
const AT_START = 0;
const IN_COUNT = 1;
const AT_DOLLAR = 2;
const IN_LENGTH = 3;
const SKIP = 4;

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
    // The least framing that finds where each request ends: header lines are read a byte at a
    // time, bulk payloads are skipped by their length, never scanned.
    let state = AT_START;
    let count = 0;
    let args = 0;
    let skip = 0;
    let out = Buffer.allocUnsafe(64 * 1024);
    // The server's own adoption (src/server/adopt.ts).
    const s: net.Socket = adoptSocket(m.socket, readBuffer, (n: number, b: Uint8Array) => {
      let len = 0;
      let i = 0;
      while (i < n) {
        if (state === SKIP) {
          const k = Math.min(skip, n - i);
          skip -= k;
          i += k;
          if (skip === 0) state = --args === 0 ? AT_START : AT_DOLLAR;
          continue;
        }
        const c = b[i++]!;
        if (state === AT_START) {
          if (c === STAR) {
            state = IN_COUNT;
            count = 0;
          }
        } else if (state === IN_COUNT || state === IN_LENGTH) {
          if (c >= 0x30 && c <= 0x39) count = count * 10 + (c - 0x30);
          else if (c === LF) {
            if (state === IN_COUNT) {
              args = count;
              const reply = args === 2 ? bulk : ok;
              if (len + reply.length > out.length) {
                const bigger = Buffer.allocUnsafe(out.length * 2 + reply.length);
                out.copy(bigger, 0, 0, len);
                out = bigger;
              }
              reply.copy(out, len);
              len += reply.length;
              requests++;
              state = args > 0 ? AT_DOLLAR : AT_START;
            } else {
              skip = count + 2;
              state = SKIP;
            }
          }
        } else if (c === DOLLAR) {
          state = IN_LENGTH;
          count = 0;
        }
      }
      if (len > 0) {
        // As the server's reply writer (ReplyWriter.writeTo): straight to the descriptor when
        // the stream holds nothing, the rest through the stream, and the buffer reused when no
        // byte is left waiting in it.
        const done = writeNow(s, out, len);
        if (done < len) {
          s.write(out.subarray(done, len));
          if (s.writableLength !== 0) out = Buffer.allocUnsafe(out.length);
        }
      }
      return true;
    });
    s.on('error', () => s.destroy());
    s.resume();
  });
}
