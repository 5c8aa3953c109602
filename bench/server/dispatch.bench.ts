/**
 * The request path of a worker without sockets: parse, dispatch, execute, encode replies, for a
 * pipelined batch, so the JS cost per command can be profiled apart from system calls.
 *   node bench/server/dispatch.bench.ts [ping|get|set|incr|strlen|type|multi] [batch] [keys] [policy] [value bytes]
 * (incr runs on counters; strlen runs its handler from the fast path; type takes the general path
 * that every command without a fast path takes; multi is a transaction, MULTI SET INCR EXEC, and
 * its figures are per transaction)
 * With many keys (100000, as `bench net` loads) the keys are visited in a random order, so the
 * figure includes the store's cache misses; with few, everything stays in cache. It also prints
 * the JS heap bytes allocated per command (V8's total_allocated_bytes), which drive scavenges.
 */
import { Duplex } from 'node:stream';
import { getHeapStatistics } from 'node:v8';
import { Store } from '../../src/store/store.ts';
import { Client } from '../../src/server/client.ts';
import { WorkerContext } from '../../src/server/context.ts';
import { processInput } from '../../src/server/dispatch.ts';
import { defaultConfig } from '../../src/server/config.ts';
import { SharedState } from '../../src/server/shared-state.ts';
import { PubSub } from '../../src/server/pubsub.ts';
import { installTracking } from '../../src/server/tracking.ts';

const which = process.argv[2] ?? 'get';
const batch = Number(process.argv[3] ?? 16);
const keyCount = Number(process.argv[4] ?? 1024);
// The worker's clock: the store reads ctx.nowMs, which processInput sets once per read.
const store = Store.create({ shards: 16, policy: process.argv[5] ?? 'noeviction', clock: () => ctx.nowMs });
const valueSize = Number(process.argv[6] ?? 100);
const shared = new SharedState();
const ctx = new WorkerContext(
  { index: 0, store: store.handle(), shared: shared.buffer, config: [...defaultConfig()], workers: 1, ownedShards: [], busName: 'bench', startedAt: Date.now(), runId: 'x' },
  store,
);
ctx.pubsub = new PubSub(ctx);
installTracking(ctx);
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
const keys = Array.from({ length: keyCount }, (_, i) => `key:${String(i).padStart(12, '0')}`);
const value = 'x'.repeat(valueSize);
for (const k of keys) store.set(k, which === 'incr' ? '0' : value);
// A fixed pseudo-random visiting order (xorshift), the same in every run.
let seed = 0x9e3779b9;
const order = Array.from({ length: keyCount }, (_, i) => i);
for (let i = keyCount - 1; i > 0; i--) {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  const j = (seed >>> 0) % (i + 1);
  [order[i], order[j]] = [order[j]!, order[i]!];
}
const reqOf = (i: number) => {
  const k = keys[order[i % keyCount]!]!;
  if (which === 'ping') return '*1\r\n$4\r\nPING\r\n';
  if (which === 'incr') return `*2\r\n$4\r\nINCR\r\n$${k.length}\r\n${k}\r\n`;
  if (which === 'strlen') return `*2\r\n$6\r\nSTRLEN\r\n$${k.length}\r\n${k}\r\n`;
  if (which === 'multi') return `*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${valueSize}\r\n${value}\r\n*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n*1\r\n$4\r\nEXEC\r\n`;
  if (which === 'type') return `*2\r\n$4\r\nTYPE\r\n$${k.length}\r\n${k}\r\n`;
  if (which === 'set') return `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${valueSize}\r\n${value}\r\n`;
  return `*2\r\n$3\r\nGET\r\n$${k.length}\r\n${k}\r\n`;
};
const chunkCount = Math.max(64, Math.ceil(keyCount / batch));
const chunks = Array.from({ length: chunkCount }, (_, j) => Buffer.from(Array.from({ length: batch }, (_, i) => reqOf(j * batch + i)).join('')));
const rounds = Math.ceil(4_000_000 / batch);
for (let warm = 0; warm < 3; warm++) {
  const t0 = performance.now();
  const a0 = getHeapStatistics().total_allocated_bytes;
  for (let r = 0; r < rounds; r++) {
    const ch = chunks[r % chunkCount]!;
    c.parser.push(ch, 0, ch.length);
    processInput(ctx, c);
  }
  const ms = performance.now() - t0;
  const bytes = getHeapStatistics().total_allocated_bytes - a0;
  if (warm === 2) console.log(`${which} batch ${batch} keys ${keyCount} values ${valueSize} B: ${((ms * 1e6) / (rounds * batch)).toFixed(0)} ns/command, ${(bytes / (rounds * batch)).toFixed(0)} B allocated/command`);
}
ctx.close();
process.exit(0);
