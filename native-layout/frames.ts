/**
 * Wire layout of the binary protocol, declared with the same struct() vocabulary as the memory
 * layout so a field cannot move without the golden test noticing.
 *
 * A connection speaks RESP or this protocol, decided by its first byte: FRAME_MAGIC is not '*'
 * and not printable ASCII, so it can never start a RESP request (multibulk or inline).
 *
 * Every frame, in both directions, is a FrameHeader followed by a body of
 *   [ key: keyLen bytes ][ meta: metaLen bytes ][ value: the rest ]
 * `meta` is msgpackr (SET options, INFO, errors); key and value are raw bytes. Multi-key bodies
 * (MGET, MSET, INVALIDATE) put `count` entries in the value region, each an Entry followed by its
 * bytes. All integers on the wire are little-endian, whatever the host.
 *
 * Bodies per opcode (request → REPLY):
 *   PING         value: optional payload              → value: the same payload
 *   AUTH         value: password                      → empty
 *   INFO         -                                     → meta: msgpackr object
 *   GET          key; flag TRACK                       → value, or flag NIL
 *   SET          key, meta: SetOptions?, value         → count 1 written / 0 not (NX/XX); with
 *                                                        options.get: the old value or NIL
 *   DELETE       key                                   → count: keys removed
 *   EXISTS       key                                   → count
 *   INCR         key, value: i64 delta                 → value: i64 result
 *   MGET         count keys as entries; flag TRACK     → count entries (NIL_LEN for a miss)
 *   MSET         count pairs as 2·count entries        → count
 *   EXPIRE       key, value: i64 relative ms           → count 1 set / 0 no such key
 *   TTL          key                                   → value: i64 ms, -1 no expiry, -2 missing
 *   PUBLISH      key: channel, value: message          → count: receivers
 *   SUBSCRIBE    key: channel                          → count: this connection's subscriptions
 *   UNSUBSCRIBE  key: channel, empty for all           → count
 *   TRACK        flag OFF to stop                      → empty
 *   UNLOCK       key, value: token                     → count 1 if the key held token and was deleted
 * Server pushes carry request id 0:
 *   INVALIDATE   count keys as entries; flag ALL (count 0) when everything changed
 *   MESSAGE      key: channel, value: message
 * A failed request gets ERROR with its request id and meta {code, message}. A frame that breaks
 * the framing (bad magic, impossible lengths, too large, cut short) gets ERROR and the connection
 * closes after it.
 */
import { struct } from './struct.ts';

/** Bumped on any change to a struct below, a constant in this file or an opcode/flag number. */
export const FRAME_LAYOUT_VERSION = 1;

/** First byte of every frame: high nibble 0xB marks the protocol, low nibble is its version. */
export const FRAME_MAGIC = 0xb0 | FRAME_LAYOUT_VERSION;

/**
 * The largest frame either side accepts, header included: Redis's proto-max-bulk-len (512 MiB)
 * plus room for the key and options. A header announcing more is refused before its body arrives.
 */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024 + 64 * 1024;

/** Request id of server pushes (INVALIDATE, MESSAGE); clients number requests from 1. */
export const PUSH_REQUEST_ID = 0;

/** Entry.len of a missing value in an MGET reply. */
export const NIL_LEN = 0xffffffff;

const WIRE = 'none: per-connection bytes, little-endian';

export const FrameHeader = struct('FrameHeader', [
  { name: 'magic', type: 'u8', guard: WIRE, doc: 'FRAME_MAGIC; anything else is a protocol error' },
  { name: 'opcode', type: 'u8', guard: WIRE, doc: 'Opcode' },
  { name: 'flags', type: 'u16', guard: WIRE, doc: 'FrameFlag bits' },
  { name: 'length', type: 'u32', guard: WIRE, doc: 'whole frame bytes, header included; at most MAX_FRAME_BYTES' },
  { name: 'requestId', type: 'u32', guard: WIRE, doc: 'chosen by the client, echoed by the reply; PUSH_REQUEST_ID on pushes' },
  { name: 'keyLen', type: 'u32', guard: WIRE, doc: 'key bytes at the start of the body' },
  { name: 'metaLen', type: 'u32', guard: WIRE, doc: 'msgpackr bytes after the key' },
  { name: 'count', type: 'u32', guard: WIRE, doc: 'entries in the value region (multi-key ops), or a count in replies' },
]);

/** Prefix of each entry of a multi-key body. */
export const Entry = struct('Entry', [
  { name: 'len', type: 'u32', guard: WIRE, doc: 'bytes that follow, or NIL_LEN for a missing value' },
]);

/** Operation numbers. Append-only: clients and servers of different versions must agree. */
export const Opcode = {
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
  // Server pushes.
  INVALIDATE: 0x40,
  MESSAGE: 0x41,
  // Reply statuses.
  REPLY: 0x80,
  ERROR: 0x81,
} as const;
export type OpcodeValue = (typeof Opcode)[keyof typeof Opcode];

/** FrameHeader.flags bits. Append-only. */
export const FrameFlag = {
  /** Reply: the value is absent (GET miss, SET GET of a missing key). */
  NIL: 1,
  /** GET/MGET: remember the keys for this connection's invalidations (TRACK must be on). */
  TRACK: 2,
  /** INVALIDATE: everything changed (FLUSHALL); drop every cached key. */
  ALL: 4,
  /** TRACK: turn invalidations off. */
  OFF: 8,
} as const;

/**
 * Header of a value written by the client's getOrLoad, before the encoded payload. It carries
 * what XFetch needs to refresh early (the recompute time) and the soft expiry that separates a
 * fresh value from a stale one still served while somebody reloads it. It crosses processes
 * through the cache, so it is a layout like any other.
 */
export const LOADED_MAGIC = 0xb7;
export const LoadedValueHeader = struct('LoadedValueHeader', [
  { name: 'magic', type: 'u8', guard: WIRE, doc: 'LOADED_MAGIC' },
  { name: 'version', type: 'u8', guard: WIRE, doc: 'FRAME_LAYOUT_VERSION of the writer' },
  { name: 'reserved', type: 'u16', guard: WIRE, doc: 'zero' },
  { name: 'computeMs', type: 'u32', guard: WIRE, doc: 'how long the loader took, ms (XFetch delta)' },
  { name: 'softExpireAt', type: 'f64', guard: WIRE, doc: 'Unix ms after which the value is stale; the key itself lives longer' },
]);
