/**
 * Server commands against a real two-thread server: INFO, CONFIG, COMMAND, SLOWLOG, MEMORY,
 * LATENCY, DEBUG, MONITOR (across workers) and SHUTDOWN (on a second instance), with raw RESP
 * where the exact bytes matter, and redis-cli against the server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/server/commands/table.ts';
import { rewriteConfigText } from '../../src/server/commands/server.ts';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

const run = promisify(execFile);

let srv: TestServer;
const clients: Redis[] = [];

function client(): Redis {
  const r = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1, lazyConnect: false });
  clients.push(r);
  return r;
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)\r$`, 'm').exec(info)?.[1];
}

/** Waits until `check` holds (CONFIG SET reaches the other worker through the main thread). */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  srv = await startServer(['--enable-debug-command', 'local']);
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await srv?.stop();
});

describe('INFO', () => {
  it('commandstats counts every pipelined request of the fast path (GET, SET, INCR…, EXISTS, TTL) and gives GET and SET time', async () => {
    const r = client();
    await r.config('RESETSTAT');
    for (let i = 0; i < 40; i++) {
      const p = r.pipeline();
      for (let k = 0; k < 25; k++) p.set(`cs:${k}`, 'v').get(`cs:${k}`);
      await p.exec();
    }
    await r.del('cs:n');
    for (let i = 0; i < 10; i++) {
      const p = r.pipeline();
      for (let k = 0; k < 25; k++) p.incr('cs:n').decr('cs:n').incrby('cs:n', 2).decrby('cs:n', 2).exists('cs:n').ttl('cs:n');
      expect((await p.exec())!.map(([, v]) => v).slice(-6)).toEqual([1, 0, 2, 0, 1, -1]);
    }
    const stats = (await r.info('commandstats')) as string;
    for (const name of ['incr', 'decr', 'incrby', 'decrby', 'exists', 'ttl']) {
      const m = new RegExp(`^cmdstat_${name}:calls=(\\d+),usec=(\\d+),usec_per_call=([\\d.]+),rejected_calls=0,failed_calls=0\r$`, 'm').exec(stats);
      expect(m, stats).not.toBeNull();
      expect(Number(m![1])).toBe(250);
    }
    for (const name of ['get', 'set']) {
      const m = new RegExp(`^cmdstat_${name}:calls=(\\d+),usec=(\\d+),usec_per_call=([\\d.]+),rejected_calls=0,failed_calls=0\r$`, 'm').exec(stats);
      expect(m, stats).not.toBeNull();
      expect(Number(m![1])).toBe(1000);
      expect(Number(m![2])).toBeGreaterThan(0);
    }
  });

  it('has the default sections and Redis field names', async () => {
    const r = client();
    const info = (await r.info()) as string;
    const headers = [...info.matchAll(/^# (\w+)\r$/gm)].map((m) => m[1]);
    expect(headers).toEqual(['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Modules', 'Errorstats', 'Cluster', 'Keyspace']);
    expect(field(info, 'redis_version')).toBe('7.2.0');
    expect(field(info, 'shardcache_version')).toMatch(/^\d+\.\d+\.\d+/);
    expect(field(info, 'redis_mode')).toBe('standalone');
    expect(field(info, 'process_id')).toBe(String(srv.proc.pid));
    expect(field(info, 'run_id')).toMatch(/^[0-9a-f]{40}$/);
    expect(field(info, 'tcp_port')).toBe(String(srv.port));
    expect(field(info, 'arch_bits')).toBe('64');
    for (const f of ['os', 'uptime_in_seconds', 'uptime_in_days', 'hz', 'executable', 'config_file', 'io_threads_active', 'connected_clients', 'blocked_clients', 'maxclients', 'client_recent_max_input_buffer', 'used_memory', 'used_memory_human', 'used_memory_rss', 'used_memory_peak', 'maxmemory', 'maxmemory_human', 'maxmemory_policy', 'mem_fragmentation_ratio', 'total_connections_received', 'total_commands_processed', 'instantaneous_ops_per_sec', 'total_net_input_bytes', 'total_net_output_bytes', 'rejected_connections', 'expired_keys', 'evicted_keys', 'keyspace_hits', 'keyspace_misses', 'pubsub_channels', 'pubsub_patterns', 'role', 'connected_slaves', 'master_replid', 'master_repl_offset', 'used_cpu_sys', 'used_cpu_user']) {
      expect(field(info, f), f).toBeDefined();
    }
    expect(field(info, 'role')).toBe('master');
    expect(field(info, 'master_repl_offset')).toBe('0');
    expect(field(info, 'used_cpu_user')).toMatch(/^\d+\.\d{6}$/);
    expect(field(info, 'maxmemory_human')).toBe('0B');
  });

  it('memory, client-buffer and socket figures add up and move with what clients do', async () => {
    const r = client();
    for (let i = 0; i < 2000; i++) await r.set(`mem:${i}`, 'x'.repeat(200));
    const num = (info: string, f: string) => Number(field(info, f));
    const before = (await r.info('all')) as string;
    expect(num(before, 'used_memory_dataset') + num(before, 'used_memory_overhead')).toBe(num(before, 'used_memory'));
    expect(num(before, 'used_memory_startup')).toBeGreaterThan(0);
    expect(num(before, 'used_memory_startup')).toBeLessThanOrEqual(num(before, 'used_memory_overhead'));
    // 2,000 items of over 200 bytes fill at least that much of the slab pages in use.
    expect(num(before, 'allocator_allocated') - num(before, 'used_memory_overhead')).toBeGreaterThan(2000 * 200);
    expect(num(before, 'allocator_allocated')).toBeLessThanOrEqual(num(before, 'allocator_active'));
    expect(num(before, 'allocator_active')).toBe(num(before, 'used_memory'));
    expect(num(before, 'allocator_active')).toBeLessThanOrEqual(num(before, 'allocator_resident'));
    expect(num(before, 'mem_fragmentation_bytes')).toBe(num(before, 'used_memory_rss') - num(before, 'used_memory'));
    expect(field(before, 'used_cpu_user_main_thread')).toMatch(/^\d+\.\d{6}$/);
    // A connection holding half of a 100 kB request: its query buffer counts, wherever it sits.
    const c = await RawConn.connect(srv.port);
    try {
      c.write(`*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$200000\r\n${'y'.repeat(100_000)}`);
      await eventually(async () => num((await r.info('memory', 'clients')) as string, 'mem_clients_normal') >= 100_000);
      const during = (await r.info('memory', 'clients', 'stats')) as string;
      expect(num(during, 'client_recent_max_input_buffer')).toBeGreaterThanOrEqual(100_000);
      expect(num(during, 'total_reads_processed')).toBeGreaterThan(num(before, 'total_reads_processed'));
      expect(num(during, 'total_writes_processed')).toBeGreaterThan(num(before, 'total_writes_processed'));
    } finally {
      c.close();
    }
    await eventually(async () => num((await r.info('clients')) as string, 'client_recent_max_input_buffer') < 100_000);
  });

  it('instantaneous kbps and the active expiry figures move with traffic and expiry; RESETSTAT zeroes them', async () => {
    const r = client();
    const num = async (f: string) => Number(field((await r.info('stats')) as string, f));
    // 2 MiB in, then out: the next 100 ms samples see each.
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 32; i++) await r.set(`kbps:${i}`, big);
    await eventually(async () => (await num('instantaneous_input_kbps')) > 64);
    for (let i = 0; i < 32; i++) await r.get(`kbps:${i}`);
    await eventually(async () => (await num('instantaneous_output_kbps')) > 64);
    expect(field((await r.info('stats')) as string, 'instantaneous_input_kbps')).toMatch(/^\d+\.\d\d$/);
    // Idle, the rates fall back as the samples of the burst age out.
    await eventually(async () => (await num('instantaneous_output_kbps')) < 64, 5000);
    // 1,000 keys that expire unread: the active cycles remove them and find them stale.
    const expiredBefore = await num('expired_keys');
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`stale:${i}`, 'v', 'PX', 20);
    await p.exec();
    await eventually(async () => (await num('expired_keys')) - expiredBefore === 1000, 5000);
    expect(await num('expired_stale_perc')).toBeGreaterThan(0);
    expect(await num('expire_cycle_cpu_milliseconds')).toBeGreaterThanOrEqual(0);
    expect(field((await r.info('stats')) as string, 'expired_time_cap_reached_count')).toMatch(/^\d+$/);
    await r.config('RESETSTAT');
    for (const f of ['expired_stale_perc', 'expired_time_cap_reached_count', 'expire_cycle_cpu_milliseconds', 'expired_keys']) expect(await num(f), f).toBe(0);
  });

  it('replies with exact bytes: sections in Redis order, CRLF, no trailing blank line', async () => {
    const c = await RawConn.connect(srv.port);
    try {
      const one = await c.request('*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n');
      expect(one).toMatch(/^\$\d+\r\n# CPU\r\nused_cpu_sys:\d+\.\d{6}\r\nused_cpu_user:\d+\.\d{6}\r\nused_cpu_sys_children:0\.000000\r\nused_cpu_user_children:0\.000000\r\nused_cpu_sys_main_thread:\d+\.\d{6}\r\nused_cpu_user_main_thread:\d+\.\d{6}\r\n\r\n$/);
      const len = Number(/^\$(\d+)\r\n/.exec(one)![1]);
      expect(Buffer.byteLength(one) - one.indexOf('\r\n') - 4).toBe(len);
      await c.request('*3\r\n$3\r\nSET\r\n$4\r\nikey\r\n$1\r\nv\r\n');
      const two = await c.request('*3\r\n$4\r\nINFO\r\n$8\r\nKEYSPACE\r\n$6\r\nserver\r\n');
      expect(two).toMatch(/^\$\d+\r\n# Server\r\nredis_version:7\.2\.0\r\n[\s\S]*\r\n\r\n# Keyspace\r\ndb0:keys=\d+,expires=\d+,avg_ttl=0\r\n\r\n$/);
      expect(await c.request('*2\r\n$4\r\nINFO\r\n$5\r\nnosuch\r\n')).toBe('$0\r\n\r\n');
      await c.request('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n');
      expect(await c.request('*2\r\n$4\r\nINFO\r\n$7\r\ncluster\r\n')).toBe('=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n');
    } finally {
      c.close();
    }
  });

  it('sums statistics over both worker threads', async () => {
    const r = client();
    expect(await r.config('RESETSTAT')).toBe('OK');
    const more = Array.from({ length: 4 }, () => client());
    for (const m of more) for (let i = 0; i < 10; i++) await m.ping();
    const info = (await r.info('stats')) as string;
    // Four new connections spread over two workers: one worker alone would see about half.
    expect(Number(field(info, 'total_commands_processed'))).toBeGreaterThanOrEqual(40);
    expect(Number(field(info, 'total_connections_received'))).toBeGreaterThanOrEqual(4);
    expect(Number(field(info, 'total_net_input_bytes'))).toBeGreaterThan(40 * 14);
    expect(Number(field((await r.info('clients')) as string, 'connected_clients'))).toBeGreaterThanOrEqual(5);
  });

  it('counts keyspace hits and misses', async () => {
    const r = client();
    await r.config('RESETSTAT');
    await r.set('hk', '1');
    await r.get('hk');
    await r.get('hk');
    for (const k of ['m1', 'm2', 'm3']) await r.get(k);
    const info = (await r.info('stats')) as string;
    expect(field(info, 'keyspace_hits')).toBe('2');
    expect(field(info, 'keyspace_misses')).toBe('3');
  });
});

describe('CONFIG', () => {
  it('GET matches globs and SET round-trips to every worker', async () => {
    const a = client();
    const b = client();
    expect(await a.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    const mm = (await a.config('GET', 'maxmemory*')) as string[];
    expect(mm.filter((_, i) => i % 2 === 0).sort()).toEqual(['maxmemory', 'maxmemory-clients', 'maxmemory-policy', 'maxmemory-samples']);
    expect(await a.config('GET', 'nosuchsetting')).toEqual([]);
    expect(await a.config('SET', 'hz', '20', 'slowlog-max-len', '64')).toBe('OK');
    expect(await a.config('GET', 'hz')).toEqual(['hz', '20']);
    await eventually(async () => ((await b.config('GET', 'hz')) as string[])[1] === '20');
    expect(await a.call('CONFIG', 'SET', 'maxmemory', '10mb')).toBe('OK');
    expect(await a.config('GET', 'maxmemory')).toEqual(['maxmemory', '10485760']);
    await a.config('SET', 'hz', '10', 'maxmemory', '0');
    const c = await RawConn.connect(srv.port);
    try {
      await c.request('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n');
      expect(await c.request('*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$2\r\nhz\r\n')).toBe('%1\r\n$2\r\nhz\r\n$2\r\n10\r\n');
    } finally {
      c.close();
    }
  });

  it('maxmemory takes effect at once (noeviction answers OOM)', async () => {
    const r = client();
    await r.config('SET', 'maxmemory-policy', 'noeviction', 'maxmemory', '100kb');
    await expect(r.set('big', 'x'.repeat(20_000))).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
    expect((await r.info('memory')) as string).toContain('maxmemory:102400\r\n');
    await r.config('SET', 'maxmemory', '0');
    expect(await r.set('big', 'x'.repeat(20_000))).toBe('OK');
    await r.del('big');
  });

  it('SET errors use Redis wording and change nothing', async () => {
    const r = client();
    await expect(r.config('SET', 'port', '1')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
    await expect(r.config('SET', 'nosuch', '1')).rejects.toThrow("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    await expect(r.config('SET', 'maxmemory', 'lots')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value");
    await expect(r.config('SET', 'hz', 'abc')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer");
    await expect(r.call('CONFIG', 'SET', 'hz', '5', 'timeout')).rejects.toThrow('ERR syntax error');
    await expect(r.config('SET', 'hz', '30', 'hz', '40')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter");
    await expect(r.config('SET', 'hz', '30', 'maxmemory-policy', 'bogus')).rejects.toThrow("possibly related to argument 'maxmemory-policy'");
    expect(await r.config('GET', 'hz')).toEqual(['hz', '10']);
    await expect(r.call('CONFIG', 'NOPE')).rejects.toThrow("ERR unknown subcommand 'NOPE'. Try CONFIG HELP.");
    expect(((await r.call('CONFIG', 'HELP')) as string[])[0]).toBe('CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  });

  it('values are kept as Redis keeps them: hz clamped to 1..500, event classes in canonical order', async () => {
    const r = client();
    try {
      expect(await r.config('SET', 'hz', '0')).toBe('OK');
      expect(await r.config('GET', 'hz')).toEqual(['hz', '1']);
      expect(await r.config('SET', 'hz', '1000')).toBe('OK');
      expect(await r.config('GET', 'hz')).toEqual(['hz', '500']);
      await expect(r.config('SET', 'hz', '-1')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive");
      for (const [given, shown] of [['KEA', 'AKE'], ['Kx$g', 'g$xK'], ['mKE', 'KEm'], ['KEAmn', 'AnKEm'], ['Kgn', 'gnK'], ['', '']]) {
        expect(await r.config('SET', 'notify-keyspace-events', given!)).toBe('OK');
        expect(await r.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', shown]);
      }
      // An unknown letter is refused, not dropped by the canonical form.
      await expect(r.config('SET', 'notify-keyspace-events', 'KZ')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      expect(await r.config('GET', 'notify-keyspace-events')).toEqual(['notify-keyspace-events', '']);
    } finally {
      await r.config('SET', 'hz', '10');
    }
  });

  it('REWRITE needs a config file', async () => {
    const r = client();
    const info = (await r.info('server')) as string;
    if (field(info, 'config_file') === '') await expect(r.config('REWRITE')).rejects.toThrow('ERR The server is running without a config file');
  });

  it('REWRITE text keeps the file, updates its settings and appends changed ones', () => {
    const current = new Map([
      ['hz', '20'],
      ['maxmemory', '1048576'],
      ['requirepass', 'a "b"'],
      ['timeout', '0'],
      ['port', '6379'],
    ]);
    const text = rewriteConfigText('# my config\nhz 10\nunknown-thing yes\ntimeout 30\nhz 11\n', (n) => current.get(n));
    expect(text).toBe('# my config\nhz 20\nunknown-thing yes\ntimeout 0\n# Generated by CONFIG REWRITE\nmaxmemory 1048576\nrequirepass "a \\"b\\""\n');
  });

  it('REWRITE writes the file the server started with', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sc-rewrite-'));
    const file = join(dir, 'shardcache.conf');
    writeFileSync(file, '# test\nhz 10\n');
    const s = await startServer(['--config', file], { threads: 1 });
    const r = new Redis({ port: s.port, host: '127.0.0.1' });
    try {
      if (field((await r.info('server')) as string, 'config_file') === '') {
        // The CLI does not pass the config file path to the server yet.
        t.skip();
        return;
      }
      await r.config('SET', 'hz', '25', 'maxmemory', '2mb');
      expect(await r.config('REWRITE')).toBe('OK');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('# test\nhz 25\n');
      expect(text).toContain('# Generated by CONFIG REWRITE\n');
      expect(text).toContain('maxmemory 2097152\n');
    } finally {
      r.disconnect();
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('COMMAND', () => {
  it('COUNT is the table length and COMMAND lists every entry', async () => {
    const r = client();
    expect(await r.call('COMMAND', 'COUNT')).toBe(COMMANDS.length);
    const all = (await r.call('COMMAND')) as unknown[][];
    expect(all.length).toBe(COMMANDS.length);
    expect(all.map((e) => e[0]).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
  });

  it('INFO entries have the Redis 7 shape', async () => {
    const r = client();
    const [get, nope] = (await r.call('COMMAND', 'INFO', 'get', 'nosuchcmd')) as unknown[][];
    expect(nope).toBeNull();
    expect(get!.slice(0, 8)).toEqual(['get', 2, ['readonly', 'fast'], 1, 1, 1, ['@read', '@string', '@fast'], []]);
    expect(get![8]).toEqual([['flags', ['RO', 'access'], 'begin_search', ['type', 'index', 'spec', ['index', 1]], 'find_keys', ['type', 'range', 'spec', ['lastkey', 0, 'keystep', 1, 'limit', 0]]]]);
    expect(get![9]).toEqual([]);
    const [config] = (await r.call('COMMAND', 'INFO', 'config')) as unknown[][];
    expect(config!.slice(0, 7)).toEqual(['config', -2, [], 0, 0, 0, ['@slow']]);
    const subs = config![9] as unknown[][];
    const set = subs.find((s) => s[0] === 'config|set')!;
    expect(set.slice(0, 7)).toEqual(['config|set', -4, ['admin', 'noscript', 'loading', 'stale'], 0, 0, 0, ['@admin', '@slow', '@dangerous']]);
    const c = await RawConn.connect(srv.port);
    try {
      expect(await c.request('*3\r\n$7\r\nCOMMAND\r\n$4\r\nINFO\r\n$4\r\nTIME\r\n')).toBe('*1\r\n*10\r\n$4\r\ntime\r\n:1\r\n*3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@fast\r\n*1\r\n$23\r\nnondeterministic_output\r\n*0\r\n*0\r\n');
    } finally {
      c.close();
    }
  });

  it('DOCS gives summary, since, group, complexity and arguments', async () => {
    const r = client();
    const docs = (await r.call('COMMAND', 'DOCS', 'get', 'memory|usage', 'nosuch')) as unknown[];
    expect(docs.length).toBe(4);
    expect(docs[0]).toBe('get');
    const get = docs[1] as unknown[];
    expect(get.slice(0, 8)).toEqual(['summary', 'Returns the string value of a key.', 'since', '1.0.0', 'group', 'string', 'complexity', 'O(1)']);
    expect(get.slice(8)).toEqual(['arguments', [['name', 'key', 'type', 'key', 'key_spec_index', 0]]]);
    expect(docs[2]).toBe('memory|usage');
    const mu = docs[3] as unknown[];
    expect(mu[mu.indexOf('arguments') + 1]).toEqual([
      ['name', 'key', 'type', 'key', 'key_spec_index', 0],
      ['name', 'count', 'type', 'integer', 'token', 'SAMPLES', 'flags', ['optional']],
    ]);
    const all = (await r.call('COMMAND', 'DOCS')) as unknown[];
    expect(all.length).toBe(COMMANDS.length * 2);
    const set = all[all.indexOf('set') + 1] as unknown[];
    const args = set[set.indexOf('arguments') + 1] as unknown[][];
    expect(args.map((a) => a[1])).toContain('get');
    expect(JSON.stringify(args)).toContain('"token","KEEPTTL"');
  });

  it('GETKEYS, LIST and HELP', async () => {
    const r = client();
    expect(await r.call('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')).toEqual(['a', 'b']);
    expect(await r.call('COMMAND', 'GETKEYS', 'memory', 'usage', 'k')).toEqual(['k']);
    await expect(r.call('COMMAND', 'GETKEYS', 'PING', 'x')).rejects.toThrow('ERR The command has no key arguments');
    await expect(r.call('COMMAND', 'GETKEYS', 'NOSUCH', 'x')).rejects.toThrow('ERR Invalid command specified');
    await expect(r.call('COMMAND', 'GETKEYS', 'SET', 'x')).rejects.toThrow('ERR Invalid number of arguments specified for command');
    const list = (await r.call('COMMAND', 'LIST')) as string[];
    expect(list).toContain('get');
    expect(list).toContain('config|get');
    expect(await r.call('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'config*')).toEqual(['config', 'config|get', 'config|set', 'config|resetstat', 'config|rewrite', 'config|help']);
    expect(await r.call('COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'x')).toEqual([]);
    expect(await r.call('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'string')).toContain('get');
    await expect(r.call('COMMAND', 'LIST', 'FILTERBY', 'NOPE', 'x')).rejects.toThrow('ERR syntax error');
    await expect(r.call('COMMAND', 'NOPE')).rejects.toThrow("ERR unknown subcommand 'NOPE'. Try COMMAND HELP.");
    expect(((await r.call('COMMAND', 'HELP')) as string[]).length).toBe(21);
  });
});

describe.skipIf(!hasBinary('redis-server'))('COMMAND against redis-server 7', () => {
  let redis: Running;
  const conns: Redis[] = [];
  beforeAll(async () => {
    redis = await startRedis('64mb');
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await redis.stop();
  });
  /** WATCH says no_multi where Redis does not; inside MULTI both refuse it with the same error. */
  const NO_MULTI = new Set(['watch']);

  it('INFO: arity, flags, key positions, categories, tips and key specs as Redis gives them', async () => {
    const ref = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    conns.push(ref);
    const r = client();
    const entries = (e: unknown[]): unknown[][] => [e, ...((e[9] as unknown[][]) ?? []).flatMap(entries)];
    const ours = ((await r.call('COMMAND')) as unknown[][]).flatMap(entries);
    let compared = 0;
    for (const e of ours) {
      const [theirs] = (await ref.call('COMMAND', 'INFO', e[0] as string)) as (unknown[] | null)[];
      if (theirs === null || theirs === undefined) continue;
      const flags = NO_MULTI.has(e[0] as string) ? (e[2] as string[]).filter((f) => f !== 'no_multi') : e[2];
      expect([e[0], e[1], flags, ...e.slice(3, 9)], String(e[0])).toEqual([theirs[0], theirs[1], theirs[2], ...theirs.slice(3, 9)]);
      compared++;
    }
    expect(compared).toBeGreaterThan(120);
  });

  it('INFO in RESP3 has the same bytes: sets for flags, categories, tips and key specs', async () => {
    const [a, b] = await Promise.all([RawConn.connect(redis.port), RawConn.connect(srv.port)]);
    try {
      for (const c of [a, b]) await c.request(enc('HELLO', 3));
      for (const name of ['get', 'set', 'rename', 'time', 'ttl', 'incr', 'mset']) {
        const req = enc('COMMAND', 'INFO', name);
        expect(await b.request(req), name).toBe(await a.request(req));
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('commands that gather every worker inside MULTI: the same EXEC reply bytes, RESP2 and RESP3', async () => {
    const tx = [
      enc('MULTI'),
      enc('SET', 'gx', '1'),
      enc('CLIENT', 'LIST', 'ID', '99999'),
      enc('PUBSUB', 'CHANNELS', 'no-such-channel*'),
      enc('INCR', 'gx'),
      enc('CLIENT', 'LIST', 'TYPE', 'bogus'),
      enc('SLOWLOG', 'RESET'),
      enc('LATENCY', 'RESET'),
      enc('CONFIG', 'RESETSTAT'),
      enc('CLIENT', 'KILL', 'ID', '99999'),
      enc('GET', 'gx'),
      enc('EXEC'),
      enc('PING'),
    ].join('');
    for (const hello of ['', enc('HELLO', '3')]) {
      const [a, b] = await Promise.all([RawConn.connect(redis.port), RawConn.connect(srv.port)]);
      try {
        if (hello !== '') for (const c of [a, b]) await c.request(hello);
        // MULTI, 10 QUEUED, EXEC, PONG
        const [theirs, ours] = await Promise.all([a.request(tx, 13), b.request(tx, 13)]);
        expect(ours, hello === '' ? 'RESP2' : 'RESP3').toBe(theirs);
      } finally {
        a.close();
        b.close();
      }
    }
  });

  it('GETKEYSANDFLAGS gives each key the flags of its own spec', async () => {
    const ref = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    conns.push(ref);
    const r = client();
    for (const call of [['RENAME', 'a', 'b'], ['RENAMENX', 'a', 'b'], ['COPY', 'a', 'b', 'REPLACE'], ['MSET', 'a', '1', 'b', '2'], ['SET', 'k', 'v', 'GET'], ['SET', 'k', 'v', 'NX', 'EX', '10'], ['TTL', 'k'], ['OBJECT', 'FREQ', 'k']]) {
      expect(await r.call('COMMAND', 'GETKEYSANDFLAGS', ...call), call.join(' ')).toEqual(await ref.call('COMMAND', 'GETKEYSANDFLAGS', ...call));
    }
    const docs = (await r.call('COMMAND', 'DOCS', 'copy')) as unknown[];
    const args = (docs[1] as unknown[])[(docs[1] as unknown[]).indexOf('arguments') + 1] as unknown[][];
    expect(args.slice(0, 2).map((a) => a[a.indexOf('key_spec_index') + 1])).toEqual([0, 1]);
  });
});

describe('gathering commands inside MULTI', () => {
  it('CLIENT LIST and SLOWLOG GET in EXEC see every worker, in queue order with the keyed commands', async () => {
    const r = client();
    const others = [client(), client()];
    const ids = await Promise.all(others.map((o) => o.client('ID') as Promise<number>));
    const res = (await r.multi().set('gm:k', 'v').client('LIST').get('gm:k').call('SLOWLOG', 'LEN').pubsub('CHANNELS', 'gm-none*').exec())!;
    expect(res.map(([e]) => e)).toEqual([null, null, null, null, null]);
    expect(res[0]![1]).toBe('OK');
    const list = res[1]![1] as string;
    // The other connections sit on both workers; the list has them all.
    for (const id of ids) expect(list).toContain(`id=${id} `);
    expect(res[2]![1]).toBe('v');
    expect(typeof res[3]![1]).toBe('number');
    expect(res[4]![1]).toEqual([]);
  });
});

describe('SLOWLOG, MEMORY, LATENCY, DEBUG, LASTSAVE', () => {
  it('SLOWLOG merges the logs of both workers', async () => {
    const a = client();
    const others = [client(), client(), client()];
    await a.config('SET', 'slowlog-log-slower-than', '0');
    for (const o of others) await eventually(async () => ((await o.config('GET', 'slowlog-log-slower-than')) as string[])[1] === '0');
    await a.call('SLOWLOG', 'RESET');
    for (const [i, o] of others.entries()) {
      await o.client('SETNAME', `slow${i}`);
      await o.set(`slowkey${i}`, 'v');
    }
    const entries = (await a.call('SLOWLOG', 'GET', '-1')) as unknown[][];
    for (let i = 0; i < 3; i++) {
      const e = entries.find((x) => (x[3] as string[])[0] === 'set' && (x[3] as string[])[1] === `slowkey${i}`);
      expect(e, `slowkey${i}`).toBeDefined();
      expect(typeof e![0]).toBe('number');
      expect(typeof e![1]).toBe('number');
      expect(typeof e![2]).toBe('number');
      expect(e![3]).toEqual(['set', `slowkey${i}`, 'v']);
      expect(e![4]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(e![5]).toBe(`slow${i}`);
    }
    expect(new Set(entries.map((e) => e[0])).size).toBe(entries.length);
    expect(((await a.call('SLOWLOG', 'GET', '2')) as unknown[]).length).toBe(2);
    expect(await a.call('SLOWLOG', 'LEN')).toBeGreaterThanOrEqual(6);
    await expect(a.call('SLOWLOG', 'GET', '-2')).rejects.toThrow('ERR count should be greater than or equal to -1');
    await a.config('SET', 'slowlog-log-slower-than', '10000');
    await eventually(async () => ((await others[0]!.config('GET', 'slowlog-log-slower-than')) as string[])[1] === '10000');
    expect(await a.call('SLOWLOG', 'RESET')).toBe('OK');
    expect(await a.call('SLOWLOG', 'LEN')).toBe(0);
  });

  it('MEMORY USAGE, DEBUG OBJECT / SLEEP / LOG, LASTSAVE, FUNCTION FLUSH', async () => {
    const r = client();
    await r.set('mu', 'hello');
    expect(await r.call('MEMORY', 'USAGE', 'mu')).toBeGreaterThan(5);
    expect(await r.call('MEMORY', 'USAGE', 'mu', 'SAMPLES', '0')).toBeGreaterThan(5);
    expect(await r.call('MEMORY', 'USAGE', 'nosuchkey')).toBeNull();
    await expect(r.call('MEMORY', 'USAGE', 'mu', 'BOGUS')).rejects.toThrow('ERR syntax error');
    expect(await r.call('DEBUG', 'SLEEP', '0')).toBe('OK');
    expect(await r.call('DEBUG', 'LOG', 'hello from the test')).toBe('OK');
    expect(await r.call('DEBUG', 'OBJECT', 'mu')).toMatch(/^Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:6 lru:\d+ lru_seconds_idle:\d+$/);
    await r.set('mi', '12345');
    expect(await r.call('DEBUG', 'OBJECT', 'mi')).toMatch(/encoding:int serializedlength:3 /);
    await expect(r.call('DEBUG', 'OBJECT', 'nosuchkey')).rejects.toThrow('ERR no such key');
    await expect(r.call('DEBUG', 'NOPE')).rejects.toThrow("ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try DEBUG HELP.");
    expect(await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0')).toBe('OK');
    expect(await r.config('GET', 'active-expire-enabled')).toEqual(['active-expire-enabled', 'no']);
    await r.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1');
    const last = (await r.call('LASTSAVE')) as number;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(600);
    expect(await r.call('FUNCTION', 'FLUSH')).toBe('OK');
    expect(await r.call('FUNCTION', 'FLUSH', 'ASYNC')).toBe('OK');
    await expect(r.call('FUNCTION', 'FLUSH', 'NOW')).rejects.toThrow('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
  });

  it('LATENCY records commands over the threshold', async () => {
    const r = client();
    expect(await r.call('LATENCY', 'LATEST')).toEqual([]);
    await r.config('SET', 'latency-monitor-threshold', '10');
    await r.call('DEBUG', 'SLEEP', '0.03');
    const latest = (await r.call('LATENCY', 'LATEST')) as unknown[][];
    const ev = latest.find((e) => e[0] === 'command')!;
    expect(ev).toBeDefined();
    expect(ev[2]).toBeGreaterThanOrEqual(25);
    expect(ev[3]).toBeGreaterThanOrEqual(ev[2] as number);
    // Monitoring off first: on a loaded machine the RESET itself may pass 10 ms and be recorded.
    await r.config('SET', 'latency-monitor-threshold', '0');
    expect(await r.call('LATENCY', 'RESET')).toBe(1);
    expect(await r.call('LATENCY', 'LATEST')).toEqual([]);
  });

  it('LATENCY DOCTOR and GRAPH report the spikes of both workers; the active expiry cycle is an event too', async () => {
    // Connections alternate between the two workers: a and b sit on different ones.
    const a = client();
    await a.ping();
    const b = client();
    await b.ping();
    const [ia, ib] = [(await a.client('INFO')) as string, (await b.client('INFO')) as string];
    expect(ia).not.toBe(ib);
    const threshold = async (ms: number) => {
      await a.config('SET', 'latency-monitor-threshold', String(ms));
      await eventually(async () => ((await b.config('GET', 'latency-monitor-threshold')) as string[])[1] === String(ms));
    };
    expect(await a.call('LATENCY', 'DOCTOR')).toMatch(/^Latency monitoring is off \(latency-monitor-threshold is 0\)/);
    await threshold(40);
    await a.call('LATENCY', 'RESET');
    expect(await a.call('LATENCY', 'DOCTOR')).toMatch(/^No latency spike of 40 ms or more/);
    await expect(a.call('LATENCY', 'GRAPH', 'command')).rejects.toThrow("ERR No samples available for event 'command'");
    await a.call('DEBUG', 'SLEEP', '0.05');
    await b.call('DEBUG', 'SLEEP', '0.2');
    // Asked on a's worker, the report and the graph include the spike b's worker saw.
    const doctor = (await a.call('LATENCY', 'DOCTOR')) as string;
    expect(doctor).toMatch(/^Latency spikes of 40 ms or more \(latency-monitor-threshold\) were seen:\n\n1\. command: \d latency spikes? \(average \d+ ms, mean deviation \d+ ms(, one every [\d.]+ s)?\)\. Worst ever: (\d+) ms\.\n/);
    expect(Number(/Worst ever: (\d+) ms/.exec(doctor)![1])).toBeGreaterThanOrEqual(200);
    expect(doctor).toContain('- SLOWLOG GET lists the slow commands');
    const graph = ((await a.call('LATENCY', 'GRAPH', 'command')) as string).split('\n');
    const title = /^command - high (\d+) ms, low (\d+) ms \(all time high (\d+) ms\)$/.exec(graph[0]!)!;
    expect(title).not.toBeNull();
    expect(Number(title[1])).toBeGreaterThanOrEqual(200);
    expect(Number(title[3])).toBe(Number(title[1]));
    expect(graph[1]).toBe('-'.repeat(80));
    // The highest sample's column reaches the top row; ages read downwards end in a unit.
    expect(graph[2]).toContain('#');
    expect(graph.slice(6).some((l) => /[smhd]/.test(l))).toBe(true);
    await expect(a.call('LATENCY', 'GRAPH')).rejects.toThrow("ERR wrong number of arguments for 'latency|graph' command");
    await expect(a.call('LATENCY', 'DOCTOR', 'x')).rejects.toThrow("ERR wrong number of arguments for 'latency|doctor' command");

    // 50,000 keys that expire at the same millisecond: the cycle that reclaims them runs past 1 ms.
    await threshold(1);
    const at = Date.now() + 1500;
    const p = a.pipeline();
    for (let i = 0; i < 50_000; i++) p.set(`ex:${i}`, 'v', 'PXAT', at);
    await p.exec();
    await eventually(async () => ((await a.call('LATENCY', 'LATEST')) as unknown[][]).some((e) => e[0] === 'expire-cycle'), 10_000);
    const report = (await b.call('LATENCY', 'DOCTOR')) as string;
    expect(report).toMatch(/\d\. expire-cycle: \d+ latency spikes?/);
    expect(report).toContain('- The active expiry cycle ran long');
    await a.config('SET', 'latency-monitor-threshold', '0');
    await eventually(async () => ((await b.config('GET', 'latency-monitor-threshold')) as string[])[1] === '0');
    await a.call('LATENCY', 'RESET');
  });

  it('MEMORY DOCTOR: nothing to say about little data; with some, what it finds, such as maxmemory close', async () => {
    const r = client();
    const used = async () => Number(field((await r.info('memory')) as string, 'used_memory'));
    if ((await used()) < 5 * 1024 * 1024) expect(await r.call('MEMORY', 'DOCTOR')).toMatch(/^This instance holds little data \(used_memory [\d.]+[KMG]?\): there is nothing to diagnose yet/);
    const value = 'x'.repeat(10_000);
    const p = r.pipeline();
    for (let i = 0; i < 800; i++) p.set(`md:${i}`, value);
    await p.exec();
    const report = (await r.call('MEMORY', 'DOCTOR')) as string;
    expect(report).toMatch(/^(Memory findings:\n\n- |No memory problem found\. used_memory )/);
    // A bound just above what is used now.
    const now = await used();
    await r.config('SET', 'maxmemory', String(Math.ceil(now * 1.05)));
    try {
      const near = (await r.call('MEMORY', 'DOCTOR')) as string;
      expect(near).toMatch(/^Memory findings:\n/);
      expect(near).toContain('is within 10% of maxmemory');
      expect(near).toContain('With maxmemory-policy noeviction, writes that need memory are refused with an OOM error.');
    } finally {
      await r.config('SET', 'maxmemory', '0');
      const d = r.pipeline();
      for (let i = 0; i < 800; i++) d.del(`md:${i}`);
      await d.exec();
    }
    await expect(r.call('MEMORY', 'DOCTOR', 'x')).rejects.toThrow("ERR wrong number of arguments for 'memory|doctor' command");
  });

  it('LATENCY HISTOGRAM and INFO latencystats count every call on both workers, fast path included', async () => {
    const a = client();
    const b = client();
    await a.config('RESETSTAT');
    // Pipelined GETs and SETs take the fast path; SET with GET and INCRBYFLOAT the general one.
    for (const r of [a, b]) {
      const p = r.pipeline();
      for (let i = 0; i < 300; i++) p.set(`lh:${i}`, 'v').get(`lh:${i}`);
      await p.exec();
      for (let i = 0; i < 5; i++) await r.call('SET', 'lh:x', String(i), 'GET');
      await r.incrbyfloat('lh:f', 1.5);
    }
    const h = (await a.call('LATENCY', 'HISTOGRAM', 'set', 'get', 'incrbyfloat')) as unknown[];
    const byName = new Map<string, [number, number[]]>();
    for (let i = 0; i < h.length; i += 2) {
      const [, calls, , buckets] = h[i + 1] as [string, number, string, number[]];
      byName.set(h[i] as string, [calls, buckets]);
    }
    expect([...byName].map(([n, [calls]]) => [n, calls])).toEqual([['set', 610], ['get', 600], ['incrbyfloat', 2]]);
    for (const [name, [calls, buckets]] of byName) {
      // Keys are Redis's bucket bounds, counts cumulative and rising, the last one every call.
      const keys = buckets.filter((_, i) => i % 2 === 0);
      const counts = buckets.filter((_, i) => i % 2 === 1);
      for (const k of keys) expect([1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816, 67633, 135266, 270532, 541065], name).toContain(k);
      expect(counts.every((c, i) => i === 0 || c > counts[i - 1]!), name).toBe(true);
      expect(counts[counts.length - 1], name).toBe(calls);
    }
    const info = await a.info('latencystats');
    expect(info).toMatch(/^latency_percentiles_usec_set:p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}\r$/m);
    expect(info).toMatch(/^latency_percentiles_usec_get:p50=/m);
    // Tracking off: nothing more is counted and INFO's section is empty; RESETSTAT empties the histograms.
    await a.config('SET', 'latency-tracking', 'no');
    await eventually(async () => (await b.config('GET', 'latency-tracking'))[1] === 'no');
    await b.set('lh:off', '1');
    expect(await a.info('latencystats')).toBe('# Latencystats\r\n');
    expect(((await a.call('LATENCY', 'HISTOGRAM', 'set')) as unknown[][])[1]![1]).toBe(610);
    await a.config('SET', 'latency-tracking', 'yes');
    await a.config('RESETSTAT');
    expect(await a.call('LATENCY', 'HISTOGRAM', 'set', 'get')).toEqual([]);
  });

  it('redis-cli talks to the server', async () => {
    const { stdout } = await run('redis-cli', ['-p', String(srv.port), 'INFO', 'server']);
    expect(stdout).toContain('redis_version:7.2.0');
    expect(stdout).toContain(`tcp_port:${srv.port}`);
  });
});

describe('MONITOR and SHUTDOWN (a second server)', () => {
  it('MONITOR sees commands from the other worker; SHUTDOWN exits 0; DEBUG is refused by default', async () => {
    const s = await startServer([]);
    try {
      // enable-debug-command defaults to no, as in Redis 7: refused at once, and inside MULTI
      // the refusal aborts EXEC; the setting cannot change at run time.
      const d = await RawConn.connect(s.port);
      const refused =
        '-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n';
      expect(await d.request(enc('DEBUG', 'SLEEP', '0'))).toBe(refused);
      expect(await d.request(enc('MULTI'))).toBe('+OK\r\n');
      expect(await d.request(enc('DEBUG', 'PANIC'))).toBe(refused);
      expect(await d.request(enc('EXEC'))).toBe('-EXECABORT Transaction discarded because of previous errors.\r\n');
      expect(await d.request(enc('CONFIG', 'SET', 'enable-debug-command', 'yes'))).toBe("-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n");
      expect(await d.request(enc('CONFIG', 'GET', 'enable-debug-command'))).toBe('*2\r\n$20\r\nenable-debug-command\r\n$2\r\nno\r\n');
      d.close();

      // The first connection goes to worker 0, the next to worker 1 (fewest connections).
      const mon = await RawConn.connect(s.port);
      expect(await mon.request('*1\r\n$7\r\nMONITOR\r\n')).toBe('+OK\r\n');
      const others = [await RawConn.connect(s.port), await RawConn.connect(s.port)];
      expect(await others[0]!.request('*3\r\n$3\r\nSET\r\n$2\r\nmk\r\n$4\r\na"b\n\r\n')).toBe('+OK\r\n');
      expect(await others[0]!.request('*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$2\r\nhz\r\n')).toContain('hz');
      expect(await others[0]!.request('*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$1\r\np\r\n')).toMatch(/^-/);
      expect(await others[1]!.request('*2\r\n$3\r\nGET\r\n$2\r\nm2\r\n')).toBe('$-1\r\n');
      const text = await mon.until((t) => t.includes('"m2"') && t.includes('"AUTH"'));
      // Arguments appear as the client spelled them, escaped as Redis's sdscatrepr does.
      // Lines from different workers keep each worker's order, not one global order.
      expect(text).toMatch(/(^|\r\n)\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "mk" "a\\"b\\n"\r\n/);
      expect(text).toMatch(/(^|\r\n)\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "AUTH" "\(redacted\)" "\(redacted\)"\r\n/);
      expect(text).toMatch(/(^|\r\n)\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "GET" "m2"\r\n/);
      expect(text.indexOf('"SET" "mk"')).toBeLessThan(text.indexOf('"AUTH"'));
      expect(text).not.toContain('"CONFIG"');
      // A second MONITOR is ignored without a reply, as Redis does.
      const before = text.length;
      mon.write('*1\r\n$7\r\nMONITOR\r\n*1\r\n$4\r\nPING\r\n');
      const after = (await mon.until((t) => t.includes('"PING"'))).slice(before);
      expect(after).toMatch(/^\+PONG\r\n\+\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "PING"\r\n$/);

      const exited = new Promise<number | null>((resolve) => s.proc.once('exit', (code) => resolve(code)));
      const sd = others[1]!;
      await expect(sd.request('*2\r\n$8\r\nSHUTDOWN\r\n$5\r\nABORT\r\n')).resolves.toBe('-ERR No shutdown in progress.\r\n');
      sd.write('*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n');
      expect(await sd.waitClosed(10_000)).toBe(true);
      expect(await sd.until(() => false, 1)).toBe('');
      expect(await exited).toBe(0);
      for (const c of [mon, ...others]) c.close();
    } finally {
      await s.stop();
    }
  });
});
