/**
 * A tiny RESP server for tests of the load generator: it counts every request it receives, by
 * command name, and answers like a cache (SET stores, GET returns the value or nil, PING, anything
 * else +OK). It also records the key range and value sizes it saw, so tests can check what was
 * sent as well as how much.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { NEED_MORE, ProtocolError, RespParser } from '../protocol/resp-parser.ts';

export interface Counts {
  total: number;
  byCommand: Record<string, number>;
  connections: number;
  /** Distinct keys seen in GET and SET. */
  distinctKeys: number;
  /** Value sizes seen in SET, size -> count. */
  setSizes: Record<number, number>;
  /** Keys not of the form key:<12 digits>. */
  badKeys: number;
}

export interface CountingServer {
  port: number;
  counts(): Counts;
  reset(): void;
  close(): Promise<void>;
}

const KEY_RE = /^key:\d{12}$/;

export async function startCountingServer(): Promise<CountingServer> {
  const data = new Map<string, Buffer>();
  let counts: Counts;
  const keys = new Set<string>();
  const reset = () => {
    counts = { total: 0, byCommand: {}, connections: 0, distinctKeys: 0, setSizes: {}, badKeys: 0 };
    keys.clear();
    data.clear();
  };
  reset();
  const sockets = new Set<net.Socket>();
  const seeKey = (k: Buffer) => {
    const s = k.toString('latin1');
    if (!KEY_RE.test(s)) counts.badKeys++;
    keys.add(s);
    return s;
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    counts.connections++;
    const parser = new RespParser();
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      parser.push(chunk);
      const out: Buffer[] = [];
      for (;;) {
        const req = parser.next();
        if (req === NEED_MORE) break;
        if (req instanceof ProtocolError) {
          out.push(Buffer.from(`-ERR ${req.message}\r\n`));
          sock.end(Buffer.concat(out));
          return;
        }
        if (req.length === 0) continue;
        const cmd = req[0]!.toString('latin1').toUpperCase();
        counts.total++;
        counts.byCommand[cmd] = (counts.byCommand[cmd] ?? 0) + 1;
        if (cmd === 'GET' && req.length === 2) {
          const v = data.get(seeKey(req[1]!));
          out.push(v === undefined ? Buffer.from('$-1\r\n') : Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]));
        } else if (cmd === 'SET' && req.length >= 3) {
          data.set(seeKey(req[1]!), Buffer.from(req[2]!));
          counts.setSizes[req[2]!.length] = (counts.setSizes[req[2]!.length] ?? 0) + 1;
          out.push(Buffer.from('+OK\r\n'));
        } else if (cmd === 'PING') out.push(Buffer.from('+PONG\r\n'));
        else out.push(Buffer.from('+OK\r\n'));
      }
      if (out.length > 0) sock.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    counts: () => ({ ...counts, distinctKeys: keys.size, byCommand: { ...counts.byCommand }, setSizes: { ...counts.setSizes } }),
    reset,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
