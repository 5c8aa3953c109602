/**
 * Server-wide shared state: one SharedArrayBuffer created by the main thread and mapped by every
 * worker. Counters a worker writes sit on that worker's own 64-byte line (WorkerStats), so workers
 * never write the same cache line; readers (INFO, the accept loop) sum the lines with Atomics.load.
 */
import { struct } from './struct.ts';

export const SERVER_LAYOUT_VERSION = 12;

/** Workers the layout has room for. */
export const MAX_WORKERS = 256;

/**
 * Slots in the subscriber-count table PUBLISH reads: channels and patterns with subscribers at
 * once (16 bytes each, 1 MiB in all).
 */
export const CHANNEL_SLOTS = 65536;

export const ServerGlobals = struct('ServerGlobals', [
  { name: 'clients', type: 'i32', align: 64, guard: 'atomic (Atomics.add)', doc: 'connected clients, all workers; checked against maxclients at accept' },
  { name: 'pauseUntil', type: 'f64', align: 64, guard: 'atomic via pauseSeq seqlock', doc: 'CLIENT PAUSE end, Unix ms; 0 when not paused' },
  { name: 'pauseMode', type: 'i32', guard: 'atomic', doc: '0 none, 1 WRITE, 2 ALL' },
  { name: 'monitors', type: 'i32', guard: 'atomic (Atomics.add)', doc: 'clients in MONITOR mode, all workers' },
  { name: 'trackers', type: 'i32', guard: 'atomic (Atomics.add)', doc: 'clients with CLIENT TRACKING on, all workers' },
  { name: 'opsPerSec', type: 'i32', guard: 'atomic; written by the main thread only', doc: 'instantaneous_ops_per_sec, sampled every 100 ms' },
  { name: 'clientIds', type: 'i32', guard: 'atomic (Atomics.add)', doc: 'the last client id handed out' },
  { name: 'lastSave', type: 'i32', guard: 'atomic', doc: 'LASTSAVE, Unix seconds' },
  { name: 'statsResetAt', type: 'i32', guard: 'atomic', doc: 'Unix seconds of the last CONFIG RESETSTAT' },
  { name: 'netInPerSec', type: 'f64', guard: 'written by the main thread only; read without a lock (stats)', doc: 'bytes read per second, sampled as opsPerSec (instantaneous_input_kbps × 1024)' },
  { name: 'netOutPerSec', type: 'f64', guard: 'written by the main thread only; read without a lock (stats)', doc: 'bytes written per second, likewise (instantaneous_output_kbps × 1024)' },
  { name: 'channelLock', type: 'i32', align: 64, guard: 'futex mutex (store/lock.ts lockWord)', doc: 'guards every ChannelSlot: lookups, claims and backward-shift deletion' },
  { name: 'channelLockOwner', type: 'i32', guard: 'channelLock: its holder writes it', doc: 'threadId + 1 of the thread holding channelLock, 0 when free: the main thread takes back the lock of a worker that died holding it' },
  { name: 'channelRecovering', type: 'i32', guard: 'channelLock; the main thread sets and clears it', doc: '1 while a rebuilt ChannelSlot table still lacks changes on their way to the main thread (ChannelLedger): counts may go below zero meanwhile, so that changes apply in any order' },
  { name: 'channels', type: 'i32', guard: 'channelLock for writes; INFO reads it with Atomics.load', doc: 'channels with subscribers: the ChannelSlots holding a channel (pubsub_channels)' },
  { name: 'patterns', type: 'i32', guard: 'channelLock for writes; read with Atomics.load', doc: 'patterns with subscribers: the ChannelSlots holding a pattern (PUBSUB NUMPAT, pubsub_patterns; Redis 7 counts patterns, not subscriptions)' },
  { name: 'uncounted', type: 'i32', guard: 'channelLock for writes; read with Atomics.load', doc: 'subscriptions a full table could not count, ever (never decreases): while nonzero, PUBLISH cannot rule out a subscriber from the counts' },
  { name: 'shardChannels', type: 'i32', guard: 'channelLock for writes; read with Atomics.load', doc: 'shard channels with subscribers: the ChannelSlots holding one (pubsubshard_channels)' },
], { align: 64 });

export const WorkerStats = struct('WorkerStats', [
  { name: 'connections', type: 'i32', align: 64, guard: 'atomic; written by the owning worker only', doc: 'open connections on this worker' },
  { name: 'connectionsReceived', type: 'i32', guard: 'atomic; owning worker only', doc: 'total_connections_received' },
  { name: 'rejected', type: 'i32', guard: 'atomic; owning worker only', doc: 'rejected_connections' },
  { name: 'blocked', type: 'i32', guard: 'atomic; owning worker only', doc: 'blocked_clients' },
  { name: 'adopted', type: 'i32', guard: 'atomic; owning worker only', doc: 'sockets adopted since start (never reset): the main thread compares it with its hand-offs' },
  { name: 'commands', type: 'f64', guard: 'owning worker only; read without a lock (stats)', doc: 'total_commands_processed' },
  { name: 'netIn', type: 'f64', guard: 'owning worker only; read without a lock (stats)', doc: 'total_net_input_bytes' },
  { name: 'netOut', type: 'f64', guard: 'owning worker only; read without a lock (stats)', doc: 'total_net_output_bytes' },
  { name: 'monitors', type: 'i32', guard: 'atomic; owning worker only', doc: 'this worker\'s share of ServerGlobals.monitors, taken back by the main thread if the worker dies' },
  { name: 'trackers', type: 'i32', guard: 'atomic; owning worker only', doc: 'this worker\'s share of ServerGlobals.trackers, taken back likewise' },
  { name: 'busPosts', type: 'i32', guard: 'atomic; owning worker only, raised after each post', doc: 'posts on the workers\' bus since start (never reset): a worker that has seen fewer of them has some still to receive' },
  { name: 'expireUs', type: 'f64', guard: 'owning worker only; read without a lock (stats)', doc: 'microseconds its active expiry cycles took (expire_cycle_cpu_milliseconds)' },
  { name: 'expireCapped', type: 'i32', guard: 'atomic; owning worker only', doc: 'active expiry cycles that stopped at their time budget (expired_time_cap_reached_count)' },
  { name: 'expireStale', type: 'f64', guard: 'owning worker only; read without a lock (stats)', doc: 'running average (weight 0.05 per cycle, as Redis) of the share of sampled keys its cycles found expired (expired_stale_perc)' },
  { name: 'trackedKeys', type: 'i32', guard: 'atomic; owning worker only (the main thread zeroes a dead worker\'s)', doc: 'keys in its tracking table: the workers\' sum is held to tracking-table-max-keys' },
  { name: 'channelChanges', type: 'i32', guard: 'ServerGlobals.channelLock; the owning worker raises it, the main thread reads it and zeroes a dead worker\'s', doc: 'its changes to the ChannelSlot counts since it started; the message telling the main thread of each carries the number, so a rebuild of the table knows which it has not heard of yet' },
  { name: 'clientMemory', type: 'f64', guard: 'owning worker only (the main thread zeroes a dead worker\'s); read without a lock', doc: 'memory its clients use (CLIENT LIST tot-mem summed) while maxmemory-clients is on: the workers\' sum is held to that limit' },
  { name: 'clientMemoryTop', type: 'f64', guard: 'owning worker only (the main thread zeroes a dead worker\'s); read without a lock', doc: 'clientMemory of its largest client that may be evicted, as last seen: raised as a client grows, set afresh when it evicts (may be stale high in between)' },
  { name: 'evictedClients', type: 'i32', guard: 'atomic; owning worker only', doc: 'clients it closed to keep within maxmemory-clients (evicted_clients)' },
], { align: 64 });

/**
 * What a slot counts (SharedState.channelAdd), in ServerGlobals.channels, .patterns or
 * .shardChannels: a channel, a pattern, or a shard channel (Redis 7's SSUBSCRIBE namespace, apart
 * from the channels of the same name).
 */
export const SLOT_CHANNEL = 0;
export const SLOT_PATTERN = 1;
export const SLOT_SHARD_CHANNEL = 2;

/**
 * A slot of an open-addressing table (linear probing on hashA, backward-shift deletion): two
 * independent hashes of a channel name or pattern and its subscriber count. A slot exists only
 * while it has subscribers, so the table bounds channels and patterns subscribed at once, not
 * over time.
 */
export const ChannelSlot = struct('ChannelSlot', [
  { name: 'hashA', type: 'u32', guard: 'ServerGlobals.channelLock', doc: 'hash32 of the name, salted for a pattern; 0 = empty' },
  { name: 'hashB', type: 'u32', guard: 'ServerGlobals.channelLock', doc: 'a second hash of the name, salted for a pattern, as an unsigned 32-bit value' },
  { name: 'count', type: 'i32', guard: 'ServerGlobals.channelLock for writes; INFO reads it with Atomics.load', doc: 'subscribers, all workers' },
  { name: 'pad', type: 'u32', guard: 'none', doc: 'keeps slots 16 bytes' },
]);

/** Shards a server can have (the `shards` setting's bound): the width of each worker's WATCH counts. */
export const MAX_SHARDS = 1024;

/**
 * The regions in order: ServerGlobals; a WorkerStats line per worker; the ChannelSlot table;
 * then `watches`, an i32 per worker per shard (MAX_SHARDS each): the WATCH registrations that
 * worker's clients hold on the shard (ShardHeader.watchers counts them all). Atomic; the worker
 * adds and subtracts, the main thread takes a dead worker's back.
 */
export function serverStateLayout(): { globals: number; workers: number; channels: number; watches: number; bytes: number } {
  const globals = 0;
  const workers = globals + ServerGlobals.size;
  const channels = workers + WorkerStats.size * MAX_WORKERS;
  const watches = channels + ChannelSlot.size * CHANNEL_SLOTS;
  return { globals, workers, channels, watches, bytes: watches + 4 * MAX_SHARDS * MAX_WORKERS };
}
