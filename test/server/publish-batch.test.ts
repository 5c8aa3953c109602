/**
 * The byte form PUBLISHes take between workers (src/server/publish-batch.ts): what goes in comes
 * out, in order, byte for byte, including empty and binary channels and messages, across the
 * builder's growth and after take() starts it over; an SPUBLISH keeps its mark and its place
 * among PUBLISHes.
 */
import { describe, expect, it } from 'vitest';
import { forEachPublish, PublishBatch } from '../../src/server/publish-batch.ts';

function decode(data: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  forEachPublish(data, (ch, msg) => out.push([ch.toString('latin1'), msg.toString('latin1')]));
  return out;
}

describe('PublishBatch', () => {
  it('round-trips pairs in order, empty and binary ones included, past the initial buffer', () => {
    const b = new PublishBatch();
    const pairs: [string, string][] = [['news', 'hello'], ['', ''], ['\x00\r\n\xff', 'x'.repeat(10_000)]];
    for (let i = 0; i < 500; i++) pairs.push([`ch:${i}`, `m${i}`]);
    for (const [c, m] of pairs) b.add(Buffer.from(c, 'latin1'), Buffer.from(m, 'latin1'));
    const data = b.take();
    // Its own ArrayBuffer, exactly sized: structured clone copies no more than the pairs.
    expect(data.byteOffset).toBe(0);
    expect(data.buffer.byteLength).toBe(data.byteLength);
    expect(decode(data)).toEqual(pairs);
  });

  it('marks SPUBLISH messages and keeps them in order among PUBLISH messages, long channels too', () => {
    const b = new PublishBatch();
    const sent: [string, string, boolean][] = [];
    for (let i = 0; i < 200; i++) sent.push([i % 50 === 0 ? 'c'.repeat(70_000 + i) : `ch:${i % 3}`, `m${i}`, i % 3 === 1]);
    for (const [c, m, shard] of sent) b.add(Buffer.from(c, 'latin1'), Buffer.from(m, 'latin1'), shard);
    const got: [string, string, boolean][] = [];
    forEachPublish(b.take(), (ch, msg, shard) => got.push([ch.toString('latin1'), msg.toString('latin1'), shard]));
    expect(got).toEqual(sent);
  });

  it('starts over after take(); an empty batch decodes to nothing', () => {
    const b = new PublishBatch();
    b.add(Buffer.from('a'), Buffer.from('1'));
    expect(decode(b.take())).toEqual([['a', '1']]);
    expect(decode(b.take())).toEqual([]);
    b.add(Buffer.from('b'), Buffer.from('2'));
    expect(decode(b.take())).toEqual([['b', '2']]);
  });

  it('reads channels out of a view into a larger buffer', () => {
    const b = new PublishBatch();
    b.add(Buffer.from('c'), Buffer.from('m'));
    const data = b.take();
    const padded = new Uint8Array(data.length + 8);
    padded.set(data, 4);
    expect(decode(padded.subarray(4, 4 + data.length))).toEqual([['c', 'm']]);
  });
});
