/**
 * The request path of a worker without sockets: parse, dispatch, execute, encode replies, for a
 * pipelined batch, so the JS cost per command can be profiled apart from system calls.
 *   node bench/server/dispatch.bench.ts [ping|get|set] [batch]
 */
import { Duplex } from 'node:stream';
import { Store } from '../../src/store/store.ts';
import { Client } from '../../src/server/client.ts';
import { WorkerContext } from '../../src/server/context.ts';
import { processInput } from '../../src/server/dispatch.ts';
import { defaultConfig } from '../../src/server/config.ts';
import { SharedState } from '../../src/server/shared-state.ts';
import { PubSub } from '../../src/server/pubsub.ts';
import { installClientCommands } from '../../src/server/commands/client.ts';

const which = process.argv[2] ?? 'get';
const batch = Number(process.argv[3] ?? 16);
const store = Store.create({ shards: 16 });
const shared = new SharedState();
const ctx = new WorkerContext(
  { index: 0, store: store.handle(), shared: shared.buffer, config: [...defaultConfig()], workers: 1, ownedShards: [], busName: 'bench', startedAt: Date.now(), runId: 'x' },
  store,
);
ctx.pubsub = new PubSub(ctx);
installClientCommands(ctx);
await new Promise((r) => setTimeout(r, 10));

/** A socket stand-in that discards writes (counts bytes). */
class Sink extends Duplex {
  bytes = 0;
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.bytes += chunk.length;
    cb();
  }
}
const sock = new Sink() as unknown as import('node:net').Socket;
const c = new Client(1, sock, store, false, 512 * 1024 * 1024);
const keys = Array.from({ length: 10000 }, (_, i) => `key:${String(i).padStart(12, '0')}`);
for (const k of keys) store.set(k, 'x'.repeat(100));
const reqOf = (i: number) => {
  const k = keys[i % keys.length]!;
  if (which === 'ping') return '*1\r\n$4\r\nPING\r\n';
  if (which === 'set') return `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$100\r\n${'x'.repeat(100)}\r\n`;
  return `*2\r\n$3\r\nGET\r\n$${k.length}\r\n${k}\r\n`;
};
const chunks = Array.from({ length: 64 }, (_, j) => Buffer.from(Array.from({ length: batch }, (_, i) => reqOf(j * batch + i)).join('')));
const rounds = Math.ceil(2_000_000 / batch);
for (let warm = 0; warm < 2; warm++) {
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const ch = chunks[r & 63]!;
    c.parser.push(ch, 0, ch.length);
    processInput(ctx, c);
  }
  const ms = performance.now() - t0;
  if (warm === 1) console.log(`${which} batch ${batch}: ${((ms * 1e6) / (rounds * batch)).toFixed(0)} ns/command`);
}
ctx.close();
process.exit(0);
