import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayTrace } from '../../src/bench/hitratio.ts';
import { referenceTable } from '../../src/bench/trace-reference.ts';
import {
  decodeTrace,
  detectCompression,
  detectFormat,
  keyAt,
  listTraces,
  openTrace,
  readTrace,
  type KeyBatch,
  type TraceFormat,
} from '../../src/bench/traces.ts';
import { fakeStoreFactory } from './_fake-store.ts';

const TRACES = fileURLToPath(new URL('../../../shared/traces', import.meta.url));
const HAVE_TRACES = existsSync(join(TRACES, 'README.md'));
const HAVE_XZ = spawnSync('xz', ['--version']).status === 0;
// Too slow for the suite (seconds each with the Map-based reference cache); checked by hand.
const BIG = new Set(['arc/OLTP', 'scarab/scarab-recs', 'cache2k/orm-busy']);

if (!HAVE_TRACES) console.warn(`shared traces not found at ${TRACES}: skipping the real-trace checks`);
if (!HAVE_XZ) console.warn('xz binary not found (apt install xz-utils): skipping the xz cases');

async function collect(batches: AsyncIterable<KeyBatch>): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const b of batches) for (let i = 0; i < b.count; i++) out.push(keyAt(b, i));
  return out;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function be32(xs: number[], signed: boolean): Buffer {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => (signed ? b.writeInt32BE(x, 4 * i) : b.writeUInt32BE(x, 4 * i)));
  return b;
}

function be64(xs: bigint[]): Buffer {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((x, i) => b.writeBigInt64BE(x, 8 * i));
  return b;
}

function oracle(ids: bigint[]): Buffer {
  const b = Buffer.alloc(24 * ids.length);
  ids.forEach((id, i) => {
    b.writeUInt32LE(1000 + i, 24 * i);
    b.writeBigUInt64LE(id, 24 * i + 4);
    b.writeUInt32LE(4096, 24 * i + 12);
    b.writeBigInt64LE(-1n, 24 * i + 16);
  });
  return b;
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const i64 = (x: bigint): bigint => BigInt.asIntN(64, x);

interface Case {
  format: TraceFormat;
  bytes: Buffer;
  keys: bigint[];
}

const CASES: Record<string, Case> = {
  lirs: {
    format: 'lirs',
    // Checkpoint markers, blank lines, CRLF, padding, a value past 2^53 and no final newline.
    bytes: Buffer.from('5\n*\n7\r\n\n  9 \n*\n18446744073709551615\n9007199254740993\n-2\n0\n42'),
    keys: [5n, 7n, 9n, -1n, 9007199254740993n, -2n, 0n, 42n],
  },
  arc: {
    format: 'arc',
    // The second line crosses 2^32 so the expansion must carry into the high half.
    bytes: Buffer.from('10 3 0 0\n4294967294 4 0 1\n\n7 1 0 2\n8 0 0 3\n99 2 0 4'),
    keys: [10n, 11n, 12n, 4294967294n, 4294967295n, 4294967296n, 4294967297n, 7n, 99n, 100n],
  },
  int32: {
    format: 'int32',
    bytes: be32([0, 1, -1, 2147483647, -2147483648, 123456], true),
    keys: [0n, 1n, -1n, 2147483647n, -2147483648n, 123456n],
  },
  uint32: {
    format: 'uint32',
    bytes: be32([0, 1, 0xffffffff, 0x80000000, 77], false),
    keys: [0n, 1n, 0xffffffffn, 0x80000000n, 77n],
  },
  int64: {
    format: 'int64',
    bytes: be64([0n, -1n, 9007199254740993n, 9007199254740992n, -(2n ** 63n), 2n ** 63n - 1n]),
    keys: [0n, -1n, 9007199254740993n, 9007199254740992n, -(2n ** 63n), 2n ** 63n - 1n],
  },
  oracle: {
    format: 'oracle',
    bytes: oracle([0x0102030405060708n, 1n, U64_MAX, 2n ** 53n + 1n, 1n]),
    keys: [i64(0x0102030405060708n), 1n, -1n, 2n ** 53n + 1n, 1n],
  },
};

function compress(kind: string, bytes: Buffer): Buffer {
  if (kind === 'gzip') return gzipSync(bytes);
  if (kind === 'zstd') return zstdCompressSync(bytes);
  if (kind === 'xz') {
    const r = spawnSync('xz', ['-c'], { input: bytes });
    if (r.status !== 0) throw new Error(`xz failed: ${r.stderr}`);
    return r.stdout;
  }
  return bytes;
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'shardcache-traces-'));
});
afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('trace readers on synthetic files', () => {
  const kinds = ['none', 'gzip', 'zstd', ...(HAVE_XZ ? ['xz'] : [])] as const;
  for (const [name, c] of Object.entries(CASES)) {
    for (const kind of kinds) {
      it(`${name}, compression ${kind}`, async () => {
        // A misleading name: detection must go by magic bytes alone.
        const path = join(tmp, `${name}-${kind}.dat`);
        writeFileSync(path, compress(kind, c.bytes));
        expect(detectCompression(path)).toBe(kind);
        expect(await collect(readTrace(path, c.format))).toEqual(c.keys);
      });
    }

    it(`${name}, every chunking and tiny batches`, async () => {
      for (const chunk of [1, 2, 3, 5, 7, 11, 23, 25, 1000]) {
        for (const batchKeys of [1, 2, 3, 64]) {
          const got = await collect(decodeTrace(chunked(c.bytes, chunk), c.format, batchKeys));
          expect(got, `chunk ${chunk}, batch ${batchKeys}`).toEqual(c.keys);
        }
      }
    });
  }

  it('batches carry canonical big-endian key bytes', async () => {
    const dv = new DataView(new ArrayBuffer(8));
    for await (const b of decodeTrace(chunked(CASES.int64!.bytes, 8), 'int64', 64)) {
      for (let i = 0; i < b.count; i++) {
        dv.setUint32(0, b.keys[2 * i]!);
        dv.setUint32(4, b.keys[2 * i + 1]!);
        expect(Buffer.from(dv.buffer).equals(CASES.int64!.bytes.subarray(8 * i, 8 * i + 8))).toBe(true);
      }
    }
  });

  it('expands a long ARC run across many batches', async () => {
    const bytes = Buffer.from('1000 100000 0 0\n5 1 0 1\n');
    let n = 0;
    let sum = 0;
    for await (const b of decodeTrace(chunked(bytes, 4), 'arc', 777)) {
      for (let i = 0; i < b.count; i++) sum += b.keys[2 * i + 1]!;
      n += b.count;
    }
    expect(n).toBe(100001);
    expect(sum).toBe(100000 * 1000 + (100000 * 99999) / 2 + 5);
  });

  it('rejects a truncated binary record', async () => {
    await expect(collect(decodeTrace(chunked(Buffer.alloc(13), 5), 'int32'))).rejects.toThrow(/1 stray bytes/);
    await expect(collect(decodeTrace(chunked(oracle([1n]).subarray(0, 20), 7), 'oracle'))).rejects.toThrow(/stray/);
  });

  it('rejects malformed text', async () => {
    await expect(collect(decodeTrace(chunked(Buffer.from('1\n2x\n'), 3), 'lirs'))).rejects.toThrow(/line 2/);
    await expect(collect(decodeTrace(chunked(Buffer.from('1 2 0 0\n3\n'), 3), 'arc'))).rejects.toThrow(/line 2/);
    await expect(collect(decodeTrace(chunked(Buffer.from('*5\n'), 3), 'lirs'))).rejects.toThrow(/line 1/);
  });

  it.skipIf(!HAVE_XZ)('reports a corrupt xz file instead of ending early', async () => {
    const good = compress('xz', be32(Array.from({ length: 50000 }, (_, i) => i * 7919), true));
    const bad = Buffer.from(good);
    bad.fill(0x55, good.length >> 1, (good.length >> 1) + 64);
    const path = join(tmp, 'corrupt.xz');
    writeFileSync(path, bad);
    await expect(collect(readTrace(path, 'int32'))).rejects.toThrow(/xz/);
  });

  it.skipIf(!HAVE_XZ)('stops xz when the reader stops early', async () => {
    const path = join(tmp, 'big.xz');
    writeFileSync(path, compress('xz', Buffer.alloc(8 << 20)));
    const s = openTrace(path);
    for await (const _ of s) break;
    expect(s.destroyed).toBe(true);
  });
});

describe('format detection and listing', () => {
  it('guesses formats from directory names', () => {
    expect(detectFormat('/x/arc/OLTP.lis.zst')).toBe('arc');
    expect(detectFormat('/x/lirs/sprite.trace.gz')).toBe('lirs');
    expect(detectFormat('/x/cache2k/web07.trace.xz')).toBe('int32');
    expect(detectFormat('/x/scarab/scarab-recs.trace.xz')).toBe('int64');
    expect(detectFormat('/x/libcachesim/cloudPhysicsIO.oracleGeneral.bin')).toBe('oracle');
    expect(detectFormat('/x/other/w.oracleGeneral.zst')).toBe('oracle');
    expect(detectFormat('/x/other/unknown.bin')).toBeNull();
  });

  it('lists trace files and skips documents', () => {
    const root = join(tmp, 'listing');
    for (const d of ['arc', 'lirs', 'cache2k', 'misc']) mkdirSync(join(root, d), { recursive: true });
    for (const f of ['arc/A.lis.zst', 'arc/README.orig.md', 'lirs/x.trace.gz', 'lirs/README.orig', 'cache2k/LICENSE.txt', 'cache2k/w.trace.xz', 'misc/what.bin', 'README.md']) {
      writeFileSync(join(root, f), 'x');
    }
    expect(listTraces(root).map((t) => [t.name, t.format])).toEqual([
      ['arc/A', 'arc'],
      ['cache2k/w', 'int32'],
      ['lirs/x', 'lirs'],
    ]);
  });
});

describe.skipIf(!HAVE_TRACES)('real traces against the README reference (exact LRU/FIFO stand-in)', () => {
  it('the transcribed reference table matches the README', () => {
    const md = readFileSync(join(TRACES, 'README.md'), 'utf8');
    const num = (s: string): number => Number(s.trim().split(' ')[0]!.replaceAll(',', ''));
    const rows = md
      .split('\n')
      .filter((l) => /^\| [a-z0-9]+\/[\w-]+ \|/.test(l))
      .map((l) => l.split('|').slice(1, -1))
      .filter((c) => c.length === 9)
      .map((c) => ({
        trace: c[0]!.trim(),
        requests: num(c[1]!),
        unique: num(c[2]!),
        c1: num(c[3]!),
        lru1: num(c[4]!),
        fifo1: num(c[5]!),
        c10: num(c[6]!),
        lru10: num(c[7]!),
        fifo10: num(c[8]!),
      }));
    expect(rows.length).toBeGreaterThan(0);
    expect(referenceTable()).toEqual(rows);
  });

  const found = HAVE_TRACES ? new Map(listTraces(TRACES).map((t) => [t.name, t])) : new Map();

  it('finds every referenced trace and the formats it expects', () => {
    for (const r of referenceTable()) expect(found.has(r.trace), r.trace).toBe(true);
    expect(found.get('lirs/sprite')?.format).toBe('lirs');
    expect(found.get('libcachesim/cloudPhysicsIO')?.format).toBe('oracle');
  });

  for (const r of referenceTable().filter((r) => !BIG.has(r.trace))) {
    it(`${r.trace}: requests, unique keys, LRU and FIFO misses at 1% and 10%`, async () => {
      const t = found.get(r.trace);
      expect(t, `${r.trace} missing under ${TRACES}`).toBeDefined();
      const unique = new Set<bigint>();
      for await (const b of readTrace(t.path, t.format)) for (let i = 0; i < b.count; i++) unique.add(keyAt(b, i));
      expect(unique.size).toBe(r.unique);
      const runs = [
        ['lru', r.c1, r.lru1],
        ['fifo', r.c1, r.fifo1],
        ['lru', r.c10, r.lru10],
        ['fifo', r.c10, r.fifo10],
      ] as const;
      for (const [policy, capacity, misses] of runs) {
        const res = await replayTrace({ path: t.path, format: t.format, policy, capacity, storeFactory: fakeStoreFactory });
        expect(res.requests, `${policy}@${capacity} requests`).toBe(r.requests);
        expect(res.misses, `${policy}@${capacity} misses`).toBe(misses);
        expect(res.missRatio).toBeCloseTo(misses / r.requests, 12);
      }
    });
  }

  it('parses the LIRS traces that have no reference row', async () => {
    for (const name of ['lirs/cpp', 'lirs/cs', 'lirs/multi1', 'lirs/multi3']) {
      const t = found.get(name);
      if (t === undefined) continue;
      let n = 0;
      for await (const b of readTrace(t.path, t.format)) n += b.count;
      expect(n, name).toBeGreaterThan(1000);
    }
  });
});
