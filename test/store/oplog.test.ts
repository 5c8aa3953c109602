import { Worker } from 'node:worker_threads';
import { describe, expect, test } from 'vitest';
import { NO_VALUE, OpFlag, OpLogHeader, OpType, PAD_TYPE, RecordHeader, type OpTypeCode } from '../../native-layout/oplog.ts';
import { ErrorCode, ShardcacheError } from '../../src/errors.ts';
import {
  OpLog,
  decodeRecord,
  encodeRecord,
  recordLen,
  recordSize,
  recordType,
  recordViews,
  type OpRecord,
  type RecordViews,
} from '../../src/store/oplog.ts';
import { checksum, payload, type WriterData } from './oplog-writer.worker.ts';

const enc = new TextEncoder();
const H = OpLogHeader.fields;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ShardcacheError);
    return (e as ShardcacheError).code;
  }
  return undefined;
}

/** xorshift32: reproducible sizes and bytes. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Rec {
  type: OpTypeCode;
  key: Uint8Array;
  value: Uint8Array | null;
  expireAt: number;
  arg: number;
  flags: number;
}

function expectRecord(got: OpRecord, want: Rec, seq: number): void {
  expect(got.seq).toBe(seq);
  expect(got.type).toBe(want.type);
  expect(got.flags).toBe(want.flags);
  expect(got.expireAt).toBe(want.expireAt);
  expect(got.arg).toBe(want.arg);
  expect(Buffer.from(want.key).equals(got.key)).toBe(true);
  if (want.value === null) expect(got.value).toBeNull();
  else expect(got.value !== null && Buffer.from(want.value).equals(got.value)).toBe(true);
}

function ringViews(log: OpLog): RecordViews {
  return recordViews(log.handle().buffer, OpLogHeader.size, log.capacity);
}

function headerF64(log: OpLog): Float64Array {
  return new Float64Array(log.handle().buffer, 0, OpLogHeader.size / 8);
}

/** A record of the given total size (a multiple of 8, at least the header). */
function recOfSize(size: number, r: () => number, seqHint: number): Rec {
  const body = size - RecordHeader.size;
  const keyLen = Math.min(body, 1 + Math.floor(r() * 40));
  const valLen = body - keyLen;
  const key = new Uint8Array(keyLen).map(() => Math.floor(r() * 256));
  const value = new Uint8Array(valLen).map(() => Math.floor(r() * 256));
  return { type: OpType.SET, key, value, expireAt: seqHint * 3, arg: seqHint, flags: seqHint & 0xff };
}

const ALL_TYPES: Rec[] = [
  { type: OpType.SET, key: enc.encode('k'), value: enc.encode('v'), expireAt: 1_700_000_000_123, arg: 0, flags: 0 },
  { type: OpType.DEL, key: enc.encode('gone'), value: null, expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.EXPIRE, key: enc.encode('k'), value: null, expireAt: 1_800_000_000_000, arg: 0, flags: 0 },
  { type: OpType.INCRBY, key: enc.encode('n'), value: enc.encode('-42'), expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.INCRBYFLOAT, key: enc.encode('f'), value: enc.encode('3.0000000000000004'), expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.APPEND, key: enc.encode('s'), value: new Uint8Array(0), expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.SETRANGE, key: enc.encode('s'), value: enc.encode('xyz'), expireAt: 0, arg: 2 ** 29 - 1, flags: 0 },
  { type: OpType.FLUSH, key: new Uint8Array(0), value: null, expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.RENAME, key: enc.encode('from'), value: enc.encode('to'), expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.COPY, key: enc.encode('src'), value: enc.encode('dst'), expireAt: 0, arg: 0, flags: OpFlag.COPY_REPLACE },
  { type: OpType.PERSIST, key: enc.encode('k'), value: null, expireAt: 0, arg: 0, flags: 0 },
  { type: OpType.FLUSHDB, key: new Uint8Array(0), value: null, expireAt: 0, arg: 15, flags: 0 },
];

describe('record codec', () => {
  test('round-trips every record type, null and empty values distinct, zero padding', () => {
    expect(ALL_TYPES.map((r) => r.type).sort((a, b) => a - b)).toEqual(Object.values(OpType).sort((a, b) => a - b));
    const v = recordViews(new ArrayBuffer(4096));
    v.u8.fill(0xee);
    let off = 0;
    ALL_TYPES.forEach((r, i) => {
      const len = encodeRecord(v, off, i + 1, r.type, r.flags, r.key, r.value, r.expireAt, r.arg);
      expect(len).toBe(recordSize(r.key.length, r.value?.length ?? 0));
      expect(len % 8).toBe(0);
      expect(recordLen(v, off)).toBe(len);
      expect(recordType(v, off)).toBe(r.type);
      expect(v.u32[(off >>> 2) + RecordHeader.fields.valLen.index]).toBe(r.value === null ? NO_VALUE : r.value.length);
      const dataEnd = off + RecordHeader.size + r.key.length + (r.value?.length ?? 0);
      expect([...v.u8.subarray(dataEnd, off + len)].every((b) => b === 0)).toBe(true);
      expectRecord(decodeRecord(v, off)!, r, i + 1);
      off += len;
    });
  });

  test('decodeRecord rejects inconsistent headers', () => {
    const v = recordViews(new ArrayBuffer(256));
    const len = encodeRecord(v, 0, 1, OpType.SET, 0, enc.encode('key'), enc.encode('value'), 0, 0);
    expect(decodeRecord(v, 0, len - 8)).toBeNull();
    v.u32[RecordHeader.fields.keyLen.index] = 1000;
    expect(decodeRecord(v, 0)).toBeNull();
  });
});

describe('OpLog', () => {
  test('sizes round up to a power of two, at least 64 KiB', () => {
    expect(OpLog.create({ bytes: 1 }).capacity).toBe(64 * 1024);
    expect(OpLog.create({ bytes: 100_000 }).capacity).toBe(128 * 1024);
    expect(OpLog.create({ bytes: 256 * 1024 }).capacity).toBe(256 * 1024);
    expect(codeOf(() => OpLog.create({ bytes: 0 }))).toBe(ErrorCode.INVALID_ARG);
  });

  test('round-trips every record type through the ring; seqs start at 1', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    expect(rd.seq).toBe(1);
    expect(log.nextSeq).toBe(1);
    ALL_TYPES.forEach((r, i) => expect(log.append(r.type, r.key, r.value, r.expireAt, r.arg, r.flags)).toBe(i + 1));
    const got = rd.poll();
    expect(got).toHaveLength(ALL_TYPES.length);
    got.forEach((g, i) => expectRecord(g, ALL_TYPES[i]!, i + 1));
    expect(rd.seq).toBe(ALL_TYPES.length + 1);
    expect(rd.poll()).toEqual([]);
    // A second thread's view of the same buffer reads the same records.
    const other = OpLog.attach(log.handle()).reader(1).poll();
    other.forEach((g, i) => expectRecord(g, ALL_TYPES[i]!, i + 1));
  });

  test('poll(max) returns at most max records and resumes after them', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    for (let i = 0; i < 10; i++) log.append(OpType.DEL, enc.encode(`k${i}`), null, 0);
    expect(rd.poll(3).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rd.poll(0)).toEqual([]);
    expect(rd.poll().map((r) => r.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
  });

  // Simulates the writer's placement so every record's bytes, and every PAD, are checked in place.
  function lapTest(startPos: number): void {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const cap = log.capacity;
    if (startPos !== 0) {
      const h = headerF64(log);
      h[H.writePos.index] = h[H.pubWritePos.index] = h[H.tailPos.index] = startPos;
    }
    const ring = ringViews(log);
    const scratch = recordViews(new ArrayBuffer(cap));
    const r = rng(0x5eed + startPos);
    const rd = log.reader();
    let pos = startPos;
    let pads = 0;
    let seq = 1;
    const total = 6000;
    while (seq <= total) {
      const batch = 1 + Math.floor(r() * 20);
      const pending: Rec[] = [];
      let batchBytes = 0;
      for (let b = 0; b < batch && seq + b <= total; b++) {
        // Mostly small, sometimes up to the quarter-ring limit.
        const size = r() < 0.05 ? cap / 4 : 8 * (5 + Math.floor(r() * 300));
        // A PAD is shorter than the record it precedes; writers free the tail in steps of up to
        // cap/16 ahead of need: half a ring per poll is never lapped.
        batchBytes += 2 * size;
        if (batchBytes > cap / 2) break;
        const rec = recOfSize(size, r, seq + b);
        const off = pos % cap;
        expect(log.append(rec.type, rec.key, rec.value, rec.expireAt, rec.arg, rec.flags)).toBe(seq + b);
        if (size > cap - off) {
          expect(recordType(ring, off)).toBe(PAD_TYPE);
          expect(recordLen(ring, off)).toBe(cap - off);
          pads++;
          pos += cap - off;
        }
        const at = pos % cap;
        encodeRecord(scratch, 0, seq + b, rec.type, rec.flags, rec.key, rec.value, rec.expireAt, rec.arg);
        expect(Buffer.from(ring.u8.subarray(at, at + size)).equals(scratch.u8.subarray(0, size))).toBe(true);
        pos += size;
        pending.push(rec);
      }
      const got = rd.poll();
      expect(got).toHaveLength(pending.length);
      got.forEach((g, i) => expectRecord(g, pending[i]!, seq + i));
      seq += pending.length;
      expect(rd.seq).toBe(seq);
    }
    expect(log.nextSeq).toBe(total + 1);
    expect(headerF64(log)[H.writePos.index]).toBe(pos);
    const laps = (pos - startPos) / cap;
    expect(laps).toBeGreaterThan(100);
    expect(pads).toBeGreaterThan(100);
  }

  test('wraps over many laps with PAD records; every record intact, seqs contiguous', () => lapTest(0));
  test('positions past 2^32 and near 2^53 keep working', () => {
    lapTest(2 ** 32 - 1000);
    lapTest(2 ** 52 - 64 * 1024 * 3 + 8);
  });

  test('a reader lapped by the writer gets SC_ERR_OPLOG_LAPPED, and keeps getting it', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    const value = new Uint8Array(1000);
    log.append(OpType.SET, enc.encode('first'), value, 0);
    expect(rd.poll()).toHaveLength(1);
    for (let i = 0; i < 70; i++) log.append(OpType.SET, enc.encode(`k${i}`), value, 0);
    expect(codeOf(() => rd.poll())).toBe(ErrorCode.OPLOG_LAPPED);
    expect(codeOf(() => rd.poll())).toBe(ErrorCode.OPLOG_LAPPED);
    expect(codeOf(() => log.reader(1))).toBe(ErrorCode.OPLOG_LAPPED);
    // A fresh reader (after a full resync) starts at the head.
    const fresh = log.reader();
    expect(fresh.seq).toBe(72);
    log.append(OpType.DEL, enc.encode('x'), null, 0);
    expect(fresh.poll().map((r) => r.seq)).toEqual([72]);
  });

  test('reader(fromSeq) resumes from any retained seq (partial resync)', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const value = new Uint8Array(900);
    for (let i = 1; i <= 300; i++) log.append(OpType.SET, enc.encode(`k${i}`), value, 0, i);
    // The ring holds about 65 of these; the oldest are gone.
    expect(codeOf(() => log.reader(200))).toBe(ErrorCode.OPLOG_LAPPED);
    const rd = log.reader(260);
    expect(rd.seq).toBe(260);
    const got = rd.poll();
    expect(got.map((r) => r.arg)).toEqual(Array.from({ length: 41 }, (_, i) => 260 + i));
    expect(log.reader(301).poll()).toEqual([]);
    expect(codeOf(() => log.reader(302))).toBe(ErrorCode.INVALID_ARG);
    expect(codeOf(() => log.reader(0))).toBe(ErrorCode.INVALID_ARG);
  });

  test('rejects a record larger than a quarter of the ring, leaving the ring usable', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    const key = enc.encode('big');
    const fits = new Uint8Array(log.maxRecordBytes - RecordHeader.size - key.length);
    expect(log.append(OpType.SET, key, fits, 0)).toBe(1);
    const tooBig = new Uint8Array(fits.length + 1);
    expect(codeOf(() => log.append(OpType.SET, key, tooBig, 0))).toBe(ErrorCode.INVALID_ARG);
    expect(() => log.append(OpType.SET, key, tooBig, 0)).toThrow(/quarter of the ring/);
    expect(log.nextSeq).toBe(2);
    expect(log.append(OpType.DEL, key, null, 0)).toBe(2); // the lock was released
    expect(rd.poll().map((r) => r.seq)).toEqual([1, 2]);
    expect(codeOf(() => log.append(0 as OpTypeCode, key, null, 0))).toBe(ErrorCode.INVALID_ARG);
  });

  test('records appended under one lock hold are published together at unlock', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    expect(codeOf(() => log.appendLocked(OpType.DEL, enc.encode('a'), null, 0))).toBe(ErrorCode.INVALID_ARG);
    log.lock();
    try {
      expect(log.appendLocked(OpType.RENAME, enc.encode('a'), enc.encode('b'), 0)).toBe(1);
      expect(log.appendLocked(OpType.EXPIRE, enc.encode('b'), null, 123)).toBe(2);
      expect(log.nextSeq).toBe(3);
      expect(OpLog.attach(log.handle()).nextSeq).toBe(1);
      expect(rd.poll()).toEqual([]);
      expect(rd.waitForData(0)).toBe(false);
    } finally {
      log.unlock();
    }
    expect(rd.waitForData(0)).toBe(true);
    expect(rd.poll().map((r) => [r.seq, r.type])).toEqual([
      [1, OpType.RENAME],
      [2, OpType.EXPIRE],
    ]);
  });

  test('waitForData times out without data and returns at once with it', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    const t0 = performance.now();
    expect(rd.waitForData(30)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    log.append(OpType.DEL, enc.encode('k'), null, 0);
    expect(rd.waitForData(10_000)).toBe(true);
  });

  test('attach refuses a buffer with another layout version', () => {
    const log = OpLog.create({ bytes: 64 * 1024 });
    const buffer = log.handle().buffer;
    new Uint32Array(buffer, 0, OpLogHeader.size / 4)[H.layoutVersion.index] = 999;
    expect(codeOf(() => OpLog.attach({ buffer }))).toBe(ErrorCode.INVALID_ARG);
  });

  test('3 worker threads append concurrently; one reader sees contiguous, ordered, untorn records', async () => {
    const WORKERS = 3;
    const COUNT = 20_000;
    const log = OpLog.create({ bytes: 64 * 1024 });
    const rd = log.reader();
    const start = new Int32Array(new SharedArrayBuffer(4));
    const consumed = new Int32Array(new SharedArrayBuffer(4));
    const workers: Worker[] = [];
    const failures: unknown[] = [];
    try {
      for (let id = 0; id < WORKERS; id++) {
        const data: WriterData = { oplogWriter: true, handle: log.handle(), id, count: COUNT, window: 64, start, consumed };
        const w = new Worker(new URL('./oplog-writer.worker.ts', import.meta.url), { workerData: data });
        w.on('error', (e) => failures.push(e));
        workers.push(w);
      }
      const online = workers.map((w) => new Promise((res) => w.once('online', res)));
      await Promise.all(online);
      Atomics.store(start, 0, 1);
      Atomics.notify(start, 0);

      const next = new Array<number>(WORKERS).fill(0);
      let expectSeq = 1;
      const deadline = performance.now() + 60_000;
      while (expectSeq <= WORKERS * COUNT && performance.now() < deadline && failures.length === 0) {
        if (!rd.waitForData(50)) {
          await new Promise((res) => setImmediate(res)); // lets worker 'error' events arrive
          continue;
        }
        for (const rec of rd.poll()) {
          expect(rec.seq).toBe(expectSeq++);
          const id = rec.flags;
          const i = rec.arg;
          expect(i).toBe(next[id]);
          next[id]!++;
          expect(rec.key.toString()).toBe(`w${id}:${i}`);
          const body = payload(id, i);
          const v = rec.value!;
          expect(v.length).toBe(body.length + 4);
          expect(v.subarray(0, body.length).equals(body)).toBe(true);
          expect(v.readUInt32LE(body.length)).toBe(checksum(rec.key, v.subarray(0, body.length)));
        }
        Atomics.store(consumed, 0, rd.seq - 1);
        Atomics.notify(consumed, 0);
      }
      expect(failures).toEqual([]);
      expect(next).toEqual(new Array(WORKERS).fill(COUNT));
      expect(rd.seq).toBe(WORKERS * COUNT + 1);
      // 60k records of ~300 bytes through a 64 KiB ring: it wrapped many times under contention.
      expect(headerF64(log)[H.writePos.index] / log.capacity).toBeGreaterThan(50);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 90_000);
});
