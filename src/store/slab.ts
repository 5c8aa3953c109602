/**
 * The arena allocator: pages, page runs and slab classes (memcached's scheme).
 *
 * Pages come from a first-fit list of free runs, or from growing the arena buffer. A slab class
 * takes one page and carves it into equal chunks on a doubly linked free list; when the last live
 * chunk of a page is freed, its chunks leave the free list and the page returns to the pool, so
 * memory freed by eviction in one class can serve another. Items larger than the biggest class take
 * a run of whole pages.
 *
 * All functions assume the shard lock is held.
 */
import {
  CHUNK_FREE,
  CHUNK_LIVE,
  CLASS_LARGE,
  indexLayout,
  NIL_PAGE,
  NIL_REF,
  PAGE_FREE,
  PAGE_SIZE,
  REF_UNIT,
  ShardHeader,
  SLAB_CLASS_MAX,
  SLAB_MIN_CHUNK,
} from '../../native-layout/shard.ts';
import { HF, HW, PAGE_HEADER_BYTES, ShardMemory } from './memory.ts';

/** Pages added per arena growth at least: fewer grow calls, and untouched pages cost no RSS. */
const GROW_PAGES = 16;
const PAGE_PAYLOAD = PAGE_SIZE - PAGE_HEADER_BYTES;

/** Chunk sizes from SLAB_MIN_CHUNK, growing by `factor`, 8-byte aligned, ending at a page payload. */
export function slabClassSizes(factor: number): number[] {
  const sizes: number[] = [];
  let s = SLAB_MIN_CHUNK;
  while (s < PAGE_PAYLOAD && sizes.length < SLAB_CLASS_MAX - 1) {
    sizes.push(s);
    s = Math.ceil((s * factor) / REF_UNIT) * REF_UNIT;
  }
  sizes.push(Math.floor(PAGE_PAYLOAD / REF_UNIT) * REF_UNIT);
  return sizes;
}

export function initSlabs(m: ShardMemory, factor: number): void {
  const sizes = slabClassSizes(factor);
  if (sizes[sizes.length - 2]! < PAGE_PAYLOAD / 2) throw new Error(`slab growth factor ${factor} is too small for ${SLAB_CLASS_MAX} classes`);
  const h = m.h32;
  h[HW.classCount] = sizes.length;
  for (let c = 0; c < sizes.length; c++) {
    h[HW.classSize + c] = sizes[c]!;
    h[HW.classFree + c] = NIL_REF;
  }
  h[HW.freeRunHead] = NIL_PAGE;
}

/** The class whose chunks hold `bytes`, or CLASS_LARGE. */
export function classFor(m: ShardMemory, bytes: number): number {
  const h = m.h32;
  const n = h[HW.classCount]!;
  if (bytes > h[HW.classSize + n - 1]!) return CLASS_LARGE;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (h[HW.classSize + mid]! >= bytes) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function runPagesFor(bytes: number): number {
  return Math.ceil((bytes + PAGE_HEADER_BYTES) / PAGE_SIZE);
}

/** Bytes an item occupies in the arena (its chunk, or its page run). */
export function chunkBytes(m: ShardMemory, r: number): number {
  const c = m.classId(r);
  return c === CLASS_LARGE ? m.pageRun(ShardMemory.pageOf(r)) * PAGE_SIZE : m.h32[HW.classSize + c]!;
}

/** Bytes item r may fill from its start, header included: its chunk, or its run less the run's page header. */
export function itemCapacity(m: ShardMemory, r: number): number {
  return m.classId(r) === CLASS_LARGE ? chunkBytes(m, r) - PAGE_HEADER_BYTES : chunkBytes(m, r);
}

export function indexBytes(m: ShardMemory): number {
  return indexLayout(m.h32[HW.indexCap]!, m.h32[HW.ghostCap]!).bytes;
}

/** What the shard holds besides its pages: the header and the index (used_memory_overhead). */
export function fixedBytes(m: ShardMemory): number {
  return ShardHeader.size + indexBytes(m);
}

/** Everything the shard has allocated: header, index, and pages owned by classes or runs. */
export function usedBytes(m: ShardMemory): number {
  return fixedBytes(m) + m.h32[HW.pagesInUse]! * PAGE_SIZE;
}

/** Bytes of the chunks that slab classes own but no item fills. */
export function freeChunkBytes(m: ShardMemory): number {
  const h = m.h32;
  let n = 0;
  for (let c = 0; c < h[HW.classCount]!; c++) n += (h[HW.classChunks + c]! - h[HW.classLive + c]!) * h[HW.classSize + c]!;
  return n;
}

function withinLimit(m: ShardMemory, extraPages: number): boolean {
  const max = m.hf64[HF.maxBytes]!;
  return max === 0 || usedBytes(m) + extraPages * PAGE_SIZE <= max;
}

function pushFreeRun(m: ShardMemory, p: number, pages: number): void {
  m.setPageClass(p, PAGE_FREE);
  m.setPageLive(p, 0);
  m.setPageRun(p, pages);
  m.setPageNextFree(p, m.h32[HW.freeRunHead]!);
  m.h32[HW.freeRunHead] = p;
}

/**
 * Merges free runs that are adjacent in the arena and relinks them in page order; returns whether
 * any merged. Runs are pushed one by one as pages are released, so without this a bounded arena
 * whose pages are all free could still hold no run long enough for a large item.
 */
function coalesceFreeRuns(m: ShardMemory): boolean {
  const h = m.h32;
  const runs: number[] = [];
  for (let p = h[HW.freeRunHead]!; p !== NIL_PAGE; p = m.pageNextFree(p)) runs.push(p);
  runs.sort((a, b) => a - b);
  const kept: number[] = [];
  for (const p of runs) {
    const last = kept.length === 0 ? NIL_PAGE : kept[kept.length - 1]!;
    if (last !== NIL_PAGE && last + m.pageRun(last) === p) m.setPageRun(last, m.pageRun(last) + m.pageRun(p));
    else kept.push(p);
  }
  let next = NIL_PAGE;
  for (let i = kept.length - 1; i >= 0; i--) {
    m.setPageNextFree(kept[i]!, next);
    next = kept[i]!;
  }
  h[HW.freeRunHead] = next;
  return kept.length < runs.length;
}

/** Takes `k` contiguous pages, or returns NIL_PAGE if the memory bound or the arena's reservation forbids it. */
function allocPages(m: ShardMemory, k: number): number {
  if (!withinLimit(m, k)) return NIL_PAGE;
  let p = takeFreeRun(m, k);
  if (p === NIL_PAGE && coalesceFreeRuns(m)) p = takeFreeRun(m, k);
  if (p !== NIL_PAGE) return p;
  return growArena(m, k);
}

/** First fit over the free runs, splitting the one taken; NIL_PAGE if none is long enough. */
function takeFreeRun(m: ShardMemory, k: number): number {
  const h = m.h32;
  let prev = NIL_PAGE;
  for (let p = h[HW.freeRunHead]!; p !== NIL_PAGE; prev = p, p = m.pageNextFree(p)) {
    const run = m.pageRun(p);
    if (run < k) continue;
    let rest = m.pageNextFree(p);
    if (run > k) {
      const q = p + k;
      m.setPageClass(q, PAGE_FREE);
      m.setPageLive(q, 0);
      m.setPageRun(q, run - k);
      m.setPageNextFree(q, rest);
      rest = q;
    }
    if (prev === NIL_PAGE) h[HW.freeRunHead] = rest;
    else m.setPageNextFree(prev, rest);
    m.setPageRun(p, k);
    h[HW.pagesInUse] = h[HW.pagesInUse]! + k;
    return p;
  }
  return NIL_PAGE;
}

function growArena(m: ShardMemory, k: number): number {
  const h = m.h32;
  const buf = m.buffers.arena;
  const have = h[HW.arenaPages]!;
  const maxPages = Math.floor(buf.maxByteLength / PAGE_SIZE);
  if (have + k > maxPages) return NIL_PAGE;
  const add = Math.min(Math.max(k, GROW_PAGES), maxPages - have);
  buf.grow((have + add) * PAGE_SIZE);
  h[HW.arenaPages] = have + add;
  h[HW.generation] = h[HW.generation]! + 1;
  m.refresh();
  if (add > k) pushFreeRun(m, have + k, add - k);
  m.setPageRun(have, k);
  h[HW.pagesInUse] = h[HW.pagesInUse]! + k;
  return have;
}

function releasePages(m: ShardMemory, p: number): void {
  const k = m.pageRun(p);
  m.h32[HW.pagesInUse] = m.h32[HW.pagesInUse]! - k;
  pushFreeRun(m, p, k);
}

function pushFreeChunk(m: ShardMemory, c: number, r: number): void {
  const h = m.h32;
  const head = h[HW.classFree + c]!;
  m.setPrev(r, NIL_REF);
  m.setNext(r, head);
  if (head !== NIL_REF) m.setPrev(head, r);
  h[HW.classFree + c] = r;
}

function unlinkFreeChunk(m: ShardMemory, c: number, r: number): void {
  const p = m.prev(r);
  const n = m.next(r);
  if (p === NIL_REF) m.h32[HW.classFree + c] = n;
  else m.setNext(p, n);
  if (n !== NIL_REF) m.setPrev(n, p);
}

function chunksPerPage(size: number): number {
  return Math.floor(PAGE_PAYLOAD / size);
}

/**
 * A chunk (or page run) for an item of `bytes`, marked live, or NIL_REF when the bound is reached
 * and the caller must evict. The item's other header fields are the caller's to fill.
 */
export function tryAllocItem(m: ShardMemory, bytes: number): number {
  const c = classFor(m, bytes);
  const h = m.h32;
  if (c === CLASS_LARGE) {
    const p = allocPages(m, runPagesFor(bytes));
    if (p === NIL_PAGE) return NIL_REF;
    m.setPageClass(p, CLASS_LARGE);
    m.setPageLive(p, 1);
    const r = ShardMemory.firstRef(p);
    m.setMeta(r, ShardMemory.packMeta(CLASS_LARGE, CHUNK_LIVE));
    return r;
  }
  let r = h[HW.classFree + c]!;
  if (r === NIL_REF) {
    const p = allocPages(m, 1);
    if (p === NIL_PAGE) return NIL_REF;
    const size = h[HW.classSize + c]!;
    const n = chunksPerPage(size);
    m.setPageClass(p, c);
    m.setPageLive(p, 0);
    const first = ShardMemory.firstRef(p);
    const step = size / REF_UNIT;
    for (let i = n - 1; i >= 0; i--) {
      const cr = first + i * step;
      m.setMeta(cr, ShardMemory.packMeta(c, CHUNK_FREE));
      pushFreeChunk(m, c, cr);
    }
    h[HW.classChunks + c] = h[HW.classChunks + c]! + n;
    r = first;
  }
  unlinkFreeChunk(m, c, r);
  m.setMeta(r, ShardMemory.packMeta(c, CHUNK_LIVE));
  h[HW.classLive + c] = h[HW.classLive + c]! + 1;
  const p = ShardMemory.pageOf(r);
  m.setPageLive(p, m.pageLive(p) + 1);
  return r;
}

/** Returns an item's chunk (or run) to the allocator. */
export function freeItem(m: ShardMemory, r: number): void {
  const c = m.classId(r);
  const p = ShardMemory.pageOf(r);
  if (c === CLASS_LARGE) {
    m.setMeta(r, ShardMemory.packMeta(CLASS_LARGE, CHUNK_FREE));
    releasePages(m, p);
    return;
  }
  const h = m.h32;
  m.setMeta(r, ShardMemory.packMeta(c, CHUNK_FREE));
  pushFreeChunk(m, c, r);
  h[HW.classLive + c] = h[HW.classLive + c]! - 1;
  const live = m.pageLive(p) - 1;
  m.setPageLive(p, live);
  if (live !== 0) return;
  const size = h[HW.classSize + c]!;
  const n = chunksPerPage(size);
  const first = ShardMemory.firstRef(p);
  const step = size / REF_UNIT;
  for (let i = 0; i < n; i++) unlinkFreeChunk(m, c, first + i * step);
  h[HW.classChunks + c] = h[HW.classChunks + c]! - n;
  releasePages(m, p);
}

/**
 * Whether an item of `bytes` could be stored under the memory bound with every other item evicted:
 * the bound covers the header and the index too, so an item smaller than maxBytes may still never
 * fit, and evicting for it would empty the shard for nothing.
 */
export function fitsWhenEmpty(m: ShardMemory, bytes: number): boolean {
  const max = m.hf64[HF.maxBytes]!;
  if (max === 0) return true;
  const pages = classFor(m, bytes) === CLASS_LARGE ? runPagesFor(bytes) : 1;
  return fixedBytes(m) + pages * PAGE_SIZE <= max;
}

/** Whether an item of `bytes` can be stored without evicting anything. */
export function canAllocWithoutEvicting(m: ShardMemory, bytes: number): boolean {
  const c = classFor(m, bytes);
  if (c !== CLASS_LARGE && m.h32[HW.classFree + c] !== NIL_REF) return true;
  return withinLimit(m, c === CLASS_LARGE ? runPagesFor(bytes) : 1);
}

/** Returns every page to the pool: the shard is empty afterwards. */
export function resetArena(m: ShardMemory): void {
  const h = m.h32;
  const n = h[HW.classCount]!;
  for (let c = 0; c < n; c++) {
    h[HW.classFree + c] = NIL_REF;
    h[HW.classChunks + c] = 0;
    h[HW.classLive + c] = 0;
  }
  h[HW.pagesInUse] = 0;
  h[HW.freeRunHead] = NIL_PAGE;
  const pages = h[HW.arenaPages]!;
  if (pages > 0) pushFreeRun(m, 0, pages);
}
