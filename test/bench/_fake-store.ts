/**
 * Exact LRU/FIFO stand-in for the real store, used to check the trace readers against the
 * README's reference counts independently of the store's own (possibly approximate) policies.
 * A Map iterates in insertion order, so its first key is the LRU (or oldest) entry.
 */

import type { ReplayStore, ReplayStoreOptions } from '../../src/bench/hitratio.ts';

export class FakeStore implements ReplayStore {
  private readonly map = new Map<bigint, Buffer>();
  private readonly lru: boolean;
  private readonly max: number;

  constructor(opts: ReplayStoreOptions) {
    if (opts.policy !== 'lru' && opts.policy !== 'fifo') throw new Error(`FakeStore has no ${opts.policy} policy`);
    if (opts.shards !== 1) throw new Error('FakeStore is a single exact cache: shards must be 1');
    this.lru = opts.policy === 'lru';
    this.max = opts.maxEntries;
  }

  private id(key: Uint8Array): bigint {
    if (key.length !== 8) throw new Error(`expected 8-byte keys, got ${key.length}`);
    return new DataView(key.buffer, key.byteOffset, 8).getBigUint64(0);
  }

  get(key: Uint8Array): Buffer | null {
    const k = this.id(key);
    const v = this.map.get(k);
    if (v === undefined) return null;
    if (this.lru) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }

  set(key: Uint8Array, value: Uint8Array): boolean {
    const k = this.id(key);
    if (this.map.has(k)) {
      // An update refreshes recency under LRU but keeps a FIFO entry's place in line.
      if (this.lru) this.map.delete(k);
    } else if (this.map.size >= this.max) {
      this.map.delete(this.map.keys().next().value!);
    }
    this.map.set(k, Buffer.from(value));
    return true;
  }

  close(): void {
    this.map.clear();
  }

  get size(): number {
    return this.map.size;
  }
}

export const fakeStoreFactory = (opts: ReplayStoreOptions): FakeStore => new FakeStore(opts);
