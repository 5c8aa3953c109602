/**
 * The INFO text: Redis's sections, field names and layout ("# Section" headers, `name:value`
 * lines, CRLF line ends, one blank line between sections), built from the shared counters so the
 * numbers cover every worker thread, not only the one that answers.
 *
 * Other modules may replace a section or add one with registerInfoSection (replication fills its
 * section that way).
 */
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { Client } from './client.ts';
import { commandStatsSnapshot, commandstatsLines, errorstatsLines, latencystatsLines, mergeSnapshots } from './command-stats.ts';
import type { MergedStats, StatsSnapshot } from './command-stats.ts';
import type { WorkerContext } from './context.ts';
import type { SharedState } from './shared-state.ts';
import type { StoreStats } from '../store/store.ts';
import { registerQuery } from './queries.ts';
import { trackingFigures } from './tracking.ts';

/** A worker's own figures for INFO, about its clients and sockets. */
export interface LocalFigures {
  /** Query buffers and pending output of every client (mem_clients_normal). */
  clientBuffers: number;
  /** The largest query buffer and the largest pending output of any one client. */
  maxInput: number;
  maxOutput: number;
  reads: number;
  writes: number;
  /** CLIENT TRACKING: keys remembered and client ids over them (summed), BCAST prefixes (each once). */
  trackingKeys: number;
  trackingItems: number;
  trackingPrefixes: string[];
  /** Clients blocked with a timeout (clients_in_timeout_table). */
  timedBlocks: number;
}

/** What one worker answers to INFO's gathering round. */
interface WorkerFigures {
  stats: StatsSnapshot;
  local: LocalFigures;
}

/**
 * What INFO gathered from every worker (ctx.rpc), summed, and the store's figures: read at the
 * first use, once, since they lock every shard and only some sections want them.
 */
export interface Gathered {
  stats: MergedStats;
  local: LocalFigures;
  readonly store: StoreStats;
}

/** `g`: what INFO gathered from every worker. */
type InfoLines = (ctx: WorkerContext, c: Client | null, g: Gathered) => string[];

/** This worker's LocalFigures. */
function localFigures(ctx: WorkerContext): LocalFigures {
  const t = trackingFigures();
  const f: LocalFigures = { clientBuffers: 0, maxInput: 0, maxOutput: 0, reads: ctx.netReads, writes: ctx.netWrites, trackingKeys: t.keys, trackingItems: t.items, trackingPrefixes: t.prefixes, timedBlocks: 0 };
  for (const c of ctx.clients.values()) {
    if (c.blocked !== null && c.blockTimed) f.timedBlocks++;
    const input = c.parser.pending;
    const output = c.socket.writableLength + c.out.len;
    f.clientBuffers += input + output;
    if (input > f.maxInput) f.maxInput = input;
    if (output > f.maxOutput) f.maxOutput = output;
  }
  return f;
}

const NO_STATS: StatsSnapshot = { commands: [], errors: [], errorReplies: 0 };
registerQuery('info-gather', (ctx, args): WorkerFigures => ({ stats: args[0] === false ? NO_STATS : commandStatsSnapshot(args[1] === true), local: localFigures(ctx) }));

/**
 * What every worker has for INFO (and MEMORY STATS), asked in one round and summed; without
 * `withStats`, the command and error statistics are left out (empty); with `withLatency`, the
 * commands' latency histograms are in.
 */
export async function gatherInfo(ctx: WorkerContext, withStats = true, withLatency = false): Promise<Gathered> {
  const parts = await ctx.rpc<(WorkerFigures | null)[]>('info-gather', withStats, withLatency);
  const local: LocalFigures = { clientBuffers: 0, maxInput: 0, maxOutput: 0, reads: 0, writes: 0, trackingKeys: 0, trackingItems: 0, trackingPrefixes: [], timedBlocks: 0 };
  const prefixes = new Set<string>();
  for (const p of parts) {
    if (p === null) continue;
    local.clientBuffers += p.local.clientBuffers;
    local.maxInput = Math.max(local.maxInput, p.local.maxInput);
    local.maxOutput = Math.max(local.maxOutput, p.local.maxOutput);
    local.reads += p.local.reads;
    local.writes += p.local.writes;
    local.trackingKeys += p.local.trackingKeys;
    local.trackingItems += p.local.trackingItems;
    local.timedBlocks += p.local.timedBlocks;
    for (const x of p.local.trackingPrefixes) prefixes.add(x);
  }
  local.trackingPrefixes = [...prefixes];
  let store: StoreStats | null = null;
  return {
    stats: mergeSnapshots(parts.map((p) => p?.stats ?? null)),
    local,
    get store() {
      return (store ??= ctx.store.stats());
    },
  };
}

interface Section {
  /** Lower-case name, as INFO's argument spells it. */
  readonly name: string;
  readonly title: string;
  readonly inDefault: boolean;
  build: InfoLines;
}

const pkgVersion = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Redis's bytesToHuman. */
export function bytesToHuman(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (const u of units) {
    if (d < 1024 || u === 'P') return `${d.toFixed(2)}${u}`;
    d /= 1024;
  }
  return `${n}B`;
}

/** used_memory_peak: the highest used_memory this thread has seen reported. */
let peak = 0;

/** The port the server listens on: the client's local port (the setting may say 0). */
function tcpPort(ctx: WorkerContext, c: Client | null): string {
  const m = c === null ? null : /:(\d+)$/.exec(c.laddr);
  return m?.[1] ?? ctx.config.get('port') ?? '0';
}

const masterReplIds = new Map<string, string>();
export function masterReplId(ctx: WorkerContext): string {
  let id = masterReplIds.get(ctx.runId);
  if (id === undefined) {
    id = createHash('sha1').update(`replid:${ctx.runId}`).digest('hex');
    masterReplIds.set(ctx.runId, id);
  }
  return id;
}

const secs = (us: number) => (us / 1e6).toFixed(6);

function server(ctx: WorkerContext, c: Client | null): string[] {
  const nowMs = performance.timeOrigin + performance.now();
  const uptime = Math.floor((Date.now() - ctx.startedAt) / 1000);
  const hz = ctx.config.get('hz') ?? '10';
  return [
    `redis_version:${ctx.config.get('redis-version') ?? '7.2.0'}`,
    `shardcache_version:${pkgVersion}`,
    'redis_git_sha1:00000000',
    'redis_git_dirty:0',
    `redis_build_id:${createHash('sha1').update(pkgVersion).digest('hex').slice(0, 16)}`,
    'redis_mode:standalone',
    `os:${os.type()} ${os.release()} ${os.machine()}`,
    `arch_bits:${process.arch.endsWith('64') ? 64 : 32}`,
    'monotonic_clock:POSIX clock_gettime',
    `multiplexing_api:${process.platform === 'linux' ? 'epoll' : process.platform === 'win32' ? 'iocp' : 'kqueue'}`,
    'atomicvar_api:c11-builtin',
    'gcc_version:0.0.0',
    `node_version:${process.versions.node}`,
    `process_id:${process.pid}`,
    'process_supervised:no',
    `run_id:${ctx.runId}`,
    `tcp_port:${tcpPort(ctx, c)}`,
    `server_time_usec:${Math.round(nowMs * 1000)}`,
    `uptime_in_seconds:${uptime}`,
    `uptime_in_days:${Math.floor(uptime / 86400)}`,
    `hz:${hz}`,
    `configured_hz:${hz}`,
    `lru_clock:${Math.floor(nowMs / 1000) & 0xffffff}`,
    `executable:${ctx.config.get('executable') ?? process.execPath}`,
    `config_file:${ctx.config.get('config-file') ?? ''}`,
    `io_threads_active:${ctx.workers > 1 ? 1 : 0}`,
    `threads:${ctx.workers}`,
    `shards:${ctx.store.shards.length}`,
  ];
}

function clients(ctx: WorkerContext, _c: Client | null, g: Gathered): string[] {
  const s = ctx.shared;
  return [
    `connected_clients:${s.get('clients')}`,
    'cluster_connections:0',
    `maxclients:${ctx.config.get('maxclients') ?? '10000'}`,
    `client_recent_max_input_buffer:${g.local.maxInput}`,
    `client_recent_max_output_buffer:${g.local.maxOutput}`,
    `blocked_clients:${s.sum('blocked', ctx.workers)}`,
    `tracking_clients:${s.get('trackers')}`,
    `clients_in_timeout_table:${g.local.timedBlocks}`,
    'total_blocking_keys:0',
    'total_blocking_keys_on_nokey:0',
  ];
}

/**
 * Redis's memory figures, from the store's own accounting: used is the shards' headers, indexes
 * and arena pages in use; the "allocator" is the slab arena (allocated: what items fill, active:
 * the pages in use, resident: every arena page). Client buffers are not part of used; INFO shows
 * them as mem_clients_normal.
 */
export interface MemoryFigures {
  used: number;
  peak: number;
  rss: number;
  overhead: number;
  startup: number;
  dataset: number;
  allocated: number;
  resident: number;
  keys: number;
  /** The shards' indexes alone (MEMORY STATS shares it out among the databases). */
  index: number;
}

/** INFO memory's and MEMORY STATS's figures from the store's statistics (Gathered.store). */
export function memoryFigures(st: StoreStats): MemoryFigures {
  const used = st.usedBytes;
  if (used > peak) peak = used;
  return {
    used,
    peak,
    rss: process.memoryUsage.rss(),
    overhead: st.overheadBytes,
    startup: st.startupBytes,
    dataset: used - st.overheadBytes,
    allocated: used - st.freeChunkBytes,
    resident: st.overheadBytes + st.arenaBytes,
    keys: st.keys,
    index: st.indexBytes,
  };
}

/** a / b, or 0 when b is 0, as Redis's memory ratios are. */
export const quotient = (a: number, b: number) => (b === 0 ? 0 : a / b);
/** Redis's "%.2f" of a ratio, 0 when the divisor is. */
const ratio = (a: number, b: number) => quotient(a, b).toFixed(2);

/** No scripting, replication backlog or AOF buffer exists, so those fields are 0. */
function memory(ctx: WorkerContext, _c: Client | null, g: Gathered): string[] {
  const f = memoryFigures(g.store);
  const { used, rss, resident, allocated } = f;
  const max = Number(ctx.config.get('maxmemory') ?? 0);
  const total = os.totalmem();
  return [
    `used_memory:${used}`,
    `used_memory_human:${bytesToHuman(used)}`,
    `used_memory_rss:${rss}`,
    `used_memory_rss_human:${bytesToHuman(rss)}`,
    `used_memory_peak:${f.peak}`,
    `used_memory_peak_human:${bytesToHuman(f.peak)}`,
    `used_memory_peak_perc:${(f.peak === 0 ? 100 : (used * 100) / f.peak).toFixed(2)}%`,
    `used_memory_overhead:${f.overhead}`,
    `used_memory_startup:${f.startup}`,
    `used_memory_dataset:${f.dataset}`,
    `used_memory_dataset_perc:${(used <= f.startup ? 0 : (f.dataset * 100) / (used - f.startup)).toFixed(2)}%`,
    `allocator_allocated:${allocated}`,
    `allocator_active:${used}`,
    `allocator_resident:${resident}`,
    `total_system_memory:${total}`,
    `total_system_memory_human:${bytesToHuman(total)}`,
    'used_memory_lua:0',
    'used_memory_vm_eval:0',
    'used_memory_lua_human:0B',
    'used_memory_scripts_eval:0',
    'number_of_cached_scripts:0',
    'number_of_functions:0',
    'number_of_libraries:0',
    'used_memory_vm_functions:0',
    'used_memory_vm_total:0',
    'used_memory_vm_total_human:0B',
    'used_memory_functions:0',
    'used_memory_scripts:0',
    'used_memory_scripts_human:0B',
    `maxmemory:${max}`,
    `maxmemory_human:${bytesToHuman(max)}`,
    `maxmemory_policy:${ctx.config.get('maxmemory-policy') ?? 'noeviction'}`,
    `allocator_frag_ratio:${ratio(used, allocated)}`,
    `allocator_frag_bytes:${used - allocated}`,
    `allocator_rss_ratio:${ratio(resident, used)}`,
    `allocator_rss_bytes:${resident - used}`,
    `rss_overhead_ratio:${ratio(rss, resident)}`,
    `rss_overhead_bytes:${rss - resident}`,
    `mem_fragmentation_ratio:${ratio(rss, used)}`,
    `mem_fragmentation_bytes:${rss - used}`,
    'mem_not_counted_for_evict:0',
    'mem_replication_backlog:0',
    'mem_total_replication_buffers:0',
    'mem_clients_slaves:0',
    `mem_clients_normal:${g.local.clientBuffers}`,
    'mem_cluster_links:0',
    'mem_aof_buffer:0',
    'mem_allocator:shardcache-slab',
    'active_defrag_running:0',
    'lazyfree_pending_objects:0',
    'lazyfreed_objects:0',
  ];
}

/** No persistence and no fork yet: Redis's fields for a server that never saved. */
function persistence(ctx: WorkerContext): string[] {
  return [
    'loading:0',
    'async_loading:0',
    'current_cow_peak:0',
    'current_cow_size:0',
    'current_cow_size_age:0',
    'current_fork_perc:0.00',
    'current_save_keys_processed:0',
    'current_save_keys_total:0',
    'rdb_changes_since_last_save:0',
    'rdb_bgsave_in_progress:0',
    `rdb_last_save_time:${ctx.shared.get('lastSave')}`,
    'rdb_last_bgsave_status:ok',
    'rdb_last_bgsave_time_sec:-1',
    'rdb_current_bgsave_time_sec:-1',
    'rdb_saves:0',
    'rdb_last_cow_size:0',
    'rdb_last_load_keys_expired:0',
    'rdb_last_load_keys_loaded:0',
    'aof_enabled:0',
    'aof_rewrite_in_progress:0',
    'aof_rewrite_scheduled:0',
    'aof_last_rewrite_time_sec:-1',
    'aof_current_rewrite_time_sec:-1',
    'aof_last_bgrewrite_status:ok',
    'aof_rewrites:0',
    'aof_rewrites_consecutive_failures:0',
    'aof_last_write_status:ok',
    'aof_last_cow_size:0',
    'module_fork_in_progress:0',
    'module_fork_last_cow_size:0',
  ];
}

/**
 * expired_stale_perc: the mean of the workers' running averages, in percent. Each worker runs the
 * expiry cycle of the shards it owns, which hold about as many keys as the others'.
 */
function staleShare(s: SharedState, workers: number): number {
  return workers === 0 ? 0 : (s.total('expireStale', workers) / workers) * 100;
}

function stats(ctx: WorkerContext, _c: Client | null, g: Gathered): string[] {
  const s = ctx.shared;
  const w = ctx.workers;
  const st = g.store;
  return [
    `total_connections_received:${s.sum('connectionsReceived', w)}`,
    `total_commands_processed:${Math.round(s.total('commands', w))}`,
    `instantaneous_ops_per_sec:${s.get('opsPerSec')}`,
    `total_net_input_bytes:${Math.round(s.total('netIn', w))}`,
    `total_net_output_bytes:${Math.round(s.total('netOut', w))}`,
    'total_net_repl_input_bytes:0',
    'total_net_repl_output_bytes:0',
    `instantaneous_input_kbps:${(s.rate('netInPerSec') / 1024).toFixed(2)}`,
    `instantaneous_output_kbps:${(s.rate('netOutPerSec') / 1024).toFixed(2)}`,
    'instantaneous_input_repl_kbps:0.00',
    'instantaneous_output_repl_kbps:0.00',
    `rejected_connections:${s.sum('rejected', w)}`,
    'sync_full:0',
    'sync_partial_ok:0',
    'sync_partial_err:0',
    `expired_keys:${st.expired}`,
    `expired_stale_perc:${staleShare(s, w).toFixed(2)}`,
    `expired_time_cap_reached_count:${s.sum('expireCapped', w)}`,
    `expire_cycle_cpu_milliseconds:${Math.round(s.total('expireUs', w) / 1000)}`,
    `evicted_keys:${st.evicted}`,
    `evicted_clients:${s.sum('evictedClients', w)}`,
    'total_eviction_exceeded_time:0',
    'current_eviction_exceeded_time:0',
    `keyspace_hits:${st.hits}`,
    `keyspace_misses:${st.misses}`,
    `pubsub_channels:${ctx.shared.activeChannels()}`,
    `pubsub_patterns:${s.activePatterns()}`,
    `pubsubshard_channels:${s.activeShardChannels()}`,
    'latest_fork_usec:0',
    'total_forks:0',
    'migrate_cached_sockets:0',
    'slave_expires_tracked_keys:0',
    'active_defrag_hits:0',
    'active_defrag_misses:0',
    'active_defrag_key_hits:0',
    'active_defrag_key_misses:0',
    'total_active_defrag_time:0',
    'current_active_defrag_time:0',
    `tracking_total_keys:${g.local.trackingKeys}`,
    `tracking_total_items:${g.local.trackingItems}`,
    `tracking_total_prefixes:${g.local.trackingPrefixes.length}`,
    'unexpected_error_replies:0',
    `total_error_replies:${g.stats.errorReplies}`,
    'dump_payload_sanitizations:0',
    `total_reads_processed:${g.local.reads}`,
    `total_writes_processed:${g.local.writes}`,
    'io_threaded_reads_processed:0',
    'io_threaded_writes_processed:0',
    'reply_buffer_shrinks:0',
    'reply_buffer_expands:0',
  ];
}

function replication(ctx: WorkerContext): string[] {
  return [
    'role:master',
    'connected_slaves:0',
    'master_failover_state:no-failover',
    `master_replid:${masterReplId(ctx)}`,
    'master_replid2:0000000000000000000000000000000000000000',
    'master_repl_offset:0',
    'second_repl_offset:-1',
    'repl_backlog_active:0',
    'repl_backlog_size:1048576',
    'repl_backlog_first_byte_offset:0',
    'repl_backlog_histlen:0',
  ];
}

/**
 * used_cpu_* cover the whole process, the main thread and every worker. Redis's "main thread" is
 * the one that runs commands; here that is each worker, so *_main_thread is the answering one's.
 */
function cpu(): string[] {
  const u = process.cpuUsage();
  const t = process.threadCpuUsage();
  return [
    `used_cpu_sys:${secs(u.system)}`,
    `used_cpu_user:${secs(u.user)}`,
    'used_cpu_sys_children:0.000000',
    'used_cpu_user_children:0.000000',
    `used_cpu_sys_main_thread:${secs(t.system)}`,
    `used_cpu_user_main_thread:${secs(t.user)}`,
  ];
}

function cluster(): string[] {
  return ['cluster_enabled:0'];
}

function keyspace(ctx: WorkerContext): string[] {
  return ctx.store
    .keyspace()
    .filter((d) => d.keys > 0)
    .map((d) => `db${d.db}:keys=${d.keys},expires=${d.expires},avg_ttl=0`);
}

const SECTIONS: Section[] = [
  { name: 'server', title: 'Server', inDefault: true, build: server },
  { name: 'clients', title: 'Clients', inDefault: true, build: clients },
  { name: 'memory', title: 'Memory', inDefault: true, build: memory },
  { name: 'persistence', title: 'Persistence', inDefault: true, build: persistence },
  { name: 'stats', title: 'Stats', inDefault: true, build: stats },
  { name: 'replication', title: 'Replication', inDefault: true, build: replication },
  { name: 'cpu', title: 'CPU', inDefault: true, build: cpu },
  { name: 'modules', title: 'Modules', inDefault: true, build: () => [] },
  { name: 'commandstats', title: 'Commandstats', inDefault: false, build: (_ctx, _c, g) => commandstatsLines(g.stats) },
  { name: 'errorstats', title: 'Errorstats', inDefault: true, build: (_ctx, _c, g) => errorstatsLines(g.stats) },
  // Empty while latency-tracking is off, as Redis's; the histograms are kept meanwhile.
  { name: 'latencystats', title: 'Latencystats', inDefault: false, build: (ctx, _c, g) => (ctx.latencyTracking ? latencystatsLines(g.stats, ctx.latencyPercentiles) : []) },
  { name: 'cluster', title: 'Cluster', inDefault: true, build: cluster },
  { name: 'keyspace', title: 'Keyspace', inDefault: true, build: keyspace },
];

export function infoSectionNames(): string[] {
  return SECTIONS.map((s) => s.name);
}

/** The section names INFO's arguments ask for (any case; none means `default`). */
function wantedSections(requested: readonly string[]): Set<string> {
  const want = new Set<string>();
  const args = requested.length === 0 ? ['default'] : requested.map((r) => r.toLowerCase());
  for (const a of args) {
    if (a === 'all' || a === 'everything') {
      for (const s of SECTIONS) want.add(s.name);
    } else if (a === 'default') {
      for (const s of SECTIONS) if (s.inDefault) want.add(s.name);
    } else want.add(a);
  }
  return want;
}

/**
 * The INFO reply text for the requested section names (any case; none means `default`), in
 * Redis's section order whatever the argument order; unknown names contribute nothing. The
 * latency histograms are gathered only when latencystats is asked for.
 */
export async function infoText(ctx: WorkerContext, c: Client | null, requested: readonly string[]): Promise<string> {
  const want = wantedSections(requested);
  const gathered = await gatherInfo(ctx, true, want.has('latencystats'));
  let out = '';
  for (const s of SECTIONS) {
    if (!want.has(s.name)) continue;
    if (out !== '') out += '\r\n';
    out += `# ${s.title}\r\n`;
    for (const line of s.build(ctx, c, gathered)) out += `${line}\r\n`;
  }
  return out;
}

/** CONFIG RESETSTAT: the statistics this module keeps itself (the memory peak). */
export function resetInfoStats(): void {
  peak = 0;
}
