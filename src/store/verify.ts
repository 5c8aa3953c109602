/**
 * Structural invariants of a shard, checked from the outside: a test calls these after every
 * operation so that a broken link, a leaked chunk or a miscounted header field is reported at the
 * step that caused it rather than as a wrong answer many steps later.
 *
 * Every field is read through ShardMemory accessors and the HW names, so the checks follow the
 * layout in native-layout/shard.ts. Each check throws an Error naming the shard, the structure and
 * the refs involved. Nothing is modified; the caller holds the shard lock (verifyShardLocked) or
 * lets verifyStore take each lock in turn.
 */
import {
  CHUNK_FREE,
  CHUNK_LIVE,
  CLASS_LARGE,
  LIST_COUNT,
  LIST_MAIN,
  LIST_SMALL,
  MAX_DATABASES,
  NIL_PAGE,
  NIL_REF,
  PAGE_FREE,
  PAGE_SIZE,
  PolicyId,
  REF_UNIT,
  S3_FREQ_MASK,
  S3_IN_MAIN,
  SLAB_CLASS_MAX,
} from '../../native-layout/shard.ts';
import { hash32 } from './hash.ts';
import { findSlot, slotTag } from './index-table.ts';
import { HW, ITEM_HEADER_BYTES, PAGE_HEADER_BYTES, ShardMemory } from './memory.ts';
import { listOf } from './policy.ts';
import type { Shard } from './shard.ts';
import type { Store } from './store.ts';

// Layout constants used in the per-chunk and per-slot loops, copied once: under vitest's module
// transform each use of an imported binding is a getter call, which made these checks several
// times slower than under plain node and they run after every step of the model tests.
const NIL = NIL_REF;
const FREE = CHUNK_FREE;
const REFS_PER_PAGE = PAGE_SIZE / REF_UNIT;
const FIRST_REF_OFFSET = PAGE_HEADER_BYTES / REF_UNIT;
if (ShardMemory.pageOf(REFS_PER_PAGE + FIRST_REF_OFFSET) !== 1 || ShardMemory.firstRef(1) !== REFS_PER_PAGE + FIRST_REF_OFFSET) {
  throw new Error('verify.ts: page arithmetic disagrees with ShardMemory.pageOf / firstRef');
}

/** Page ownership marks while walking the arena. */
const OWN_NONE = 0;
const OWN_FREE = 1;
const OWN_SLAB = 2;
const OWN_RUN = 3;

export function verifyStore(store: Store): void {
  for (const s of store.shards) {
    s.lock();
    try {
      verifyShardLocked(s);
    } finally {
      s.unlock();
    }
  }
}

export function verifyShardLocked(s: Shard): void {
  const m = s.m;
  const h = m.h32;
  const fail = (what: string): never => {
    throw new Error(`shard ${s.id}: ${what}`);
  };
  if (m.seenGeneration !== h[HW.generation]) fail(`views are stale: generation ${h[HW.generation]} but views built for ${m.seenGeneration}`);

  const policy = h[HW.policy]!;
  const lists = LIST_COUNT;
  const count = h[HW.count]!;
  const arenaPages = h[HW.arenaPages]!;
  const refLimit = (arenaPages * PAGE_SIZE) / REF_UNIT;
  const classCount = h[HW.classCount]!;
  if (classCount < 1 || classCount > SLAB_CLASS_MAX) fail(`classCount ${classCount} out of range`);
  const classSize = (c: number): number => h[HW.classSize + c]!;
  for (let c = 1; c < classCount; c++) {
    if (classSize(c) <= classSize(c - 1)) fail(`class sizes not ascending at class ${c}: ${classSize(c - 1)} then ${classSize(c)}`);
  }
  for (let c = 0; c < classCount; c++) {
    if (classSize(c) % REF_UNIT !== 0) fail(`class ${c} size ${classSize(c)} is not a multiple of ${REF_UNIT}`);
  }
  const perPage = (c: number): number => Math.floor((PAGE_SIZE - PAGE_HEADER_BYTES) / classSize(c));

  /** Where an item or chunk ref may legally sit, given the page it is in. */
  const checkPlacement = (r: number, what: string): void => {
    if (r <= 0 || r >= refLimit) fail(`${what}: ref ${r} outside the arena (${arenaPages} pages)`);
    const p = ShardMemory.pageOf(r);
    const c = m.classId(r);
    const pc = m.pageClass(p);
    const first = ShardMemory.firstRef(p);
    if (c === CLASS_LARGE) {
      if (pc !== CLASS_LARGE) fail(`${what}: ref ${r} is a large item but page ${p} has class ${pc}`);
      if (r !== first) fail(`${what}: large item ref ${r} is not at the start of page ${p}`);
      return;
    }
    if (c >= classCount) fail(`${what}: ref ${r} has class ${c} >= classCount ${classCount}`);
    if (pc !== c) fail(`${what}: ref ${r} has class ${c} but page ${p} has class ${pc}`);
    const step = classSize(c) / REF_UNIT;
    const k = (r - first) / step;
    if (!Number.isInteger(k) || k < 0 || k >= perPage(c)) fail(`${what}: ref ${r} is not a chunk boundary of class ${c} in page ${p}`);
  };

  // ---- policy lists -----------------------------------------------------------------------------
  const listed = new Set<number>();
  const listLen = new Array<number>(lists).fill(0);
  let volatile = 0;
  const dbKeys = new Array<number>(MAX_DATABASES).fill(0);
  const dbVolatile = new Array<number>(MAX_DATABASES).fill(0);
  for (let list = 0; list < lists; list++) {
    const head = m.head(list);
    const tail = m.tail(list);
    if ((head === NIL) !== (tail === NIL)) fail(`list ${list}: head ${head} and tail ${tail} disagree on emptiness`);
    let prev = NIL;
    for (let r = head; r !== NIL; prev = r, r = m.next(r)) {
      const what = `list ${list} item ${r}`;
      // A ref seen before means a cycle or an item linked into two lists.
      if (listed.has(r)) fail(`${what}: seen twice (cycle or on two lists)`);
      if (listed.size > count) fail(`list ${list}: more items linked than count ${count}`);
      checkPlacement(r, what);
      listed.add(r);
      if (m.prev(r) !== prev) fail(`${what}: prev is ${m.prev(r)}, expected ${prev}`);
      if (m.state(r) !== CHUNK_LIVE) fail(`${what}: state ${m.state(r)} is not CHUNK_LIVE`);
      const want = listOf(m, r);
      if (want !== list) fail(`${what}: listOf says list ${want}`);
      listLen[list]!++;
      const db = m.keyDb(r);
      if (db >= MAX_DATABASES) fail(`${what}: database ${db}`);
      dbKeys[db]!++;
      if (m.expireAt(r) !== 0) {
        volatile++;
        dbVolatile[db]!++;
      }
      checkItem(r, what);
    }
    if (prev !== tail) fail(`list ${list}: walk from head ends at ${prev} but tail is ${tail}`);
  }
  if (listed.size !== count) fail(`lists hold ${listed.size} items but count is ${count}`);
  if (volatile !== h[HW.volatileCount]) fail(`${volatile} items have an expiry but volatileCount is ${h[HW.volatileCount]}`);
  for (let d = 0; d < MAX_DATABASES; d++) {
    if (dbKeys[d] !== h[HW.dbKeys + d]) fail(`database ${d} holds ${dbKeys[d]} items but dbKeys is ${h[HW.dbKeys + d]}`);
    if (dbVolatile[d] !== h[HW.dbVolatile + d]) fail(`database ${d} has ${dbVolatile[d]} items with an expiry but dbVolatile is ${h[HW.dbVolatile + d]}`);
  }

  function checkItem(r: number, what: string): void {
    const bytes = ITEM_HEADER_BYTES + m.keyLen(r) + m.valLen(r);
    const room = m.classId(r) === CLASS_LARGE ? m.pageRun(ShardMemory.pageOf(r)) * PAGE_SIZE - PAGE_HEADER_BYTES : classSize(m.classId(r));
    if (bytes > room) fail(`${what}: ${bytes} bytes do not fit its ${room}-byte chunk`);
    const ko = m.keyOffset(r);
    if (hash32(m.a8, ko, m.keyLen(r)) !== m.hash(r)) fail(`${what}: stored hash ${m.hash(r)} is not the key's hash`);
    const e = m.expireAt(r);
    if (!(e >= 0) || !Number.isFinite(e)) fail(`${what}: expireAt ${e} is not a time`);
    const bits = m.policyBits(r);
    if (policy === PolicyId.sieve && bits > 1) fail(`${what}: SIEVE visited bits ${bits}`);
    if (policy === PolicyId.s3fifo && (bits & ~(S3_FREQ_MASK | S3_IN_MAIN)) !== 0) fail(`${what}: S3-FIFO policy bits ${bits}`);
    if ((policy === PolicyId.lru || policy === PolicyId.lruSeconds || policy === PolicyId.fifo) && bits !== 0) fail(`${what}: policy bits ${bits} under a policy that keeps none`);
  }

  const usesList = (list: number): boolean =>
    policy === PolicyId.lfu || list === LIST_MAIN || (policy === PolicyId.s3fifo && list === LIST_SMALL);
  for (let list = 0; list < lists; list++) {
    if (listLen[list] !== 0 && !usesList(list)) fail(`list ${list} holds ${listLen[list]} items but policy ${policy} does not use it`);
  }
  const small = h[HW.smallCount]!;
  const wantSmall = policy === PolicyId.s3fifo ? listLen[LIST_SMALL]! : 0;
  if (small !== wantSmall) fail(`smallCount ${small} but the small queue holds ${wantSmall}`);
  const hand = h[HW.sieveHand]!;
  if (hand !== NIL) {
    if (policy !== PolicyId.sieve) fail(`sieveHand ${hand} set under policy ${policy}`);
    if (!listed.has(hand)) fail(`sieveHand ${hand} is not a listed item`);
  }

  // ---- index ------------------------------------------------------------------------------------
  const cap = h[HW.indexCap]!;
  if (cap === 0 || (cap & (cap - 1)) !== 0) fail(`indexCap ${cap} is not a power of two`);
  if (m.refs.length !== cap || m.tags.length !== cap) fail(`index views hold ${m.refs.length} slots, indexCap is ${cap}`);
  const gcap = h[HW.ghostCap]!;
  const wantG = policy === PolicyId.s3fifo ? cap : 0;
  if (gcap !== wantG) fail(`ghostCap ${gcap}, expected ${wantG}`);
  const mask = cap - 1;
  const indexed = new Set<number>();
  for (let i = 0; i < cap; i++) {
    const r = m.refs[i]!;
    const tag = m.tags[i]!;
    if (r === NIL) {
      if (tag !== 0) fail(`index slot ${i} is empty but has tag ${tag}`);
      continue;
    }
    const what = `index slot ${i} ref ${r}`;
    if (!listed.has(r)) fail(`${what}: not a listed live item`);
    if (indexed.has(r)) fail(`${what}: indexed twice`);
    indexed.add(r);
    const hh = m.hash(r);
    const want = slotTag(m, r, hh);
    if (tag !== want) fail(`${what}: tag ${tag}, expected ${want} (expireAt ${m.expireAt(r)})`);
    for (let j = hh & mask; j !== i; j = (j + 1) & mask) {
      if (m.refs[j] === NIL) fail(`${what}: empty slot ${j} between its home ${hh & mask} and its slot`);
    }
    const ko = m.keyOffset(r);
    // findSlot returns the first match on the probe path, so a duplicate (db, key) fails here too.
    const found = findSlot(m, m.a8.subarray(ko, ko + m.keyLen(r)), hh, m.keyDb(r));
    if (found !== i) fail(`${what}: findSlot finds its key at ${found}`);
  }
  if (indexed.size !== count) fail(`${indexed.size} occupied index slots but count is ${count}`);
  if (count * 4 > cap * 3) fail(`index over 3/4 full: ${count} of ${cap}`);

  // ---- arena ------------------------------------------------------------------------------------
  if (m.a8.length !== arenaPages * PAGE_SIZE) fail(`arena view is ${m.a8.length} bytes for ${arenaPages} pages`);
  if (m.buffers.arena.byteLength < arenaPages * PAGE_SIZE) fail(`arena buffer is smaller than ${arenaPages} pages`);
  const own = new Uint8Array(arenaPages);
  let freeRuns = 0;
  for (let p = h[HW.freeRunHead]!; p !== NIL_PAGE; p = m.pageNextFree(p)) {
    if (++freeRuns > arenaPages) fail('free run list has a cycle');
    if (p >= arenaPages) fail(`free run at page ${p} is outside the arena (${arenaPages} pages)`);
    if (m.pageClass(p) !== PAGE_FREE) fail(`free run at page ${p} has class ${m.pageClass(p)}`);
    const run = m.pageRun(p);
    if (run < 1 || p + run > arenaPages) fail(`free run at page ${p} has bad length ${run}`);
    for (let q = p; q < p + run; q++) {
      if (own[q] !== OWN_NONE) fail(`page ${q} is in two free runs`);
      own[q] = OWN_FREE;
    }
  }

  // Chunks are counted per page rather than visited one by one: a page's chunks are all accounted
  // for when its live items (from the lists) plus its free-list entries (each checked to be a
  // distinct, aligned, free chunk of that page) add up to the chunks it holds. Any other chunk is
  // one that was leaked. A pointer chase that meets a chunk twice loops forever, so a bound on the
  // walk stands in for a seen-set, which would cost more than the walk after every model step.
  const freeInPage = new Int32Array(arenaPages);
  const freeOfClass = new Array<number>(classCount).fill(0);
  for (let c = 0; c < classCount; c++) {
    let prev = NIL;
    const limit = Math.min(h[HW.classChunks + c]!, arenaPages * perPage(c));
    const step = classSize(c) / REF_UNIT;
    const n = perPage(c);
    let walked = 0;
    for (let r = h[HW.classFree + c]!; r !== NIL; prev = r, r = m.next(r)) {
      if (walked >= limit) fail(`class ${c}: free list longer than its ${limit} chunks (cycle?)`);
      if (m.state(r) !== FREE) fail(`class ${c} free chunk ${r}: state ${m.state(r)} is not CHUNK_FREE`);
      if (m.classId(r) !== c) fail(`class ${c} free chunk ${r}: chunk class ${m.classId(r)}`);
      if (r <= 0 || r >= refLimit) fail(`class ${c} free chunk ${r}: outside the arena (${arenaPages} pages)`);
      const p = Math.floor(r / REFS_PER_PAGE);
      if (m.pageClass(p) !== c) fail(`class ${c} free chunk ${r}: page ${p} has class ${m.pageClass(p)}`);
      const k = (r - p * REFS_PER_PAGE - FIRST_REF_OFFSET) / step;
      if (k < 0 || k >= n || k !== Math.floor(k)) fail(`class ${c} free chunk ${r}: not a chunk boundary in page ${p}`);
      if (m.prev(r) !== prev) fail(`class ${c} free chunk ${r}: prev is ${m.prev(r)}, expected ${prev}`);
      freeInPage[p]!++;
      walked++;
    }
    freeOfClass[c] = walked;
  }
  const liveInPage = new Int32Array(arenaPages);
  for (const r of listed) liveInPage[ShardMemory.pageOf(r)]!++;

  let slabPages = 0;
  let runPages = 0;
  let liveInPages = 0;
  const pagesOf = new Array<number>(classCount).fill(0);
  const liveOf = new Array<number>(classCount).fill(0);
  const freeSeen = new Array<number>(classCount).fill(0);
  for (let p = 0; p < arenaPages; ) {
    if (own[p] === OWN_FREE) {
      p++;
      continue;
    }
    const pc = m.pageClass(p);
    if (pc === CLASS_LARGE) {
      const run = m.pageRun(p);
      if (run < 1 || p + run > arenaPages) fail(`item run at page ${p} has bad length ${run}`);
      for (let q = p; q < p + run; q++) {
        if (own[q] !== OWN_NONE) fail(`item run at page ${p} overlaps page ${q}, already owned (${own[q]})`);
        own[q] = OWN_RUN;
      }
      const r = ShardMemory.firstRef(p);
      if (m.pageLive(p) !== 1) fail(`item run at page ${p}: live ${m.pageLive(p)}, expected 1`);
      if (m.state(r) !== CHUNK_LIVE || m.classId(r) !== CLASS_LARGE) fail(`item run at page ${p}: item ${r} is not a live large item`);
      if (!listed.has(r)) fail(`item run at page ${p}: item ${r} is not on a policy list`);
      runPages += run;
      liveInPages++;
      p += run;
      continue;
    }
    if (pc >= classCount) fail(`page ${p} is neither free nor owned: class ${pc}`);
    if (m.pageRun(p) !== 1) fail(`slab page ${p} has run length ${m.pageRun(p)}`);
    own[p] = OWN_SLAB;
    const live = liveInPage[p]!;
    const free = freeInPage[p]!;
    const n = perPage(pc);
    if (live + free !== n) fail(`slab page ${p} (class ${pc}): ${live} live + ${free} on the free list of its ${n} chunks; the rest leaked`);
    freeSeen[pc]! += free;
    if (m.pageLive(p) !== live) fail(`slab page ${p}: live ${m.pageLive(p)} but ${live} live chunks`);
    if (live === 0) fail(`slab page ${p} has no live chunk but was not returned to the pool`);
    pagesOf[pc]!++;
    liveOf[pc]! += live;
    liveInPages += live;
    slabPages++;
    p++;
  }
  if (slabPages + runPages !== h[HW.pagesInUse]) fail(`pagesInUse ${h[HW.pagesInUse]} but ${slabPages} slab pages + ${runPages} run pages`);
  if (liveInPages !== count) fail(`${liveInPages} live items in the arena but count is ${count}`);
  for (let c = 0; c < classCount; c++) {
    if (freeSeen[c] !== freeOfClass[c]) fail(`class ${c}: free list holds ${freeOfClass[c]} chunks but its pages have ${freeSeen[c]} free`);
    if (h[HW.classLive + c] !== liveOf[c]) fail(`class ${c}: classLive ${h[HW.classLive + c]} but ${liveOf[c]} live chunks`);
    const chunks = pagesOf[c]! * perPage(c);
    if (h[HW.classChunks + c] !== chunks) fail(`class ${c}: classChunks ${h[HW.classChunks + c]} but ${pagesOf[c]} pages hold ${chunks}`);
  }
  for (let c = classCount; c < SLAB_CLASS_MAX; c++) {
    if (h[HW.classFree + c] !== NIL || h[HW.classLive + c] !== 0 || h[HW.classChunks + c] !== 0) fail(`unused class ${c} has state`);
  }
}
