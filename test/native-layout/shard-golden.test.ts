/**
 * Golden values for the persisted and shared numbers of the shard layout. A change here without a
 * LAYOUT_VERSION bump would let two builds disagree about the same bytes; ids are append-only.
 */
import { describe, expect, it } from 'vitest';
import * as L from '../../native-layout/shard.ts';
import type { Struct } from '../../native-layout/struct.ts';

function render(S: Struct<string>): string {
  return `${S.name} size=${S.size} ` + S.order.map((f) => `${f.name}@${f.offset}${f.count > 1 ? `x${f.count}` : ''}`).join(' ');
}

describe('native-layout/shard.ts golden values', () => {
  it('layout version 8 has exactly these offsets', () => {
    expect(L.LAYOUT_VERSION).toBe(8);
    expect(render(L.ShardHeader)).toBe(
      'ShardHeader size=15808 lock@0 lockOwner@4 generation@64 policy@68 indexCap@72 ghostCap@76 count@80 volatileCount@84 arenaPages@88 pagesInUse@92 freeRunHead@96 maxEntries@100 sieveHand@104 smallCount@108 ghostSeq@112 lfuLogFactor@116 lfuDecayTime@120 rng@124 evictMode@128 expireCursor@132 classCount@136 flushEpoch@140 maxBytes@144 startupBytes@152 hits@192 misses@200 expired@208 evicted@216 lists@256x512 classSize@2304x62 classFree@2552x62 classChunks@2800x62 classLive@3048x62 dbKeys@3328x16 dbVolatile@3392x16 watchers@3456 writeSeq@3460 watchSlotsUsed@3464 watchTable@3520x3072',
    );
    expect(render(L.ItemHeader)).toBe('ItemHeader size=32 prev@0 next@4 keyInfo@8 valInfo@12 meta@16 hash@20 expireAt@24');
    expect(render(L.PageHeader)).toBe('PageHeader size=16 classId@0 live@4 runPages@8 nextFree@12');
    expect(render(L.GhostSlot)).toBe('GhostSlot size=8 hash@0 seq@4');
    expect(render(L.WatchSlot)).toBe('WatchSlot size=12 word@0 refs@4 version@8');
    expect(Object.values(L.KeyInfo).map((b) => `${b.name}:${b.shift}/${b.bits}`)).toEqual(['len:0/28', 'db:28/4']);
    expect(Object.values(L.ValInfo).map((b) => `${b.name}:${b.shift}/${b.bits}`)).toEqual(['len:0/30', 'encoding:30/2']);
    expect(Object.values(L.ItemMeta).map((b) => `${b.name}:${b.shift}/${b.bits}`)).toEqual(['classId:0/6', 'state:6/1', 'spare:7/1', 'policy:8/8', 'ldt:16/16']);
    expect(L.TagBits).toEqual({ hash: 0x7f, ttl: 0x80 });
  });

  it('constants', () => {
    expect([L.PAGE_SIZE, L.REF_UNIT, L.NIL_REF, L.NIL_PAGE, L.SLAB_MIN_CHUNK, L.SLAB_GROWTH_FACTOR, L.SLAB_CLASS_MAX, L.CLASS_LARGE, L.LIST_COUNT, L.PAGE_FREE]).toEqual([
      65536, 8, 0, 0xffffffff, 48, 1.25, 62, 63, 256, 0xfe,
    ]);
    expect([L.MAX_KEY_LEN, L.MAX_DATABASES, L.WATCH_SLOTS, L.WATCH_PROBES]).toEqual([2 ** 28 - 1, 16, 1024, 32]);
    expect([L.CHUNK_FREE, L.CHUNK_LIVE, L.S3_FREQ_MASK, L.S3_IN_MAIN, L.LIST_MAIN, L.LIST_SMALL]).toEqual([0, 1, 3, 4, 0, 1]);
  });

  it('policy ids, evict modes and value encodings are append-only', () => {
    expect(L.PolicyId).toEqual({ lru: 1, lfu: 2, fifo: 3, sieve: 4, s3fifo: 5, lruSeconds: 6 });
    expect(L.ValueEncoding).toEqual({ auto: 0, raw: 1, string: 2, unshared: 3 });
    expect(L.EvictMode).toEqual({ policy: 0, volatile: 1, volatileTtl: 2, random: 3, volatileRandom: 4, noeviction: 5 });
  });

  it('the lock word sits alone on its cache line and the counters on their own', () => {
    const f = L.ShardHeader.fields;
    expect(f.lock.offset % 64).toBe(0);
    expect(f.generation.offset).toBe(64);
    expect(f.hits.offset % 64).toBe(0);
    expect(Math.floor(f.evicted.offset / 64)).toBe(Math.floor(f.hits.offset / 64));
    expect(f.lists.offset % 64).toBe(0);
  });
});
