/**
 * PUBLISHes of one turn on their way to the other workers, as one byte string: each message is
 * [u32 channel word][channel][u32 message length][message], little-endian, where the channel word
 * is the channel's length with SHARD_BIT set for an SPUBLISH (a bulk is at most 512 MB, so the
 * bit is free). PUBLISH and SPUBLISH share the batch so their order survives. One ArrayBuffer
 * crosses the bus per batch instead of two per message, and the receiver reads channel and
 * message as views of it, without copies.
 */
import { Buffer } from 'node:buffer';

/** Set in the channel word of an SPUBLISH's message. */
const SHARD_BIT = 0x80000000;

/** Appends channel/message pairs; take() hands out the bytes, exactly sized, and starts over. */
export class PublishBatch {
  private buf = Buffer.allocUnsafe(4096);
  private len = 0;

  add(channel: Uint8Array, message: Uint8Array, shard = false): void {
    this.ensure(8 + channel.length + message.length);
    this.put(channel, shard ? SHARD_BIT : 0);
    this.put(message, 0);
  }

  /** A copy of the bytes in an ArrayBuffer of their own (what structured clone then copies). */
  take(): Uint8Array {
    const out = new Uint8Array(this.len);
    out.set(this.buf.subarray(0, this.len));
    this.len = 0;
    return out;
  }

  private put(b: Uint8Array, bits: number): void {
    this.buf.writeUInt32LE((b.length | bits) >>> 0, this.len);
    this.buf.set(b, this.len + 4);
    this.len += 4 + b.length;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
}

/** Calls `fn(channel, message, shard)` for each message of a PublishBatch's bytes, in order. */
export function forEachPublish(data: Uint8Array, fn: (channel: Buffer, message: Buffer, shard: boolean) => void): void {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at < b.length) {
    const word = b.readUInt32LE(at);
    const cl = (word & ~SHARD_BIT) >>> 0;
    const channel = b.subarray(at + 4, at + 4 + cl);
    at += 4 + cl;
    const ml = b.readUInt32LE(at);
    const message = b.subarray(at + 4, at + 4 + ml);
    at += 4 + ml;
    fn(channel, message, (word & SHARD_BIT) !== 0);
  }
}
