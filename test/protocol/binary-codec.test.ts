import { describe, expect, test } from 'vitest';
import { Entry, FRAME_MAGIC, FrameFlag, FrameHeader, MAX_FRAME_BYTES, Opcode } from '../../native-layout/frames.ts';
import {
  encodeEntries,
  encodeFrame,
  FrameError,
  FrameParser,
  FrameWriter,
  frameEntries,
  frameKey,
  frameMeta,
  frameValue,
  HEADER_SIZE,
  NEED_MORE,
  newFrame,
  WireErrorCode,
} from '../../src/protocol/binary/codec.ts';
import type { Frame } from '../../src/protocol/binary/codec.ts';

interface Seen {
  opcode: number;
  flags: number;
  requestId: number;
  count: number;
  key: string;
  meta: string;
  value: string;
}

function drain(p: FrameParser): (Seen | FrameError)[] {
  const out: (Seen | FrameError)[] = [];
  const f = newFrame();
  for (;;) {
    const r = p.next(f);
    if (r === NEED_MORE) return out;
    if (r instanceof FrameError) {
      out.push(r);
      return out;
    }
    out.push({ opcode: r.opcode, flags: r.flags, requestId: r.requestId, count: r.count, key: frameKey(r).toString(), meta: frameMeta(r).toString(), value: frameValue(r).toString() });
  }
}

const sample = [
  encodeFrame(Opcode.SET, 0, 1, { key: Buffer.from('user:1'), meta: Buffer.from('MM'), value: Buffer.from('hello world') }),
  encodeFrame(Opcode.GET, FrameFlag.TRACK, 2, { key: Buffer.from('user:1') }),
  encodeFrame(Opcode.PING, 0, 0xffffffff),
  encodeFrame(Opcode.MGET, 0, 3, { value: encodeEntries([Buffer.from('a'), Buffer.from('bc')]), count: 2 }),
];
const expected: Seen[] = [
  { opcode: Opcode.SET, flags: 0, requestId: 1, count: 0, key: 'user:1', meta: 'MM', value: 'hello world' },
  { opcode: Opcode.GET, flags: FrameFlag.TRACK, requestId: 2, count: 0, key: 'user:1', meta: '', value: '' },
  { opcode: Opcode.PING, flags: 0, requestId: 0xffffffff, count: 0, key: '', meta: '', value: '' },
  { opcode: Opcode.MGET, flags: 0, requestId: 3, count: 2, key: '', meta: '', value: '\u0001\u0000\u0000\u0000a\u0002\u0000\u0000\u0000bc' },
];

describe('frame codec', () => {
  test('the header is little-endian at the layout offsets', () => {
    const b = encodeFrame(Opcode.SET, FrameFlag.NIL, 0x01020304, { key: Buffer.from('k'), meta: Buffer.from('mm'), value: Buffer.from('vvv'), count: 7 });
    const F = FrameHeader.fields;
    expect(b.length).toBe(HEADER_SIZE + 6);
    expect(b[F.magic.offset]).toBe(FRAME_MAGIC);
    expect(b[F.opcode.offset]).toBe(Opcode.SET);
    expect(b.readUInt16LE(F.flags.offset)).toBe(FrameFlag.NIL);
    expect(b.readUInt32LE(F.length.offset)).toBe(b.length);
    expect(b.readUInt32LE(F.requestId.offset)).toBe(0x01020304);
    expect(b.readUInt32LE(F.keyLen.offset)).toBe(1);
    expect(b.readUInt32LE(F.metaLen.offset)).toBe(2);
    expect(b.readUInt32LE(F.count.offset)).toBe(7);
    expect(b.subarray(HEADER_SIZE).toString()).toBe('kmmvvv');
  });

  test('frames in one chunk', () => {
    const p = new FrameParser();
    p.push(Buffer.concat(sample));
    expect(drain(p)).toEqual(expected);
    expect(p.pending).toBe(0);
  });

  test('a stream split at every byte boundary parses the same', () => {
    const all = Buffer.concat(sample);
    for (let cut = 1; cut < all.length; cut++) {
      const p = new FrameParser();
      p.push(all.subarray(0, cut));
      const first = drain(p);
      p.push(all.subarray(cut));
      expect([...first, ...drain(p)]).toEqual(expected);
    }
  });

  test('one byte at a time', () => {
    const all = Buffer.concat(sample);
    const p = new FrameParser();
    const got: (Seen | FrameError)[] = [];
    for (const byte of all) {
      p.push(Buffer.from([byte]));
      got.push(...drain(p));
    }
    expect(got).toEqual(expected);
  });

  test('a value larger than the initial buffer', () => {
    const big = Buffer.alloc(100_000, 0x61);
    const p = new FrameParser();
    const frame = encodeFrame(Opcode.SET, 0, 9, { key: Buffer.from('k'), value: big });
    for (let i = 0; i < frame.length; i += 7000) p.push(frame.subarray(i, i + 7000));
    const [r] = drain(p) as Seen[];
    expect(r!.value.length).toBe(100_000);
  });

  test('entries', () => {
    const f: Frame = newFrame();
    const p = new FrameParser();
    p.push(encodeFrame(Opcode.REPLY, 0, 1, { value: encodeEntries([Buffer.from('x'), null, Buffer.alloc(0)]), count: 3 }));
    expect(p.next(f)).toBe(f);
    expect(frameEntries(f, true)!.map((e) => (e === null ? null : e.toString()))).toEqual(['x', null, '']);
    expect(frameEntries(f, false)).toBeNull(); // NIL where not allowed
    f.count = 4;
    expect(frameEntries(f, true)).toBeNull(); // overruns the region
    f.count = 2;
    expect(frameEntries(f, true)).toBeNull(); // leaves bytes over
    expect(Entry.size).toBe(4);
  });

  test('bad magic is an error as soon as the first byte arrives', () => {
    const p = new FrameParser();
    p.push(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    const r = p.next(newFrame());
    expect(r).toBeInstanceOf(FrameError);
    expect((r as FrameError).code).toBe(WireErrorCode.PROTOCOL);
    expect((r as FrameError).message).toMatch(/bad frame magic 0x2a/);
  });

  test('an oversized frame is refused from its header, before any body', () => {
    const p = new FrameParser(1024);
    const head = encodeFrame(Opcode.SET, 0, 5, { value: Buffer.alloc(2000) }).subarray(0, HEADER_SIZE);
    p.push(head);
    const r = p.next(newFrame()) as FrameError;
    expect(r.code).toBe(WireErrorCode.FRAME_TOO_LARGE);
    expect(r.requestId).toBe(5);
    expect(r.message).toMatch(/2024 bytes exceeds the limit of 1024/);
    const q = new FrameParser();
    const h = Buffer.alloc(8);
    h[0] = FRAME_MAGIC;
    h.writeUInt32LE(0xffffffff, 4);
    q.push(h);
    expect((q.next(newFrame()) as FrameError).code).toBe(WireErrorCode.FRAME_TOO_LARGE);
    expect(MAX_FRAME_BYTES).toBeLessThan(0xffffffff);
  });

  test('impossible lengths are protocol errors', () => {
    const short = encodeFrame(Opcode.PING, 0, 1);
    short.writeUInt32LE(10, FrameHeader.fields.length.offset);
    const p = new FrameParser();
    p.push(short);
    expect((p.next(newFrame()) as FrameError).message).toMatch(/shorter than the 24-byte header/);

    const overrun = encodeFrame(Opcode.SET, 0, 1, { key: Buffer.from('k'), value: Buffer.from('v') });
    overrun.writeUInt32LE(50, FrameHeader.fields.keyLen.offset);
    const q = new FrameParser();
    q.push(overrun);
    const e = q.next(newFrame()) as FrameError;
    expect(e.code).toBe(WireErrorCode.PROTOCOL);
    expect(e.message).toMatch(/overrun/);
  });

  test('partialFrameLength reports a frame cut short', () => {
    const p = new FrameParser();
    const f = encodeFrame(Opcode.SET, 0, 1, { key: Buffer.from('k'), value: Buffer.alloc(100) });
    p.push(f.subarray(0, 30));
    expect(p.next(newFrame())).toBe(NEED_MORE);
    expect(p.pending).toBe(30);
    expect(p.partialFrameLength).toBe(f.length);
  });

  test('writer: begin/parts/end, abort, growth', () => {
    const w = new FrameWriter(16);
    w.begin(Opcode.REPLY, 0, 4);
    w.keyDone();
    w.metaDone();
    w.i64(-5n);
    w.end();
    w.begin(Opcode.REPLY, 0, 5);
    w.bytes(Buffer.from('dropped'));
    w.abort();
    w.frame(Opcode.REPLY, 0, 6, Buffer.from('k'), null, Buffer.alloc(5000, 1), 1);
    const p = new FrameParser();
    p.push(w.take());
    const f = newFrame();
    expect((p.next(f) as Frame).requestId).toBe(4);
    expect(f.buf.readBigInt64LE(f.valOff)).toBe(-5n);
    expect((p.next(f) as Frame).requestId).toBe(6);
    expect(f.valLen).toBe(5000);
    expect(p.next(f)).toBe(NEED_MORE);
    expect(w.len).toBe(0);
  });
});
