/**
 * Pins the DUMP payload numbers: they are Redis's (rdb.h, RDB version 10 of Redis 7.0), so a
 * change here breaks DUMP and RESTORE against Redis.
 */
import { expect, test } from 'vitest';
import * as dump from '../../native-layout/dump.ts';

test('DUMP payload constants', () => {
  expect({ ...dump }).toEqual({
    DUMP_RDB_VERSION: 10,
    DUMP_FOOTER_BYTES: 10,
    RDB_TYPE_STRING: 0,
    RDB_LEN_6BIT: 0,
    RDB_LEN_14BIT: 1,
    RDB_LEN_32BIT: 0x80,
    RDB_LEN_64BIT: 0x81,
    RDB_ENCVAL: 3,
    RDB_ENC_INT8: 0,
    RDB_ENC_INT16: 1,
    RDB_ENC_INT32: 2,
    RDB_ENC_LZF: 3,
  });
});
