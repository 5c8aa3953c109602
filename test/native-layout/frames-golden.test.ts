/**
 * Pins the binary protocol's wire layout. If this fails you changed a header field, a constant,
 * an opcode or a flag: clients and servers of other versions would misread frames. Bump
 * FRAME_LAYOUT_VERSION and update the numbers here in the same change; never renumber an opcode.
 */
import { describe, expect, test } from 'vitest';
import {
  Entry,
  FRAME_LAYOUT_VERSION,
  FRAME_MAGIC,
  FrameFlag,
  FrameHeader,
  LOADED_MAGIC,
  LoadedValueHeader,
  MAX_FRAME_BYTES,
  NIL_LEN,
  Opcode,
  PUSH_REQUEST_ID,
} from '../../native-layout/frames.ts';
import type { Struct } from '../../native-layout/struct.ts';

function offsets(s: Struct<string>): Record<string, [type: string, offset: number]> {
  return Object.fromEntries(s.order.map((f) => [f.name, [f.type, f.offset]]));
}

describe('binary frame layout golden values', () => {
  test('version and constants', () => {
    expect(FRAME_LAYOUT_VERSION).toBe(1);
    expect(FRAME_MAGIC).toBe(0xb1);
    expect(MAX_FRAME_BYTES).toBe(512 * 1024 * 1024 + 64 * 1024);
    expect(PUSH_REQUEST_ID).toBe(0);
    expect(NIL_LEN).toBe(0xffffffff);
    expect(LOADED_MAGIC).toBe(0xb7);
  });

  test('the magic byte can never start a RESP request', () => {
    // RESP requests start with '*' (multibulk) or a printable ASCII inline command.
    expect(FRAME_MAGIC).not.toBe(0x2a);
    expect(FRAME_MAGIC).toBeGreaterThan(0x7e);
  });

  test('every opcode number', () => {
    expect(Opcode).toEqual({
      PING: 1,
      AUTH: 2,
      INFO: 3,
      GET: 4,
      SET: 5,
      DELETE: 6,
      EXISTS: 7,
      INCR: 8,
      MGET: 9,
      MSET: 10,
      EXPIRE: 11,
      TTL: 12,
      PUBLISH: 13,
      SUBSCRIBE: 14,
      UNSUBSCRIBE: 15,
      TRACK: 16,
      UNLOCK: 17,
      INVALIDATE: 0x40,
      MESSAGE: 0x41,
      REPLY: 0x80,
      ERROR: 0x81,
    });
  });

  test('flags', () => {
    expect(FrameFlag).toEqual({ NIL: 1, TRACK: 2, ALL: 4, OFF: 8 });
  });

  test('FrameHeader', () => {
    expect(offsets(FrameHeader)).toEqual({
      magic: ['u8', 0],
      opcode: ['u8', 1],
      flags: ['u16', 2],
      length: ['u32', 4],
      requestId: ['u32', 8],
      keyLen: ['u32', 12],
      metaLen: ['u32', 16],
      count: ['u32', 20],
    });
    expect(FrameHeader.size).toBe(24);
  });

  test('Entry', () => {
    expect(offsets(Entry)).toEqual({ len: ['u32', 0] });
    expect(Entry.size).toBe(4);
  });

  test('LoadedValueHeader', () => {
    expect(offsets(LoadedValueHeader)).toEqual({
      magic: ['u8', 0],
      version: ['u8', 1],
      reserved: ['u16', 2],
      computeMs: ['u32', 4],
      softExpireAt: ['f64', 8],
    });
    expect(LoadedValueHeader.size).toBe(16);
  });
});
