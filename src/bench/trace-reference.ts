/**
 * Reference miss counts for the traces in shared/traces, transcribed from its README: exact LRU
 * and exact FIFO, every request a get, a miss inserts, cold misses count, capacity in objects,
 * C1 = floor(unique/100) and C10 = floor(unique/10). Kept as code so that hit-ratio checks do
 * not depend on parsing a third-party document at run time (the tests do compare the two).
 */

export interface TraceReference {
  /** Path under shared/traces without suffixes, as `listTraces` names it. */
  trace: string;
  requests: number;
  unique: number;
  c1: number;
  lru1: number;
  fifo1: number;
  c10: number;
  lru10: number;
  fifo10: number;
}

const ROWS: readonly TraceReference[] = [
  { trace: 'arc/OLTP', requests: 914_145, unique: 186_880, c1: 1_868, lru1: 533_560, fifo1: 579_696, c10: 18_688, lru10: 306_044, fifo10: 335_108 },
  { trace: 'lirs/sprite', requests: 133_996, unique: 7_075, c1: 70, lru1: 112_114, fifo1: 111_271, c10: 707, lru10: 18_121, fifo10: 24_169 },
  { trace: 'lirs/multi2', requests: 26_311, unique: 5_684, c1: 56, lru1: 25_387, fifo1: 25_493, c10: 568, lru10: 16_596, fifo10: 18_473 },
  { trace: 'lirs/gli', requests: 6_015, unique: 2_529, c1: 25, lru1: 5_961, fifo1: 5_961, c10: 252, lru10: 5_960, fifo10: 5_960 },
  { trace: 'lirs/ps', requests: 10_448, unique: 3_083, c1: 30, lru1: 9_687, fifo1: 9_698, c10: 308, lru10: 8_742, fifo10: 9_174 },
  { trace: 'lirs/2_pools', requests: 100_000, unique: 9_939, c1: 99, lru1: 78_231, fifo1: 80_790, c10: 993, lru10: 45_622, fifo10: 50_106 },
  { trace: 'cache2k/web07', requests: 76_118, unique: 20_484, c1: 204, lru1: 46_321, fifo1: 48_504, c10: 2_048, lru10: 33_747, fifo10: 35_686 },
  { trace: 'cache2k/web12', requests: 95_607, unique: 13_756, c1: 137, lru1: 57_653, fifo1: 59_633, c10: 1_375, lru10: 30_133, fifo10: 33_907 },
  { trace: 'cache2k/orm-busy', requests: 5_000_000, unique: 76_349, c1: 763, lru1: 1_148_302, fifo1: 1_203_050, c10: 7_634, lru10: 599_636, fifo10: 660_600 },
  { trace: 'scarab/scarab-recs', requests: 1_245_184, unique: 258_368, c1: 2_583, lru1: 813_012, fifo1: 848_780, c10: 25_836, lru10: 490_638, fifo10: 534_307 },
  { trace: 'libcachesim/cloudPhysicsIO', requests: 113_872, unique: 48_974, c1: 489, lru1: 95_420, fifo1: 96_518, c10: 4_897, lru10: 91_657, fifo10: 91_716 },
];

/** The README's table, one row per trace, in its order. Each call returns fresh copies. */
export function referenceTable(): TraceReference[] {
  return ROWS.map((r) => ({ ...r }));
}

/** Extra exact-LRU miss counts for arc/OLTP at other capacities, from the same README. */
export const OLTP_LRU_MISSES: Readonly<Record<number, number>> = {
  1000: 614_023,
  2000: 525_910,
  5000: 423_702,
  10000: 359_239,
  15000: 323_294,
  1024: 610_480,
  2048: 523_098,
  4096: 445_733,
};
