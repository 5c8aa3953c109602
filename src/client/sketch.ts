/**
 * Count-min sketch with conservative update and periodic halving: an approximate access count per
 * key in a fixed few hundred KiB, however many keys pass through. Halving every `resetAfter`
 * increments (TinyLFU's "reset") makes the counts a decaying window, so a key that was hot an hour
 * ago stops looking hot.
 */

export interface SketchOptions {
  /** Counters per row, rounded up to a power of two. */
  width?: number;
  /** Rows; each row an independent index of the key. */
  depth?: number;
  /** Increments between halvings; 10 × width by default. */
  resetAfter?: number;
}

const MAX = 0xffff;

export class CountMinSketch {
  readonly width: number;
  readonly depth: number;
  readonly resetAfter: number;
  private readonly mask: number;
  private readonly rows: Uint16Array;
  private readonly idx: Int32Array;
  private added = 0;
  /** Halvings so far (for stats). */
  resets = 0;

  constructor(opts: SketchOptions = {}) {
    let w = 1;
    while (w < (opts.width ?? 16384)) w <<= 1;
    this.width = w;
    this.mask = w - 1;
    this.depth = opts.depth ?? 4;
    this.resetAfter = opts.resetAfter ?? 10 * w;
    this.rows = new Uint16Array(w * this.depth);
    this.idx = new Int32Array(this.depth);
  }

  /** Row indexes by double hashing from one 32-bit key hash. */
  private index(h: number): void {
    let h2 = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h2 = (h2 ^ (h2 >>> 12)) | 1;
    for (let i = 0; i < this.depth; i++) this.idx[i] = i * this.width + ((h + Math.imul(i, h2)) & this.mask);
  }

  /** Counts one access and returns the key's new estimate. */
  increment(h: number): number {
    this.index(h);
    const rows = this.rows;
    const idx = this.idx;
    let min = MAX;
    for (let i = 0; i < this.depth; i++) {
      const v = rows[idx[i]!]!;
      if (v < min) min = v;
    }
    // Conservative update: raise only the counters at the minimum; the others already overcount.
    if (min < MAX) {
      for (let i = 0; i < this.depth; i++) if (rows[idx[i]!] === min) rows[idx[i]!] = min + 1;
      min++;
    }
    if (++this.added >= this.resetAfter) this.halve();
    return min;
  }

  estimate(h: number): number {
    this.index(h);
    let min = MAX;
    for (let i = 0; i < this.depth; i++) {
      const v = this.rows[this.idx[i]!]!;
      if (v < min) min = v;
    }
    return min;
  }

  private halve(): void {
    const rows = this.rows;
    for (let i = 0; i < rows.length; i++) rows[i] = rows[i]! >>> 1;
    this.added = 0;
    this.resets++;
  }
}
