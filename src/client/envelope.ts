/**
 * The header getOrLoad puts before a loaded value (LoadedValueHeader in native-layout/frames.ts):
 * the loader's duration and the soft expiry. Values without it (written by set() or another
 * client) are returned as they are, always fresh.
 */
import { Buffer } from 'node:buffer';
import { FRAME_LAYOUT_VERSION, LOADED_MAGIC, LoadedValueHeader } from '../../native-layout/frames.ts';

const L = LoadedValueHeader.fields;
export const LOADED_HEADER_SIZE = LoadedValueHeader.size;

export interface Loaded {
  computeMs: number;
  softExpireAt: number;
  payload: Buffer;
}

export function encodeLoaded(payload: Uint8Array, computeMs: number, softExpireAt: number): Buffer {
  const b = Buffer.allocUnsafe(LOADED_HEADER_SIZE + payload.length);
  b[L.magic.offset] = LOADED_MAGIC;
  b[L.version.offset] = FRAME_LAYOUT_VERSION;
  b.writeUInt16LE(0, L.reserved.offset);
  b.writeUInt32LE(Math.min(0xffffffff, Math.max(0, Math.round(computeMs))), L.computeMs.offset);
  b.writeDoubleLE(softExpireAt, L.softExpireAt.offset);
  b.set(payload, LOADED_HEADER_SIZE);
  return b;
}

export function decodeLoaded(b: Buffer): Loaded | null {
  if (b.length < LOADED_HEADER_SIZE || b[L.magic.offset] !== LOADED_MAGIC || b[L.version.offset] !== FRAME_LAYOUT_VERSION) return null;
  return {
    computeMs: b.readUInt32LE(L.computeMs.offset),
    softExpireAt: b.readDoubleLE(L.softExpireAt.offset),
    payload: b.subarray(LOADED_HEADER_SIZE),
  };
}

/**
 * XFetch (Vattani, Chierichetti & Lowenstein, "Optimal Probabilistic Cache Stampede Prevention"):
 * refresh early with a probability that rises as expiry nears and with the cost of a reload.
 */
export function shouldRefreshEarly(now: number, v: Loaded, beta: number): boolean {
  if (beta <= 0 || v.computeMs === 0) return false;
  return now - v.computeMs * beta * Math.log(Math.random()) >= v.softExpireAt;
}

/** A TTL shortened by up to `jitter` of itself, so keys loaded together do not expire together. */
export function jittered(ttlMs: number, jitter: number): number {
  if (jitter <= 0) return ttlMs;
  return Math.max(1, Math.round(ttlMs * (1 - jitter * Math.random())));
}
