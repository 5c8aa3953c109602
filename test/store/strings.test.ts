/**
 * Redis's string-command edge cases, with Redis 7's exact replies and error texts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { Store } from '../../src/store/store.ts';
import { MAX_BULK } from '../../src/store/shard.ts';
import { verifyStore } from '../../src/store/verify.ts';
import { hash32 } from '../../src/store/hash.ts';
import { HW } from '../../src/store/memory.ts';

function mk(t = { now: 1_000_000 }) {
  return { store: Store.create({ shards: 2, clock: () => t.now }), t };
}

function errOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('integers', () => {
  it('INCR family on missing, integer and non-integer values', () => {
    const { store } = mk();
    expect(store.incrBy('n', 1)).toBe(1);
    expect(store.incrBy('n', -5)).toBe(-4);
    expect(store.decrBy('n', 6)).toBe(-10);
    expect(store.get('n')?.toString()).toBe('-10');
    for (const bad of ['abc', '1.5', ' 1', '1 ', '+1', '007', '-0', '', '-', '99999999999999999999']) {
      store.set('b', bad);
      const e = errOf(() => store.incrBy('b', 1));
      expect(e.code).toBe(ErrorCode.NOT_INTEGER);
      expect(e.message).toBe('ERR value is not an integer or out of range');
    }
  });

  it('overflow at the int64 bounds, in both directions', () => {
    const { store } = mk();
    store.set('max', '9223372036854775807');
    expect(errOf(() => store.incrBy('max', 1)).message).toBe('ERR increment or decrement would overflow');
    expect(store.incrBy('max', -1)).toBe(9223372036854775806n);
    store.set('min', '-9223372036854775808');
    expect(errOf(() => store.decrBy('min', 1)).code).toBe(ErrorCode.OVERFLOW);
    expect(errOf(() => store.decrBy('x', -(2n ** 63n))).code).toBe(ErrorCode.OVERFLOW);
    expect(store.get('max')?.toString()).toBe('9223372036854775806');
    expect(store.incrBy('big', 9007199254740993n)).toBe(9007199254740993n);
  });

  it('INCR keeps the TTL', () => {
    const { store, t } = mk();
    store.set('n', '1', { px: 5000 });
    store.incrBy('n', 1);
    expect(store.pttl('n')).toBe(5000);
    t.now += 5001;
    expect(store.get('n')).toBeNull();
  });
});

describe('INCRBYFLOAT formatting', () => {
  it('prints as Redis does (%.17Lf, trailing zeros removed)', () => {
    const { store } = mk();
    store.set('f', '10.50');
    expect(store.incrByFloat('f', '0.1')).toBe('10.6');
    store.set('e', '5.0e3');
    expect(store.incrByFloat('e', '2.0e2')).toBe('5200');
    expect(store.incrByFloat('z', '0.1')).toBe('0.1');
    expect(store.incrByFloat('z', '0.2')).toBe('0.3');
    expect(store.incrByFloat('neg', '-1.5')).toBe('-1.5');
    expect(store.incrByFloat('neg', '1.5')).toBe('0');
    expect(store.incrByFloat('tiny', '1e-20')).toBe('0');
    expect(store.incrByFloat('i', '3')).toBe('3');
    expect(store.get('f')?.toString()).toBe('10.6');
  });

  it('rejects non-floats and NaN/Infinity results', () => {
    const { store } = mk();
    store.set('s', 'abc');
    expect(errOf(() => store.incrByFloat('s', '1')).message).toBe('ERR value is not a valid float');
    expect(errOf(() => store.incrByFloat('k', 'x1')).message).toBe('ERR value is not a valid float');
    expect(errOf(() => store.incrByFloat('k', ' 1')).code).toBe(ErrorCode.NOT_FLOAT);
    expect(errOf(() => store.incrByFloat('k', 'inf')).message).toBe('ERR increment would produce NaN or Infinity');
    expect(store.exists('k')).toBe(0);
  });
});

describe('APPEND, GETRANGE, SETRANGE, STRLEN', () => {
  it('GETRANGE clamps as Redis 7', () => {
    const { store } = mk();
    store.set('s', 'Hello World');
    const r = (a: number, b: number) => store.getRange('s', a, b).toString();
    expect(r(0, 3)).toBe('Hell');
    expect(r(-3, -1)).toBe('rld');
    expect(r(0, -1)).toBe('Hello World');
    expect(r(10, 100)).toBe('d');
    expect(r(5, 3)).toBe('');
    expect(r(-1, -5)).toBe('');
    expect(r(-100, 2)).toBe('Hel');
    expect(store.getRange('missing', 0, -1).length).toBe(0);
  });

  it('SETRANGE pads with zero bytes and checks its bounds', () => {
    const { store } = mk();
    expect(store.setRange('p', 5, 'x')).toBe(6);
    expect([...store.get('p')!]).toEqual([0, 0, 0, 0, 0, 120]);
    expect(store.setRange('p', 1, 'ab')).toBe(6);
    expect([...store.get('p')!]).toEqual([0, 97, 98, 0, 0, 120]);
    expect(store.setRange('none', 10, '')).toBe(0);
    expect(store.exists('none')).toBe(0);
    expect(store.setRange('p', 100, '')).toBe(6);
    expect(errOf(() => store.setRange('p', -1, 'x')).message).toBe('ERR offset is out of range');
    expect(errOf(() => store.setRange('p', MAX_BULK, 'x')).message).toBe('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  });

  it('APPEND creates and extends; STRLEN counts bytes', () => {
    const { store } = mk();
    expect(store.append('a', 'Hello')).toBe(5);
    expect(store.append('a', ' World')).toBe(11);
    expect(store.strlen('a')).toBe(11);
    expect(store.strlen('nope')).toBe(0);
    store.set('u', 'é');
    expect(store.strlen('u')).toBe(2);
  });
});

describe('SET options and expiry', () => {
  it('GET returns the old value, with NX/XX deciding whether to write', () => {
    const { store } = mk();
    expect(store.set('k', 'v1', { get: true })).toBeNull();
    expect(store.set('k', 'v2', { get: true })?.toString()).toBe('v1');
    expect(store.set('k', 'v3', { nx: true, get: true })?.toString()).toBe('v2');
    expect(store.get('k')?.toString()).toBe('v2');
    expect(store.set('new', 'x', { xx: true })).toBe(false);
    expect(store.set('new', 'x', { nx: true })).toBe(true);
    expect(errOf(() => store.set('k', 'v', { nx: true, xx: true })).message).toBe('ERR syntax error');
  });

  it('EX/PX/EXAT/PXAT/KEEPTTL and invalid times', () => {
    const { store, t } = mk();
    store.set('a', '1', { ex: 10 });
    expect(store.ttl('a')).toBe(10);
    store.set('a', '2', { keepTtl: true });
    expect(store.pttl('a')).toBe(10_000);
    store.set('a', '3');
    expect(store.ttl('a')).toBe(-1);
    expect(store.ttl('missing')).toBe(-2);
    store.set('b', '1', { pxat: t.now + 1500 });
    expect(store.ttl('b')).toBe(2);
    store.set('c', '1', { exat: Math.floor(t.now / 1000) + 3 });
    expect(store.pttl('c')).toBe(3000);
    for (const o of [{ ex: 0 }, { px: -1 }, { exat: 0 }, { ex: 2 ** 60 }]) {
      expect(errOf(() => store.set('d', 'x', o)).message).toBe("ERR invalid expire time in 'set' command");
    }
  });

  it('an expiry in the past deletes the key at once', () => {
    const { store, t } = mk();
    store.set('k', 'v');
    expect(store.set('k', 'w', { pxat: t.now - 1 })).toBe(true);
    expect(store.get('k')).toBeNull();
    store.set('k', 'v');
    expect(store.expire('k', -1)).toBe(true);
    expect(store.exists('k')).toBe(0);
    store.set('k', 'v');
    expect(store.pexpireAt('k', t.now)).toBe(true);
    expect(store.exists('k')).toBe(0);
    expect(store.expire('absent', 10)).toBe(false);
  });

  it('a key lives through its expiry millisecond and is gone after it', () => {
    const { store, t } = mk();
    store.set('k', 'v', { px: 100 });
    t.now += 100;
    expect(store.get('k')?.toString()).toBe('v');
    t.now += 1;
    expect(store.get('k')).toBeNull();
    expect(store.stats().expired).toBe(1);
  });

  it('EXPIRE NX/XX/GT/LT and PERSIST', () => {
    const { store } = mk();
    store.set('k', 'v');
    expect(store.expire('k', 100, 'XX')).toBe(false);
    expect(store.expire('k', 100, 'GT')).toBe(false);
    expect(store.expire('k', 100, 'LT')).toBe(true);
    expect(store.expire('k', 50, 'NX')).toBe(false);
    expect(store.expire('k', 200, 'GT')).toBe(true);
    expect(store.expire('k', 300, 'LT')).toBe(false);
    expect(store.ttl('k')).toBe(200);
    expect(store.persist('k')).toBe(true);
    expect(store.persist('k')).toBe(false);
    expect(store.ttl('k')).toBe(-1);
  });

  it('GETEX and GETDEL', () => {
    const { store } = mk();
    store.set('k', 'v');
    expect(store.getEx('k', { ex: 5 })?.toString()).toBe('v');
    expect(store.ttl('k')).toBe(5);
    expect(store.getEx('k', { persist: true })?.toString()).toBe('v');
    expect(store.ttl('k')).toBe(-1);
    expect(store.getDel('k')?.toString()).toBe('v');
    expect(store.getDel('k')).toBeNull();
  });
});

describe('keys', () => {
  it('DEL, EXISTS (duplicates count), TOUCH', () => {
    const { store } = mk();
    store.set('a', '1');
    store.set('b', '2');
    expect(store.exists('a', 'a', 'b', 'c')).toBe(3);
    expect(store.touch('a', 'c')).toBe(1);
    expect(store.del('a', 'b', 'c')).toBe(2);
    expect(store.dbsize()).toBe(0);
  });

  it('delEach reports each key in order as it goes, a repeated key deleted once', () => {
    const { store } = mk();
    store.set('a', '1');
    store.set('b', '2');
    const seen: [number, boolean][] = [];
    expect(store.delEach(['b', 'x', 'a', 'b'].map((k) => Buffer.from(k)), (i, deleted) => seen.push([i, deleted]))).toBe(2);
    expect(seen).toEqual([
      [0, true],
      [1, false],
      [2, true],
      [3, false],
    ]);
    expect(store.dbsize()).toBe(0);
  });

  it('RENAME keeps the TTL; RENAMENX and COPY respect the destination', () => {
    const { store } = mk();
    store.set('src', 'v', { ex: 100 });
    expect(store.rename('src', 'dst')).toBe(true);
    expect(store.exists('src')).toBe(0);
    expect(store.ttl('dst')).toBe(100);
    expect(errOf(() => store.rename('src', 'x')).message).toBe('ERR no such key');
    store.set('other', 'o');
    expect(store.rename('dst', 'other', true)).toBe(false);
    expect(store.copy('dst', 'other')).toBe(false);
    expect(store.copy('dst', 'other', true)).toBe(true);
    expect(store.get('other')?.toString()).toBe('v');
    expect(store.copy('missing', 'z')).toBe(false);
    expect(errOf(() => store.copy('dst', 'dst')).message).toBe('ERR source and destination objects are the same');
    expect(store.rename('dst', 'dst')).toBe(true);
    verifyStore(store);
  });

  it('RANDOMKEY, FLUSH, MEMORY USAGE', () => {
    const { store } = mk();
    expect(store.randomKey()).toBeNull();
    store.set('only', 'v');
    expect(store.randomKey()?.toString()).toBe('only');
    expect(store.memoryUsage('only')).toBeGreaterThanOrEqual(32 + 4 + 1);
    expect(store.memoryUsage('nope')).toBeNull();
    store.flush();
    expect(store.dbsize()).toBe(0);
    expect(store.get('only')).toBeNull();
    verifyStore(store);
  });
});

describe('sizes', () => {
  it('stores keys and values across slab classes and page runs byte-exactly', () => {
    const { store } = mk();
    for (const n of [0, 1, 15, 16, 17, 1000, 65_000, 65_520, 70_000, 1_000_000, 5_000_000]) {
      const v = Buffer.alloc(n);
      for (let i = 0; i < n; i++) v[i] = (i * 7 + n) & 0xff;
      store.set(`v${n}`, v);
      expect(store.get(`v${n}`)!.equals(v)).toBe(true);
    }
    const bigKey = Buffer.alloc(100_000, 'k');
    store.set(bigKey, 'x');
    expect(store.get(bigKey)?.toString()).toBe('x');
    expect(store.del(bigKey)).toBe(1);
    verifyStore(store);
  });

  it('rejects a value over proto-max-bulk-len', () => {
    const { store } = mk();
    const e = errOf(() => store.set('k', Buffer.allocUnsafe(MAX_BULK + 1)));
    expect(e.message).toBe('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
  });
});

describe('active expiry', () => {
  it('removes expired keys nobody reads, and leaves live ones', () => {
    const t = { now: 1_000_000 };
    const store = Store.create({ shards: 4, clock: () => t.now });
    for (let i = 0; i < 5000; i++) store.set(`e${i}`, 'x', { px: 10 });
    for (let i = 0; i < 500; i++) store.set(`p${i}`, 'y');
    t.now += 11;
    let removed = 0;
    for (let i = 0; i < 100 && store.stats().volatileKeys > 0; i++) removed += store.activeExpireCycle([0, 1, 2, 3], 50);
    expect(removed).toBe(5000);
    expect(store.stats()).toMatchObject({ keys: 500, volatileKeys: 0, expired: 5000 });
    verifyStore(store);
  });

  // Redis 7 expire.c: a cycle goes on while its sample held no key with a TTL.
  it('one cycle finds a lone key with a TTL among thousands without one', () => {
    const t = { now: 1_000_000 };
    const store = Store.create({ shards: 1, clock: () => t.now });
    for (let i = 0; i < 3000; i++) store.set(`plain${i}`, 'v');
    store.set('ttl', 'v', { px: 10 });
    t.now += 11;
    // The tally (INFO's expired_stale_perc and expired_time_cap_reached_count): one key with a
    // TTL looked at, removed, well inside the budget.
    const tally = { sampled: 0, expired: 0, capped: true, ms: 0 };
    expect(store.activeExpireCycle([0], 1000, tally)).toBe(1);
    expect(tally).toMatchObject({ sampled: 1, expired: 1, capped: false });
    expect(store.stats()).toMatchObject({ keys: 3000, volatileKeys: 0 });
    // A budget already spent stops the cycle at its first check, and says so.
    for (let i = 0; i < 100; i++) store.set(`later${i}`, 'v', { px: 10 });
    t.now += 11;
    store.activeExpireCycle([0], 0, tally);
    expect(tally.capped).toBe(true);
  });

  it('the sweep finds expiries set after the write and passes keys made persistent', () => {
    const t = { now: 1_000_000 };
    const store = Store.create({ shards: 1, clock: () => t.now });
    for (let i = 0; i < 2000; i++) store.set(`plain${i}`, 'v');
    store.set('later', 'v');
    expect(store.pexpire('later', 10)).toBe(true);
    store.set('kept', 'v', { px: 10 });
    expect(store.persist('kept')).toBe(true);
    // An overwrite that moves the value to a larger chunk keeps its new TTL marked.
    store.set('moved', 'v');
    store.set('moved', 'x'.repeat(500), { px: 10 });
    t.now += 11;
    const tally = { sampled: 0, expired: 0, capped: true, ms: 0 };
    expect(store.activeExpireCycle([0], 1000, tally)).toBe(2);
    expect(tally).toMatchObject({ sampled: 2, expired: 2 });
    expect(store.stats()).toMatchObject({ keys: 2001, volatileKeys: 0 });
    expect(store.get('kept')?.toString()).toBe('v');
  });

  it('a cycle sweeps a bounded number of slots without a key with a TTL', () => {
    const t = { now: 1_000_000 };
    const store = Store.create({ shards: 1, clock: () => t.now });
    for (let i = 0; i < 60_000; i++) store.set(`plain${i}`, 'v');
    const m = store.shards[0]!.m;
    const cap = m.h32[HW.indexCap]!;
    // A key with a TTL whose home slot lies far past where the cycle starts, past what it may sweep.
    const start = m.h32[HW.expireCursor]!;
    let key = '';
    for (let i = 0; key === ''; i++) {
      const d = (hash32(Buffer.from(`ttl${i}`)) - start) & (cap - 1);
      if (d > cap / 2 && d < cap - 1024) key = `ttl${i}`;
    }
    store.set(key, 'v', { px: 10 });
    t.now += 11;
    const before = m.h32[HW.expireCursor]!;
    expect(store.activeExpireCycle([0], 1000)).toBe(0);
    const swept = (m.h32[HW.expireCursor]! - before + cap) & (cap - 1);
    expect(swept).toBeGreaterThan(0);
    expect(swept).toBeLessThanOrEqual(8192);
    expect(store.get(key)).toBeNull();
  });

  it('a nested lock on the same shard does not deadlock (transactions hold locks across calls)', () => {
    const store = Store.create({ shards: 1 });
    const held = store.lockShards([0]);
    store.set('a', '1');
    expect(store.get('a')?.toString()).toBe('1');
    store.unlockShards(held);
    expect(store.incrBy('a', 1)).toBe(2);
  });
});

describe('lookups of a key inside a larger buffer (the request fast path)', () => {
  it('getIntoHashed with an offset finds, misses and expires exactly as with the key alone', () => {
    const { store, t } = mk();
    const dropped: string[] = [];
    store.onDrop((key) => dropped.push(key.toString()));
    store.set('fast:a', 'alpha');
    store.set('fast:b', 'beta', { px: 10 });
    // Requests as the parser holds them: keys in the middle of one input buffer.
    const input = Buffer.from('*2\r\n$3\r\nGET\r\n$6\r\nfast:a\r\n*2\r\n$3\r\nGET\r\n$6\r\nfast:b\r\n*2\r\n$3\r\nGET\r\n$6\r\nfast:c\r\n');
    const at = (k: string) => input.indexOf(k);
    const got: string[] = [];
    const sink = { bulkFrom: (src: Uint8Array, off: number, len: number) => got.push(Buffer.from(src.subarray(off, off + len)).toString()) };
    const lookup = (k: string) => store.getIntoHashed(input, hash32(Buffer.from(k)), sink, at(k), k.length);
    expect(lookup('fast:a')).toBe(true);
    expect(lookup('fast:b')).toBe(true);
    expect(lookup('fast:c')).toBe(false);
    expect(got).toEqual(['alpha', 'beta']);
    // A prefix of a stored key, at the same offset, is another key.
    expect(store.getIntoHashed(input, hash32(Buffer.from('fast:')), sink, at('fast:a'), 5)).toBe(false);
    t.now += 11;
    expect(lookup('fast:b')).toBe(false);
    expect(dropped).toEqual(['fast:b']);
    expect(store.get('fast:b')).toBeNull();
    verifyStore(store);
  });
});

describe('writes of a key and value inside a larger buffer (the request fast path)', () => {
  it('setHashed with ranges stores exactly those bytes, replaces, and reports the created key', () => {
    const { store } = mk();
    const created: string[] = [];
    store.onCreate((key) => created.push(key.toString()));
    const input = Buffer.from('*3\r\n$3\r\nSET\r\n$6\r\nfast:s\r\n$5\r\nfirst\r\n*3\r\n$3\r\nSET\r\n$6\r\nfast:s\r\n$40\r\n' + 'x'.repeat(40) + '\r\n');
    const k1 = input.indexOf('fast:s');
    const k2 = input.indexOf('fast:s', k1 + 1);
    const h = hash32(Buffer.from('fast:s'));
    store.setHashed(input, h, k1, 6, input.indexOf('first'), 5, 0);
    expect(store.get('fast:s')?.toString()).toBe('first');
    // A value of another size class: the item moves, the key stays one key.
    store.setHashed(input, h, k2, 6, input.indexOf('x'), 40, 0);
    expect(store.get('fast:s')?.toString()).toBe('x'.repeat(40));
    expect(created).toEqual(['fast:s']);
    expect(store.dbsize()).toBe(1);
    verifyStore(store);
  });
});
