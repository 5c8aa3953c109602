/**
 * Appends `count` SET records to a shared op-log for the cross-thread test in oplog.test.ts.
 * Each record: key `w<id>:<i>`, flags = id, arg = i, value = payload(id, i) followed by a u32
 * checksum of key and payload, so the reader can tell a torn record from a whole one.
 * Back-pressure (test only; the ring itself never blocks writers): a worker stays within `window`
 * records of what the reader has acknowledged in `consumed`, so the ring laps many times but the
 * reader is never lapped.
 * The test imports payload/checksum from here; the writer runs only when started as a worker.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { OpType } from '../../native-layout/oplog.ts';
import { OpLog, type OpLogHandle } from '../../src/store/oplog.ts';

export interface WriterData {
  readonly oplogWriter: true;
  readonly handle: OpLogHandle;
  readonly id: number;
  readonly count: number;
  readonly window: number;
  /** Word 0 turns 1 when all workers may start, so they really run concurrently. */
  readonly start: Int32Array;
  /** Word 0: last seq the reader has consumed. */
  readonly consumed: Int32Array;
}

export function payload(id: number, i: number): Uint8Array {
  const n = (i * 37 + id * 11) % 500;
  const b = new Uint8Array(n);
  for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 7 + id) & 0xff;
  return b;
}

/** FNV-1a over key then payload. */
export function checksum(key: Uint8Array, body: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of key) h = Math.imul(h ^ b, 0x01000193);
  for (const b of body) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

function run(d: WriterData): void {
  const log = OpLog.attach(d.handle);
  while (Atomics.load(d.start, 0) === 0) Atomics.wait(d.start, 0, 0, 100);
  const enc = new TextEncoder();
  for (let i = 0; i < d.count; i++) {
    for (;;) {
      const acked = Atomics.load(d.consumed, 0);
      if (log.nextSeq - 1 - acked <= d.window) break;
      Atomics.wait(d.consumed, 0, acked, 5);
    }
    const key = enc.encode(`w${d.id}:${i}`);
    const body = payload(d.id, i);
    const value = new Uint8Array(body.length + 4);
    value.set(body);
    new DataView(value.buffer).setUint32(body.length, checksum(key, body), true);
    log.append(OpType.SET, key, value, 0, i, d.id);
  }
  parentPort!.postMessage('done');
}

const data = workerData as WriterData | null | undefined;
if (parentPort !== null && data?.oplogWriter === true) run(data);
