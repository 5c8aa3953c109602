/**
 * Diagnostics: MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE) and LATENCY (LATEST, HISTORY,
 * RESET, HISTOGRAM, GRAPH, DOCTOR).
 *
 * Latency samples are kept per worker and merged with ctx.rpc; those handlers are asynchronous
 * and flagged `gathers`, so EXEC runs them after its atomic part.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { findCommand } from '../command-docs.ts';
import { latencyBuckets } from '../command-stats.ts';
import { onAfterCommand } from '../dispatch.ts';
import { bytesToHuman, gatherInfo, memoryFigures, quotient } from '../info.ts';
import { installWhenReady } from '../monitor.ts';
import { latencyGraphText } from '../latency-graph.ts';
import type { LatencyEvent } from '../latency-graph.ts';
import { registerQuery } from '../queries.ts';
import { help, intArg, replyError, str, syntaxError, word } from './args.ts';
import { ADMIN, cmd, HELP_SUMMARY, LS, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// ---- MEMORY ------------------------------------------------------------------------------------

// MEMORY USAGE key [SAMPLES count]
function memoryUsage(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  for (let i = 3; i < argv.length; i++) {
    if (word(argv[i]!) === 'samples' && i + 1 < argv.length) {
      if (intArg(argv[++i]!) < 0) throw syntaxError();
    } else throw syntaxError();
  }
  const n = c.store.memoryUsage(argv[2]!);
  if (n === null) c.out.nil();
  else c.out.int(n);
}

// MEMORY STATS
async function memoryStats(ctx: WorkerContext, c: Client): Promise<void> {
  // Every worker's client buffers; their command statistics are not wanted here.
  const { local, store } = await gatherInfo(ctx, false);
  const f = memoryFigures(store);
  const net = f.used - f.startup;
  // Redis keeps these ratios as floats.
  const fl = (a: number, b: number) => Math.fround(quotient(a, b));
  const ints: [string, number][] = [
    ['peak.allocated', f.peak],
    ['total.allocated', f.used],
    ['startup.allocated', f.startup],
    ['replication.backlog', 0],
    ['clients.slaves', 0],
    ['clients.normal', local.clientBuffers],
    ['cluster.links', 0],
    ['aof.buffer', 0],
    ['lua.caches', 0],
    ['functions.caches', 0],
  ];
  const rest: [string, number, 'int' | 'float'][] = [
    ['overhead.total', f.overhead, 'int'],
    ['keys.count', f.keys, 'int'],
    ['keys.bytes-per-key', f.keys === 0 ? 0 : Math.floor(net / f.keys), 'int'],
    ['dataset.bytes', f.dataset, 'int'],
    ['dataset.percentage', fl(f.dataset * 100, net), 'float'],
    ['peak.percentage', fl(f.used * 100, f.peak), 'float'],
    ['allocator.allocated', f.allocated, 'int'],
    ['allocator.active', f.used, 'int'],
    ['allocator.resident', f.resident, 'int'],
    ['allocator-fragmentation.ratio', fl(f.used, f.allocated), 'float'],
    ['allocator-fragmentation.bytes', f.used - f.allocated, 'int'],
    ['allocator-rss.ratio', fl(f.resident, f.used), 'float'],
    ['allocator-rss.bytes', f.resident - f.used, 'int'],
    ['rss-overhead.ratio', fl(f.rss, f.resident), 'float'],
    ['rss-overhead.bytes', f.rss - f.resident, 'int'],
    ['fragmentation', fl(f.rss, f.used), 'float'],
    ['fragmentation.bytes', f.rss - f.used, 'int'],
  ];
  // The index holds every database's keys; each database that has keys is given its share. TTLs
  // live in the items, so no separate expires table exists.
  const dbs = ctx.store.keyspace().filter((d) => d.keys > 0);
  c.out.map(ints.length + dbs.length + rest.length);
  for (const [k, v] of ints) {
    c.out.bulkStr(k);
    c.out.int(v);
  }
  for (const d of dbs) {
    c.out.bulkStr(`db.${d.db}`);
    c.out.map(3);
    c.out.bulkStr('overhead.hashtable.main');
    c.out.int(Math.round((f.index * d.keys) / f.keys));
    c.out.bulkStr('overhead.hashtable.expires');
    c.out.int(0);
    c.out.bulkStr('overhead.hashtable.slot-to-keys');
    c.out.int(0);
  }
  for (const [k, v, kind] of rest) {
    c.out.bulkStr(k);
    if (kind === 'int') c.out.int(v);
    else c.out.double(v);
  }
}

/** Below this much data, MEMORY DOCTOR has nothing to say (Redis's doctor uses the same bound). */
const DOCTOR_MIN_BYTES = 5 * 1024 * 1024;

// MEMORY DOCTOR
async function memoryDoctor(ctx: WorkerContext, c: Client): Promise<void> {
  const { local, store } = await gatherInfo(ctx, false);
  const f = memoryFigures(store);
  const max = Number(ctx.config.get('maxmemory') ?? 0);
  const h = bytesToHuman;
  if (f.used < DOCTOR_MIN_BYTES) {
    c.out.verbatim(`This instance holds little data (used_memory ${h(f.used)}): there is nothing to diagnose yet. Ask again once it holds some.\n`);
    return;
  }
  const found: string[] = [];
  if (f.peak > f.used * 1.5) {
    found.push(`Peak memory (${h(f.peak)}) was ${(f.peak / f.used).toFixed(2)} times what is used now (${h(f.used)}). The slab pages stay mapped for reuse, so the process does not shrink after a burst of writes or a flush.`);
  }
  const free = f.used - f.allocated;
  if (free > f.used * 0.3) {
    found.push(`${h(free)} of the ${h(f.used)} in use is free chunks held by their slab size class (allocator-fragmentation.bytes in MEMORY STATS). Values of other sizes cannot use them: writes of a new size evict or fail while this memory sits idle. A smaller slab-growth-factor wastes less per item.`);
  }
  if (f.rss > f.used * 1.4 && f.rss - f.used > DOCTOR_MIN_BYTES) {
    found.push(`The process's resident memory (${h(f.rss)}) is ${(f.rss / f.used).toFixed(2)} times used_memory (${h(f.used)}): the difference is the JavaScript heaps and code of the threads, their stacks, and socket buffers, none of which the data bound counts.`);
  }
  if (max > 0 && f.used > max * 0.9) {
    const policy = ctx.config.get('maxmemory-policy') ?? 'noeviction';
    found.push(`Used memory (${h(f.used)}) is within 10% of maxmemory (${h(max)}). ${policy === 'noeviction' ? 'With maxmemory-policy noeviction, writes that need memory are refused with an OOM error.' : `Keys are being evicted (maxmemory-policy ${policy}) to make room for writes.`}`);
  }
  if (local.maxOutput > 32 * 1024 * 1024) {
    found.push(`A client has ${h(local.maxOutput)} of replies it has not read yet (client_recent_max_output_buffer in INFO). client-output-buffer-limit bounds this for the normal and pubsub classes.`);
  }
  if (local.maxInput > 32 * 1024 * 1024) {
    found.push(`A client's query buffer holds ${h(local.maxInput)} (client_recent_max_input_buffer in INFO): a very large request or a pipeline sent faster than it runs. client-query-buffer-limit bounds it.`);
  }
  if (found.length === 0) {
    c.out.verbatim(`No memory problem found. used_memory ${h(f.used)} (peak ${h(f.peak)}), ${f.keys} keys, resident ${h(f.rss)}${max > 0 ? `, maxmemory ${h(max)}` : ', no maxmemory set'}.\n`);
    return;
  }
  c.out.verbatim(`Memory findings:\n\n${found.map((t) => `- ${t}`).join('\n\n')}\n`);
}

// MEMORY MALLOC-STATS
function memoryMallocStats(_ctx: WorkerContext, c: Client): void {
  c.out.verbatim('Stats not supported for the current allocator');
}

// MEMORY PURGE
function memoryPurge(_ctx: WorkerContext, c: Client): void {
  // The slab arena keeps its pages for reuse; there is no allocator cache to hand back.
  c.out.ok();
}

// MEMORY HELP
function memoryHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'DOCTOR',
    '    Return memory problems reports.',
    'MALLOC-STATS',
    '    Return internal statistics report from the memory allocator.',
    'PURGE',
    '    Attempt to purge dirty pages for reclamation by the allocator.',
    'STATS',
    '    Return information about the memory usage of the server.',
    'USAGE <key> [SAMPLES <count>]',
    '    Return memory in bytes used by <key> and its value. Nested values are',
    '    sampled up to <count> times (default: 5, 0 means sample all).',
    'HELP',
    '    Prints this help.',
  ]);
}

// ---- LATENCY -----------------------------------------------------------------------------------

/** Samples kept per event (Redis's LATENCY_TS_LEN). */
const LATENCY_SAMPLES = 160;

interface LatencyState {
  threshold: number;
  events: Map<string, LatencyEvent>;
}

const latencyStates = new WeakMap<WorkerContext, LatencyState>();
let latencyCtx: WorkerContext | null = null;
let latencyState: LatencyState | null = null;

function latencyOf(ctx: WorkerContext): LatencyState {
  if (ctx === latencyCtx) return latencyState!;
  let st = latencyStates.get(ctx);
  if (st === undefined) {
    const s: LatencyState = { threshold: Number(ctx.config.get('latency-monitor-threshold') ?? 0), events: new Map() };
    ctx.onConfig((name, value) => {
      if (name === 'latency-monitor-threshold') s.threshold = Number(value);
    });
    latencyStates.set(ctx, s);
    st = s;
  }
  latencyCtx = ctx;
  latencyState = st;
  return st;
}

function latencyAddSample(ctx: WorkerContext, event: string, ms: number): void {
  const st = latencyOf(ctx);
  let e = st.events.get(event);
  if (e === undefined) st.events.set(event, (e = { samples: [], max: 0 }));
  const now = Math.floor(Date.now() / 1000);
  const last = e.samples[e.samples.length - 1];
  if (last !== undefined && last[0] === now) last[1] = Math.max(last[1], ms);
  else {
    e.samples.push([now, ms]);
    if (e.samples.length > LATENCY_SAMPLES) e.samples.shift();
  }
  if (ms > e.max) e.max = ms;
}

/** A sample of `event` when latency monitoring is on and `ms` reaches its threshold (Redis's latencyAddSampleIfNeeded). */
export function latencySampleIfNeeded(ctx: WorkerContext, event: string, ms: number): void {
  const st = latencyOf(ctx);
  if (st.threshold > 0 && ms >= st.threshold) latencyAddSample(ctx, event, Math.round(ms));
}

/** Commands slower than latency-monitor-threshold (ms) become 'command' / 'fast-command' samples. */
function latencyHook(ctx: WorkerContext, c: Client, spec: CommandSpec): void {
  if (latencyOf(ctx).threshold <= 0) return;
  latencySampleIfNeeded(ctx, spec.flags.includes('fast') ? 'fast-command' : 'command', Date.now() - c.lastInteraction);
}
installWhenReady(() => onAfterCommand(latencyHook));

registerQuery('server-latency-latest', (ctx) => [...latencyOf(ctx).events].map(([name, e]) => ({ name, last: e.samples[e.samples.length - 1] ?? [0, 0], max: e.max })));
// This worker's record of the events named, or of every event when none is.
registerQuery('server-latency-history', (ctx, args) => {
  const events = latencyOf(ctx).events;
  return args.length === 0 ? [...events] : (args as string[]).flatMap((n) => (events.has(n) ? [[n, events.get(n)!]] : []));
});
registerQuery('server-latency-reset', (ctx, args) => {
  const events = latencyOf(ctx).events;
  const names = args as string[];
  const reset: string[] = [];
  for (const n of names.length === 0 ? [...events.keys()] : names) if (events.delete(n)) reset.push(n);
  return reset;
});

// LATENCY LATEST
async function latencyLatest(ctx: WorkerContext, c: Client): Promise<void> {
  const per = await ctx.rpc<({ name: string; last: [number, number]; max: number }[] | null)[]>('server-latency-latest');
  const merged = new Map<string, { last: [number, number]; max: number }>();
  for (const list of per) {
    for (const e of list ?? []) {
      const m = merged.get(e.name);
      if (m === undefined) merged.set(e.name, { last: e.last, max: e.max });
      else {
        if (e.last[0] > m.last[0] || (e.last[0] === m.last[0] && e.last[1] > m.last[1])) m.last = e.last;
        m.max = Math.max(m.max, e.max);
      }
    }
  }
  c.out.array(merged.size);
  for (const [name, m] of merged) {
    c.out.array(4);
    c.out.bulkStr(name);
    c.out.int(m.last[0]);
    c.out.int(m.last[1]);
    c.out.int(m.max);
  }
}

/**
 * The events of all workers (the one named, or all of them), each with its samples oldest first
 * and its all-time high, in one round of queries.
 */
async function eventHistories(ctx: WorkerContext, event?: string): Promise<Map<string, LatencyEvent>> {
  const per = await ctx.rpc<([string, LatencyEvent][] | null)[]>('server-latency-history', ...(event === undefined ? [] : [event]));
  // Each worker keeps the largest latency of each second; the server's is the largest of those.
  const merged = new Map<string, { bySecond: Map<number, number>; max: number }>();
  for (const list of per) {
    for (const [name, e] of list ?? []) {
      let m = merged.get(name);
      if (m === undefined) merged.set(name, (m = { bySecond: new Map(), max: 0 }));
      m.max = Math.max(m.max, e.max);
      for (const [t, ms] of e.samples) m.bySecond.set(t, Math.max(ms, m.bySecond.get(t) ?? 0));
    }
  }
  const out = new Map<string, LatencyEvent>();
  for (const [name, m] of merged) out.set(name, { samples: [...m.bySecond].sort((a, b) => a[0] - b[0]).slice(-LATENCY_SAMPLES), max: m.max });
  return out;
}

// LATENCY HISTORY event
async function latencyHistory(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  const event = str(argv[2]!);
  const samples = (await eventHistories(ctx, event)).get(event)?.samples ?? [];
  c.out.array(samples.length);
  for (const [t, ms] of samples) {
    c.out.array(2);
    c.out.int(t);
    c.out.int(ms);
  }
}

// LATENCY RESET [event [event ...]]
async function latencyReset(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  const per = await ctx.rpc<(string[] | null)[]>('server-latency-reset', ...argv.slice(2).map((a) => str(a)));
  c.out.int(new Set(per.flatMap((l) => l ?? [])).size);
}

// LATENCY GRAPH event
async function latencyGraph(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  const event = str(argv[2]!);
  const e = (await eventHistories(ctx, event)).get(event);
  if (e === undefined || e.samples.length === 0) throw replyError(`ERR No samples available for event '${event}'`);
  c.out.verbatim(latencyGraphText(event, e, Math.floor(Date.now() / 1000)));
}

/** What LATENCY DOCTOR says of one event: spikes, their mean and mean deviation, how often. */
function eventSummary(name: string, e: LatencyEvent): string {
  const ms = e.samples.map(([, v]) => v);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  const dev = ms.reduce((a, b) => a + Math.abs(b - mean), 0) / ms.length;
  const first = e.samples[0]![0];
  const last = e.samples[e.samples.length - 1]![0];
  const period = ms.length > 1 ? `, one every ${((last - first) / (ms.length - 1)).toFixed(2)} s` : '';
  return `${name}: ${ms.length} latency spike${ms.length === 1 ? '' : 's'} (average ${Math.round(mean)} ms, mean deviation ${Math.round(dev)} ms${period}). Worst ever: ${e.max} ms.`;
}

// LATENCY DOCTOR
async function latencyDoctor(ctx: WorkerContext, c: Client): Promise<void> {
  const threshold = latencyOf(ctx).threshold;
  if (threshold <= 0) {
    c.out.verbatim('Latency monitoring is off (latency-monitor-threshold is 0), so there is nothing to report. Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>.\n');
    return;
  }
  const events = [...(await eventHistories(ctx))].filter(([, e]) => e.samples.length > 0).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  if (events.length === 0) {
    c.out.verbatim(`No latency spike of ${threshold} ms or more (latency-monitor-threshold) was seen since the server started or since the last LATENCY RESET.\n`);
    return;
  }
  const advice: string[] = [];
  if (events.some(([n]) => n === 'command' || n === 'fast-command')) {
    advice.push('SLOWLOG GET lists the slow commands, with their arguments and clients.');
    const slower = Number(ctx.config.get('slowlog-log-slower-than') ?? 10000);
    const logs = `CONFIG SET slowlog-log-slower-than ${threshold * 1000} makes it record every command slow enough to be a spike here.`;
    if (slower < 0) advice.push(`The slow log is off (slowlog-log-slower-than -1): ${logs}`);
    else if (slower > threshold * 1000) advice.push(`The slow log records only commands slower than ${slower} µs, more than the ${threshold} ms latency threshold: ${logs}`);
    advice.push('Commands over many keys (KEYS, FLUSHALL SYNC, a large MGET or DEL) hold shard locks for their whole run: SCAN and UNLINK or FLUSHALL ASYNC spread that work.');
  }
  if (events.some(([n]) => n === 'fast-command')) {
    advice.push('A command that should take O(1) time was slow: the host may be short of CPU (other processes, more worker threads than cores), swapping, or the thread was paused for garbage collection.');
  }
  if (events.some(([n]) => n === 'expire-cycle')) {
    advice.push('The active expiry cycle ran long: many keys expire in the same second. Spreading their TTLs with some random jitter evens out the work.');
  }
  const report = [
    `Latency spikes of ${threshold} ms or more (latency-monitor-threshold) were seen:`,
    '',
    ...events.map(([n, e], i) => `${i + 1}. ${eventSummary(n, e)}`),
    '',
    'Advice:',
    '',
    ...advice.map((a) => `- ${a}`),
  ];
  c.out.verbatim(report.join('\n') + '\n');
}

// LATENCY HISTOGRAM [command [command ...]]
async function latencyHistogram(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  const { stats } = await gatherInfo(ctx, true, true);
  const byName = new Map(stats.commands);
  // Every command with a histogram, or those named (a container stands for its subcommands;
  // unknown names are skipped and repeated ones repeated, as Redis does).
  let names: string[];
  if (argv.length === 2) names = stats.commands.map(([n]) => n);
  else {
    names = [];
    for (const a of argv.slice(2)) {
      const spec = findCommand(str(a));
      if (spec === undefined) continue;
      if (spec.handler !== undefined) names.push(spec.name);
      for (const sub of spec.subcommands ?? []) names.push(sub.name);
    }
  }
  const rows: [string, { calls: number; buckets: [number, number][] }][] = [];
  for (const n of names) {
    const s = byName.get(n);
    const figures = s === undefined ? null : latencyBuckets(s);
    if (figures !== null) rows.push([n, figures]);
  }
  c.out.map(rows.length);
  for (const [name, { calls, buckets }] of rows) {
    c.out.bulkStr(name);
    c.out.map(2);
    c.out.bulkStr('calls');
    c.out.int(calls);
    c.out.bulkStr('histogram_usec');
    c.out.map(buckets.length);
    for (const [us, n] of buckets) {
      c.out.int(us);
      c.out.int(n);
    }
  }
}

// LATENCY HELP
function latencyHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'DOCTOR',
    '    Return a human readable latency analysis report.',
    'GRAPH <event>',
    '    Return an ASCII latency graph for the <event> class.',
    'HISTORY <event>',
    '    Return time-latency samples for the <event> class.',
    'LATEST',
    '    Return the latest latency samples for all events.',
    'RESET [<event> ...]',
    '    Reset latency data of one or more <event> classes.',
    '    (default: reset all data for all event classes)',
    'HISTOGRAM [COMMAND ...]',
    '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
    '    If no commands are specified then all histograms are replied.',
    'HELP',
    '    Prints this help.',
  ]);
}

export const DIAGNOSTIC_COMMANDS: readonly CommandSpec[] = [
  cmd('memory', -2, [], NO_KEYS, 'server', '4.0.0', 'A container for memory diagnostics commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('memory|usage', -3, ['readonly'], [2, 2, 1], 'server', '4.0.0', 'Estimates the memory usage of a key.', memoryUsage, { syntax: 'MEMORY USAGE key [SAMPLES count]', complexity: 'O(N) where N is the number of samples.' }),
      cmd('memory|stats', 2, ['gathers'], NO_KEYS, 'server', '4.0.0', 'Returns details about memory usage.', memoryStats, { syntax: 'MEMORY STATS', complexity: 'O(1)' }),
      cmd('memory|doctor', 2, ['gathers'], NO_KEYS, 'server', '4.0.0', 'Outputs a memory problems report.', memoryDoctor, { syntax: 'MEMORY DOCTOR', complexity: 'O(1)' }),
      cmd('memory|malloc-stats', 2, [], NO_KEYS, 'server', '4.0.0', 'Returns the allocator statistics.', memoryMallocStats, { syntax: 'MEMORY MALLOC-STATS', complexity: 'Depends on how much memory is allocated, could be slow' }),
      cmd('memory|purge', 2, [], NO_KEYS, 'server', '4.0.0', 'Asks the allocator to release memory.', memoryPurge, { syntax: 'MEMORY PURGE', complexity: 'Depends on how much memory is allocated, could be slow' }),
      cmd('memory|help', 2, [...LS], NO_KEYS, 'server', '4.0.0', HELP_SUMMARY, memoryHelp, { syntax: 'MEMORY HELP', complexity: 'O(1)' }),
    ],
  }),
  cmd('latency', -2, [], NO_KEYS, 'server', '2.8.13', 'A container for latency diagnostics commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('latency|latest', 2, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.8.13', 'Returns the latest latency samples for all events.', latencyLatest, { syntax: 'LATENCY LATEST', complexity: 'O(1)' }),
      cmd('latency|history', 3, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.8.13', 'Returns timestamp-latency samples for an event.', latencyHistory, { syntax: 'LATENCY HISTORY event', complexity: 'O(1)' }),
      cmd('latency|reset', -2, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.8.13', 'Resets the latency data for one or more events.', latencyReset, { syntax: 'LATENCY RESET [event [event ...]]', complexity: 'O(1)' }),
      cmd('latency|histogram', -2, [...ADMIN, 'gathers'], NO_KEYS, 'server', '7.0.0', 'Returns the cumulative distribution of latencies of a subset or all commands.', latencyHistogram, { syntax: 'LATENCY HISTOGRAM [command [command ...]]', complexity: 'O(N) where N is the number of commands with latency information being retrieved.' }),
      cmd('latency|graph', 3, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.8.13', 'Returns a latency graph for an event.', latencyGraph, { syntax: 'LATENCY GRAPH event', complexity: 'O(1)' }),
      cmd('latency|doctor', 2, [...ADMIN, 'gathers'], NO_KEYS, 'server', '2.8.13', 'Returns a human-readable latency analysis report.', latencyDoctor, { syntax: 'LATENCY DOCTOR', complexity: 'O(1)' }),
      cmd('latency|help', 2, [...LS], NO_KEYS, 'server', '2.8.13', HELP_SUMMARY, latencyHelp, { syntax: 'LATENCY HELP', complexity: 'O(1)' }),
    ],
  }),
];
