/**
 * The binary protocol for the benchmark load generator (src/bench/loadgen-worker.ts Codec):
 * GET/SET request templates with the key at a fixed offset, and a reply counter that reads only
 * frame headers (length and opcode) and skips bodies.
 */
import { Buffer } from 'node:buffer';
import { FrameHeader, Opcode } from '../../../native-layout/frames.ts';
import type { Codec, ReplyReader, RequestTemplate } from '../../bench/loadgen-worker.ts';
import { encodeFrame, HEADER_SIZE } from './codec.ts';

const LENGTH_AT = FrameHeader.fields.length.offset;
const OPCODE_AT = FrameHeader.fields.opcode.offset;

function template(frame: Buffer): RequestTemplate {
  // The key is the first thing in the body.
  return { bytes: frame, keyOffset: HEADER_SIZE };
}

class FrameCounter implements ReplyReader {
  errors = 0;
  /** Header bytes gathered for the frame being read. */
  private readonly head = Buffer.alloc(HEADER_SIZE);
  private have = 0;
  /** Body bytes still to skip. */
  private skip = 0;

  feed(b: Uint8Array): number {
    let done = 0;
    let i = 0;
    while (i < b.length) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, b.length - i);
        this.skip -= k;
        i += k;
        if (this.skip === 0) done++;
        continue;
      }
      const k = Math.min(HEADER_SIZE - this.have, b.length - i);
      this.head.set(b.subarray(i, i + k), this.have);
      this.have += k;
      i += k;
      if (this.have < HEADER_SIZE) break;
      this.have = 0;
      if (this.head[OPCODE_AT] === Opcode.ERROR) this.errors++;
      this.skip = this.head.readUInt32LE(LENGTH_AT) - HEADER_SIZE;
      if (this.skip === 0) done++;
    }
    return done;
  }
}

export const codec: Codec = {
  name: 'binary',
  getTemplate: (key) => template(encodeFrame(Opcode.GET, 0, 1, { key })),
  setTemplate: (key, value) => template(encodeFrame(Opcode.SET, 0, 1, { key, value })),
  createReader: () => new FrameCounter(),
};
