/**
 * Pins the op-log layout. If this fails you changed a field, a constant or a type number: bump
 * OPLOG_LAYOUT_VERSION and update the numbers here in the same change.
 */
import { describe, expect, test } from 'vitest';
import { NO_VALUE, OPLOG_LAYOUT_VERSION, OpFlag, OpLogHeader, OpType, PAD_TYPE, RECORD_ALIGN, RecordHeader } from '../../native-layout/oplog.ts';
import type { Struct } from '../../native-layout/struct.ts';

function offsets(s: Struct<string>): Record<string, [type: string, offset: number]> {
  return Object.fromEntries(s.order.map((f) => [f.name, [f.type, f.offset]]));
}

describe('op-log layout golden values', () => {
  test('version and constants', () => {
    expect(OPLOG_LAYOUT_VERSION).toBe(1);
    expect(RECORD_ALIGN).toBe(8);
    expect(NO_VALUE).toBe(0xffffffff);
    expect(PAD_TYPE).toBe(0);
    expect(OpFlag).toEqual({ COPY_REPLACE: 1 });
  });

  test('OpType numbers', () => {
    expect(OpType).toEqual({
      SET: 1,
      DEL: 2,
      EXPIRE: 3,
      INCRBY: 4,
      INCRBYFLOAT: 5,
      APPEND: 6,
      SETRANGE: 7,
      FLUSH: 8,
      RENAME: 9,
      COPY: 10,
      PERSIST: 11,
      FLUSHDB: 12,
    });
  });

  test('OpLogHeader', () => {
    expect(offsets(OpLogHeader)).toEqual({
      lock: ['i32', 0],
      layoutVersion: ['u32', 64],
      capacity: ['u32', 68],
      writePos: ['f64', 72],
      nextSeq: ['f64', 80],
      pubGen: ['i32', 128],
      waiters: ['i32', 132],
      pubWritePos: ['f64', 136],
      pubNextSeq: ['f64', 144],
      tailPos: ['f64', 152],
      tailSeq: ['f64', 160],
    });
    expect(OpLogHeader.size).toBe(192);
  });

  test('RecordHeader', () => {
    expect(offsets(RecordHeader)).toEqual({
      len: ['u32', 0],
      type: ['u8', 4],
      flags: ['u8', 5],
      db: ['u16', 6],
      keyLen: ['u32', 8],
      valLen: ['u32', 12],
      seq: ['f64', 16],
      expireAt: ['f64', 24],
      arg: ['f64', 32],
    });
    expect(RecordHeader.size).toBe(40);
    expect(RecordHeader.align).toBe(8);
  });
});
