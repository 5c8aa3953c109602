/**
 * Worker side of concurrency.test.ts: attaches to the store posted by the test and runs one role.
 *   incr     INCRBY 1 on every shared counter, `rounds` times
 *   write    SETs values that carry their own length and checksum
 *   read     GETs those keys and checks every value it sees; reports torn reads
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Store } from '../../src/store/store.ts';
import type { StoreHandle } from '../../src/store/store.ts';

interface Job {
  handle: StoreHandle;
  role: 'incr' | 'write' | 'read' | 'fill';
  keys: string[];
  rounds: number;
  seed: number;
}

const job = workerData as Job;
const store = Store.attach(job.handle);
let seed = job.seed >>> 0 || 1;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}

/** A value: [u32 length][u32 checksum of the rest][bytes], each byte derived from a seed. */
function makeValue(len: number, s: number): Buffer {
  const b = Buffer.alloc(8 + len);
  let sum = 0;
  for (let i = 0; i < len; i++) {
    const v = (s + i * 31) & 0xff;
    b[8 + i] = v;
    sum = (Math.imul(sum, 16777619) ^ v) >>> 0;
  }
  b.writeUInt32LE(len, 0);
  b.writeUInt32LE(sum, 4);
  return b;
}

function valid(b: Buffer): boolean {
  if (b.length < 8 || b.readUInt32LE(0) !== b.length - 8) return false;
  let sum = 0;
  for (let i = 8; i < b.length; i++) sum = (Math.imul(sum, 16777619) ^ b[i]!) >>> 0;
  return sum === b.readUInt32LE(4);
}

let torn = 0;
let reads = 0;
for (let r = 0; r < job.rounds; r++) {
  if (job.role === 'incr') {
    for (const k of job.keys) store.incrBy(k, 1);
  } else if (job.role === 'write') {
    const k = job.keys[Math.floor(rand() * job.keys.length)]!;
    // Sizes cross slab classes and page runs, so values move between chunks while readers read.
    const len = rand() < 0.05 ? 70_000 + Math.floor(rand() * 10_000) : Math.floor(rand() * 3000);
    store.set(k, makeValue(len, Math.floor(rand() * 256)));
  } else if (job.role === 'fill') {
    // Distinct keys from every filler: the index and the arena grow while other threads use them.
    const k = `${job.keys[0]}:${r}`;
    store.set(k, makeValue(r % 300, r & 0xff));
  } else {
    for (const k of job.keys) {
      const v = store.get(k);
      if (v === null) continue;
      reads++;
      if (!valid(v)) torn++;
    }
  }
}
parentPort!.postMessage({ torn, reads });
