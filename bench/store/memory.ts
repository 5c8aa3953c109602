/**
 * Memory benchmark: bytes per key of the store against redis-server for the same data.
 *
 *   node bench/store/memory.ts [--quick] [--no-redis]
 *
 * Scenarios (defaults; --quick divides them by 20):
 *   a. 1,000,000 keys of 50 bytes with 1 KiB values
 *   b. 10,000,000 keys of 16 bytes with 16-byte values
 * Keys are "key:" plus a zero-padded decimal counter, exactly the stated size; values are a fixed
 * printable pattern of the stated size (never an integer, so Redis cannot share them).
 *
 * Each store measurement runs in a fresh child process (this file with --child) so RSS starts
 * clean; it runs once with the default slab growth factor 1.25 and once with 1.125. Redis gets a
 * fresh redis-server per scenario on an ephemeral port (src/bench/net.ts startRedis: --save ''
 * --appendonly no, no memory limit), loaded with pipelined SET commands over one TCP connection,
 * and is shut down afterwards.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { indexLayout } from '../../native-layout/shard.ts';
import { startRedis } from '../../src/bench/net.ts';
import { ITEM_HEADER_BYTES } from '../../src/store/memory.ts';
import { slabClassSizes } from '../../src/store/slab.ts';
import { Store } from '../../src/store/store.ts';

export interface MemoryOptions {
  /** Keys in scenario a (50-byte keys, 1 KiB values); default 1,000,000. */
  keys1k?: number;
  /** Keys in scenario b (16-byte keys, 16-byte values); default 10,000,000. */
  keys16?: number;
  /** Also measure redis-server (default true); needs redis-server on PATH. */
  redis?: boolean;
}

export interface Scenario {
  name: string;
  n: number;
  keyBytes: number;
  valueBytes: number;
}

export interface StoreMemoryRow {
  impl: 'shardcache';
  scenario: Scenario;
  slabGrowthFactor: number;
  rssBefore: number;
  rssAfter: number;
  /** heapUsed after a full GC, before creating the store and after loading it. */
  heapBefore: number;
  heapAfter: number;
  /** Highest heapUsed sampled (no forced GC) while loading. */
  heapPeak: number;
  usedBytes: number;
  bytesPerKey: number;
  /** bytesPerKey minus the key and value bytes. */
  overheadPerKey: number;
  rssPerKey: number;
  /** 32-byte header + key + value, and the slab chunk that holds it. */
  itemBytes: number;
  chunkBytes: number;
  /** Index bytes (all shards) per key. */
  indexPerKey: number;
  loadMs: number;
}

export interface RedisMemoryRow {
  impl: 'redis';
  scenario: Scenario;
  version: string;
  allocator: string;
  usedMemoryBefore: number;
  usedMemory: number;
  rssBefore: number;
  rss: number;
  /** (used_memory after - before) / N. */
  bytesPerKey: number;
  overheadPerKey: number;
  rssPerKey: number;
  loadMs: number;
}

export interface MemoryResult {
  store: StoreMemoryRow[];
  redis: RedisMemoryRow[];
}

const GROWTH_FACTORS = [1.25, 1.125];
const RESULT_MARK = '@@MEMORY_RESULT ';
const HEAP_LIMIT = 64 * 1024 * 1024;
const MB = 1024 * 1024;

// ---- deterministic data ----------------------------------------------------------------------

/** A key buffer: "key:" then zeros; writeCounter fills in the counter. */
function keyTemplate(keyBytes: number): Buffer {
  if (keyBytes < 5) throw new RangeError('keys must be at least 5 bytes');
  const b = Buffer.alloc(keyBytes, 0x30);
  b.write('key:', 0, 'latin1');
  return b;
}

/** Writes `n` as `width` zero-padded decimal digits at `off`. */
function writeCounter(b: Uint8Array, off: number, width: number, n: number): void {
  for (let i = off + width - 1; i >= off; i--) {
    b[i] = 0x30 + (n % 10);
    n = Math.floor(n / 10);
  }
}

function valueBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = 0x61 + (i % 26);
  return b;
}

// ---- child: one store measurement --------------------------------------------------------------

interface ChildInput {
  scenario: Scenario;
  slabGrowthFactor: number;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

function runChild(input: ChildInput): StoreMemoryRow {
  const { scenario: sc, slabGrowthFactor } = input;
  const key = keyTemplate(sc.keyBytes);
  const value = valueBytes(sc.valueBytes);
  const width = sc.keyBytes - 4;
  gc();
  const m0 = process.memoryUsage();
  const store = Store.create({ shards: 16, policy: 'lru', slabGrowthFactor });
  let heapPeak = m0.heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < sc.n; i++) {
    writeCounter(key, 4, width, i);
    store.set(key, value);
    if ((i & 0x3ffff) === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const loadMs = performance.now() - t0;
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  gc();
  const m1 = process.memoryUsage();
  const st = store.stats();
  if (st.keys !== sc.n) throw new Error(`store holds ${st.keys} keys, expected ${sc.n}`);
  for (const i of [0, sc.n >>> 1, sc.n - 1]) {
    writeCounter(key, 4, width, i);
    const v = store.get(key);
    if (v === null || !v.equals(value)) throw new Error(`key ${i} reads back wrong`);
  }
  const itemBytes = ITEM_HEADER_BYTES + sc.keyBytes + sc.valueBytes;
  const chunkBytes = slabClassSizes(slabGrowthFactor).find((s) => s >= itemBytes) ?? itemBytes;
  const indexBytes = st.shards.reduce((a, s) => a + indexLayout(s.indexSlots, 0).bytes, 0);
  return {
    impl: 'shardcache',
    scenario: sc,
    slabGrowthFactor,
    rssBefore: m0.rss,
    rssAfter: m1.rss,
    heapBefore: m0.heapUsed,
    heapAfter: m1.heapUsed,
    heapPeak,
    usedBytes: st.usedBytes,
    bytesPerKey: st.usedBytes / sc.n,
    overheadPerKey: st.usedBytes / sc.n - sc.keyBytes - sc.valueBytes,
    rssPerKey: (m1.rss - m0.rss) / sc.n,
    itemBytes,
    chunkBytes,
    indexPerKey: indexBytes / sc.n,
    loadMs,
  };
}

async function measureStore(sc: Scenario, slabGrowthFactor: number): Promise<StoreMemoryRow> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--expose-gc', self, '--child', JSON.stringify({ scenario: sc, slabGrowthFactor } satisfies ChildInput)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (code !== 0 || line === undefined) throw new Error(`store child (${sc.name}, factor ${slabGrowthFactor}) failed with code ${code}: ${out}`);
  return JSON.parse(line.slice(RESULT_MARK.length)) as StoreMemoryRow;
}

// ---- redis ---------------------------------------------------------------------------------------

async function connectTo(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await once(s, 'connect');
  return s;
}

function resp(args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

/** Sends one command on a fresh connection and returns its reply (simple, integer or bulk string). */
async function redisCommand(port: number, args: string[]): Promise<string> {
  const s = await connectTo(port);
  try {
    return await new Promise<string>((resolve, reject) => {
      let buf = Buffer.alloc(0);
      s.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const head = buf.toString('latin1', 0, eol);
        if (head[0] === '-') reject(new Error(`redis ${args[0]}: ${head}`));
        else if (head[0] !== '$') resolve(head.slice(1));
        else {
          const len = Number(head.slice(1));
          if (buf.length >= eol + 2 + len + 2) resolve(buf.toString('utf8', eol + 2, eol + 2 + len));
        }
      });
      s.on('error', reject);
      s.on('close', () => reject(new Error(`redis closed the connection during ${args[0]}`)));
      s.write(resp(args));
    });
  } finally {
    s.destroy();
  }
}

function infoField(info: string, name: string): string {
  const m = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  if (m === null) throw new Error(`INFO has no ${name}`);
  return m[1]!.trim();
}

/** Pipelines N SET commands over one connection, respecting TCP backpressure; resolves when all are acknowledged. */
async function redisLoad(port: number, sc: Scenario): Promise<void> {
  const s = await connectTo(port);
  const width = sc.keyBytes - 4;
  const key = keyTemplate(sc.keyBytes);
  const head = Buffer.from(`*3\r\n$3\r\nSET\r\n$${sc.keyBytes}\r\n`);
  const cmd = Buffer.concat([head, key, Buffer.from(`\r\n$${sc.valueBytes}\r\n`), valueBytes(sc.valueBytes), Buffer.from('\r\n')]);
  const keyOff = head.length + 4;
  let replies = 0;
  let failure: Error | null = null;
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      // Every reply is "+OK\r\n"; any '-' starts an error reply.
      const dash = d.indexOf(0x2d);
      if (dash >= 0) failure = new Error(`redis SET failed: ${d.toString('latin1', dash, Math.min(d.length, dash + 200))}`);
      for (let i = d.indexOf(0x0a); i >= 0; i = d.indexOf(0x0a, i + 1)) replies++;
      if (failure !== null) reject(failure);
      else if (replies === sc.n) resolve();
    });
    s.on('error', reject);
    s.on('close', () => reject(failure ?? new Error(`redis closed the connection after ${replies} of ${sc.n} replies`)));
  });
  const perChunk = Math.max(1, Math.floor((1 << 20) / cmd.length));
  for (let i = 0; i < sc.n && failure === null; ) {
    const k = Math.min(perChunk, sc.n - i);
    const chunk = Buffer.allocUnsafe(k * cmd.length);
    for (let j = 0; j < k; j++, i++) {
      const off = j * cmd.length;
      cmd.copy(chunk, off);
      writeCounter(chunk, off + keyOff, width, i);
    }
    if (!s.write(chunk)) await once(s, 'drain');
  }
  await done;
  s.destroy();
}

async function measureRedis(sc: Scenario): Promise<RedisMemoryRow> {
  // No memory limit, as a cache holding everything; a redis-server left running is killed when
  // this process exits (src/bench/net.ts).
  const r = await startRedis('0');
  try {
    const before = await redisCommand(r.port, ['INFO', 'memory']);
    const server = await redisCommand(r.port, ['INFO', 'server']);
    const t0 = performance.now();
    await redisLoad(r.port, sc);
    const loadMs = performance.now() - t0;
    const dbsize = Number(await redisCommand(r.port, ['DBSIZE']));
    if (dbsize !== sc.n) throw new Error(`redis holds ${dbsize} keys, expected ${sc.n}`);
    // Let serverCron finish any incremental rehash so only one hash table is counted.
    await new Promise((res) => setTimeout(res, 1500));
    const after = await redisCommand(r.port, ['INFO', 'memory']);
    const usedBefore = Number(infoField(before, 'used_memory'));
    const used = Number(infoField(after, 'used_memory'));
    const rssBefore = Number(infoField(before, 'used_memory_rss'));
    const rss = Number(infoField(after, 'used_memory_rss'));
    const perKey = (used - usedBefore) / sc.n;
    return {
      impl: 'redis',
      scenario: sc,
      version: infoField(server, 'redis_version'),
      allocator: infoField(after, 'mem_allocator'),
      usedMemoryBefore: usedBefore,
      usedMemory: used,
      rssBefore,
      rss,
      bytesPerKey: perKey,
      overheadPerKey: perKey - sc.keyBytes - sc.valueBytes,
      rssPerKey: (rss - rssBefore) / sc.n,
      loadMs,
    };
  } finally {
    await r.stop();
  }
}

// ---- report --------------------------------------------------------------------------------------

function mb(n: number): string {
  return (n / MB).toFixed(1);
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
}

export async function runMemory(opts: MemoryOptions = {}): Promise<MemoryResult> {
  const scenarios: Scenario[] = [
    { name: 'a', n: opts.keys1k ?? 1_000_000, keyBytes: 50, valueBytes: 1024 },
    { name: 'b', n: opts.keys16 ?? 10_000_000, keyBytes: 16, valueBytes: 16 },
  ];
  const result: MemoryResult = { store: [], redis: [] };
  let redis = opts.redis ?? true;
  for (const sc of scenarios) {
    for (const f of GROWTH_FACTORS) {
      const r = await measureStore(sc, f);
      result.store.push(r);
      console.error(`  store ${sc.name} factor ${f}: loaded ${sc.n} keys in ${(r.loadMs / 1000).toFixed(1)} s`);
    }
    if (redis) {
      try {
        const r = await measureRedis(sc);
        result.redis.push(r);
        console.error(`  redis ${sc.name}: loaded ${sc.n} keys in ${(r.loadMs / 1000).toFixed(1)} s`);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        console.error('  redis-server is not on PATH: skipping the Redis comparison (apt-get install redis-server)');
        redis = false;
      }
    }
  }

  const W = [12, 22, 9, 9, 12, 11, 9, 9, 9];
  console.log('');
  for (const sc of scenarios) {
    console.log(`scenario ${sc.name}: ${sc.n.toLocaleString('en-US')} keys, ${sc.keyBytes}-byte keys, ${sc.valueBytes}-byte values (${sc.keyBytes + sc.valueBytes} payload bytes/key)`);
  }
  console.log('');
  console.log(row(['impl', 'scenario / config', 'RSS0 MB', 'RSS1 MB', 'heap MB', 'used MB', 'B/key', 'ovh/key', 'RSS B/key'], W));
  for (const sc of scenarios) {
    for (const r of result.store.filter((x) => x.scenario.name === sc.name)) {
      console.log(
        row(
          [
            'shardcache',
            `${sc.name} slab factor ${r.slabGrowthFactor}`,
            mb(r.rssBefore),
            mb(r.rssAfter),
            `${mb(r.heapBefore)}>${mb(r.heapAfter)}`,
            mb(r.usedBytes),
            r.bytesPerKey.toFixed(1),
            r.overheadPerKey.toFixed(1),
            r.rssPerKey.toFixed(1),
          ],
          W,
        ),
      );
    }
    for (const r of result.redis.filter((x) => x.scenario.name === sc.name)) {
      console.log(
        row(
          [`redis ${r.version}`, `${sc.name} ${r.allocator}`, mb(r.rssBefore), mb(r.rss), '-', mb(r.usedMemory), r.bytesPerKey.toFixed(1), r.overheadPerKey.toFixed(1), r.rssPerKey.toFixed(1)],
          W,
        ),
      );
    }
  }
  console.log('');
  console.log('shardcache: used = stats().usedBytes (shard headers + index + slab pages in use); B/key = used/N; ovh/key = B/key - key - value;');
  console.log('  RSS B/key = (RSS after - RSS before)/N; heap = heapUsed after GC before > after loading (peak while loading below).');
  console.log('redis: used = INFO used_memory after loading; B/key = (used_memory after - before)/N; RSS = used_memory_rss.');
  console.log('Where the store\'s per-key bytes go (item = 32-byte header + key + value, rounded up to its slab chunk):');
  for (const r of result.store) {
    const slabWaste = r.bytesPerKey - r.chunkBytes - r.indexPerKey;
    const heapOk = r.heapAfter - r.heapBefore < HEAP_LIMIT && r.heapPeak - r.heapBefore < HEAP_LIMIT;
    console.log(
      `  ${r.scenario.name} factor ${r.slabGrowthFactor}: item ${r.itemBytes} B -> chunk ${r.chunkBytes} B (+${r.chunkBytes - r.itemBytes} rounding), ` +
        `index ${r.indexPerKey.toFixed(1)} B, page tails/headers ${slabWaste.toFixed(1)} B; heap peak ${mb(r.heapPeak)} MB ${heapOk ? '(flat: OK)' : '(NOT flat: over 64 MB)'}; load ${(r.loadMs / 1000).toFixed(1)} s`,
    );
  }
  console.log('The two slab factors differ only in slab rounding: with 1.125 the classes are closer together, so an item wastes');
  console.log('less of its chunk; an item that already fits a class exactly (scenario b: 64 bytes) gains nothing.');
  return result;
}

if (import.meta.main) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const r = runChild(JSON.parse(process.argv[i + 1]!) as ChildInput);
    process.stdout.write(RESULT_MARK + JSON.stringify(r) + '\n');
  } else {
    const quick = process.argv.includes('--quick');
    await runMemory({ keys1k: quick ? 50_000 : undefined, keys16: quick ? 500_000 : undefined, redis: !process.argv.includes('--no-redis') });
  }
}
