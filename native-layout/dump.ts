/**
 * The DUMP payload, Redis's serialisation of one value (cluster.c dumpCommand, rdb.c): the value
 * in RDB encoding, then a footer of the RDB version (u16, little-endian) and a CRC-64 (Jones,
 * reflected, as Redis's crc64.c) of everything before the checksum (u64, little-endian).
 * RESTORE accepts a payload of any RDB version up to the one written here, as Redis 7.0 does.
 * These numbers are Redis's and never change here.
 */

/** The RDB version Redis 7.0 writes, and the highest RESTORE accepts. */
export const DUMP_RDB_VERSION = 10;

/** Footer: the version (2 bytes), then the checksum (8 bytes). */
export const DUMP_FOOTER_BYTES = 10;

/** RDB object type of a string (the only type this server stores). */
export const RDB_TYPE_STRING = 0;

/**
 * A length's first byte, by its top two bits (rdb.h RDB_6BITLEN … RDB_ENCVAL): a 6-bit length;
 * a 14-bit length with the next byte; RDB_32BITLEN or RDB_64BITLEN (big-endian after it); or an
 * encoded string, its kind in the low six bits.
 */
export const RDB_LEN_6BIT = 0;
export const RDB_LEN_14BIT = 1;
export const RDB_LEN_32BIT = 0x80;
export const RDB_LEN_64BIT = 0x81;
export const RDB_ENCVAL = 3;

/** Encoded strings (rdb.h RDB_ENC_*): integers of 1, 2 and 4 bytes (little-endian), and LZF. */
export const RDB_ENC_INT8 = 0;
export const RDB_ENC_INT16 = 1;
export const RDB_ENC_INT32 = 2;
export const RDB_ENC_LZF = 3;
