/**
 * The MULTI queue (src/server/tx-queue.ts): commands read back byte for byte however the queue
 * grew, and the shards of their keys found from the spec's key positions without views.
 */
import { describe, expect, it } from 'vitest';
import { TxQueue } from '../../src/server/tx-queue.ts';
import { lookupCommand } from '../../src/server/commands/table.ts';
import { hash32, shardOf } from '../../src/store/hash.ts';

const spec = (name: string) => lookupCommand(Buffer.from(name))!;
const args = (...a: (string | Buffer)[]) => a.map((x) => (typeof x === 'string' ? Buffer.from(x) : x));

describe('TxQueue', () => {
  it('gives back every queued command, its spec and its exact bytes, across growth of every buffer', () => {
    // Empty, binary and 64 KiB arguments, and commands of up to 39 arguments.
    const command = (i: number): Buffer[] =>
      i % 7 === 0
        ? args('SET', `k${i}`, Buffer.alloc(i === 0 ? 65536 : i % 300, i & 255))
        : i % 5 === 0
          ? args('MSET', ...Array.from({ length: 38 }, (_, j) => (j % 2 === 0 ? `m${i}:${j}` : '')))
          : args('INCR', Buffer.from([0, 13, 10, i & 255]));
    const q = new TxQueue();
    for (let i = 0; i < 3000; i++) {
      const argv = command(i);
      q.push(spec(argv[0]!.toString()), argv);
      // The caller's buffers are the parser's, overwritten by its next read.
      for (const a of argv) a.fill(0x21);
    }
    expect(q.length).toBe(3000);
    for (let i = 0; i < q.length; i++) {
      const want = command(i);
      expect(q.spec(i).name).toBe(want[0]!.toString().toLowerCase());
      expect(q.argv(i)).toEqual(want);
    }
  });

  it('finds the shard of every key by the spec key positions, as hashing the key itself does', () => {
    const q = new TxQueue();
    q.push(spec('MSET'), args('MSET', 'a', '1', 'b', '2', 'c', '3'));
    q.push(spec('DEL'), args('DEL', 'x', 'y', 'z'));
    q.push(spec('PING'), args('PING'));
    q.push(spec('GET'), args('GET', 'only'));
    const mask = 15;
    const shardsOf = (i: number) => {
      const ids: number[] = [];
      q.keyShards(i, mask, ids);
      return ids;
    };
    const expected = (...keys: string[]) => keys.map((k) => shardOf(hash32(Buffer.from(k)), mask));
    expect(shardsOf(0)).toEqual(expected('a', 'b', 'c'));
    expect(shardsOf(1)).toEqual(expected('x', 'y', 'z'));
    expect(shardsOf(2)).toEqual([]);
    expect(shardsOf(3)).toEqual(expected('only'));
  });
});
