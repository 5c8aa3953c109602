/**
 * The commands a client queued since MULTI, held apart from the JS heap: each command's resolved
 * spec, and its arguments' bytes in one growing buffer, with their offsets in a typed array.
 * Argument views are made only when EXEC runs a command, and die with it.
 *
 * A queue of objects (an argv array and a view per argument) outlives many young-generation
 * collections while a long MULTI is read in, and each collection copies all of it again: with
 * 10,000 queued SETs, a quarter of the worker's time went to the scavenger.
 */
import { Buffer } from 'node:buffer';
import { copyInto } from '../bytes.ts';
import { hash32, shardOf } from '../store/hash.ts';
import { lastKeyIndex } from './commands/types.ts';
import type { CommandSpec } from './commands/types.ts';

const EMPTY = Buffer.alloc(0);

export class TxQueue {
  /** Each command's spec as the central checks resolved it (a subcommand's own). */
  private readonly specs: CommandSpec[] = [];
  /** Command i's arguments are pairs first[i] … first[i + 1] - 1 of `offs` (first has length + 1 entries). */
  private readonly first: number[] = [0];
  /**
   * Start and length in `bytes` of each argument, in pairs. Arrays of numbers, not objects: a
   * collection copies each as one block.
   */
  private readonly offs: number[] = [];
  private bytes = EMPTY;
  private used = 0;

  get length(): number {
    return this.specs.length;
  }

  /** Bytes of the queued commands' arguments (CLIENT LIST multi-mem). */
  get argBytes(): number {
    return this.used;
  }

  spec(i: number): CommandSpec {
    return this.specs[i]!;
  }

  /** Queues a command, copying its arguments, which the parser's next read would overwrite. */
  push(spec: CommandSpec, argv: readonly Uint8Array[]): void {
    let size = 0;
    for (const a of argv) size += a.length;
    if (this.used + size > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.used + size, 256));
      if (this.used > 0) this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    for (const a of argv) {
      copyInto(this.bytes, this.used, a, 0, a.length);
      this.offs.push(this.used, a.length);
      this.used += a.length;
    }
    this.specs.push(spec);
    this.first.push(this.offs.length / 2);
  }

  /** Command i's arguments, as fresh views of the queue's bytes (valid while the queue lives). */
  argv(i: number): Buffer[] {
    const from = this.first[i]!;
    const out: Buffer[] = new Array(this.first[i + 1]! - from);
    for (let k = 0; k < out.length; k++) {
      const at = this.offs[2 * (from + k)]!;
      out[k] = this.bytes.subarray(at, at + this.offs[2 * (from + k) + 1]!);
    }
    return out;
  }

  /**
   * Appends to `ids` the shard (of `shardMask + 1`) of each key command i names by its spec's
   * key positions, with no view made.
   */
  keyShards(i: number, shardMask: number, ids: number[]): void {
    const s = this.specs[i]!;
    if (s.firstKey <= 0) return;
    const from = this.first[i]!;
    const argc = this.first[i + 1]! - from;
    const last = lastKeyIndex(s, argc);
    for (let k = s.firstKey; k <= last && k < argc; k += s.step) {
      const p = 2 * (from + k);
      ids.push(shardOf(hash32(this.bytes, this.offs[p]!, this.offs[p + 1]!), shardMask));
    }
  }
}
