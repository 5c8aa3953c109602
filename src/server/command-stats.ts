/**
 * Per-command and per-error statistics of this worker thread, for INFO commandstats and
 * errorstats (Redis's field names: server.c genRedisInfoString) and CONFIG RESETSTAT. Each worker
 * counts its own; INFO gathers every worker's counts (info.ts gatherInfo) and sums them.
 *
 * A command is counted as Redis counts it: `calls` and `usec` when it ran, `failed_calls` when it
 * ran and replied an error, `rejected_calls` when a central check (arity, NOAUTH, a disabled
 * DEBUG, a MULTI-only rule) refused it before it ran. Error replies are counted by their first
 * word (`ERR`, `WRONGTYPE`, …), wherever they came from, protocol errors included.
 *
 * With latency-tracking on, each run is also counted in the command's latency histogram
 * (latency-histogram.ts) for INFO latencystats and LATENCY HISTOGRAM.
 */
import { addSparse, cumulativeBuckets, histogramTotal, newHistogram, percentileLabel, recordLatency, sparseHistogram, valueAtPercentile } from './latency-histogram.ts';

/**
 * A command's counters. `hist` is its latency histogram: in this worker (CommandStat) and once
 * the workers' snapshots are merged, dense, made at the first run timed with latency-tracking on;
 * as it crosses threads, sparseHistogram() pairs (H = number[]), or null when not asked for.
 */
export interface CommandStatSnapshot<H = number[]> {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
  hist: H | null;
}

/** This worker's counters of one command. */
export type CommandStat = CommandStatSnapshot<Float64Array>;

/** Redis stops tracking new error codes past this many (ERROR_STATS_NUMBER). */
const ERROR_CODES_MAX = 128;

const commands = new Map<string, CommandStat>();
const errors = new Map<string, number>();
let errorReplies = 0;
/**
 * Error replies not yet put down to a command. A command owns the ones counted while it ran that
 * no command nested in it (EXEC's) or running meanwhile (while it awaited the other workers)
 * took: commandFailed() takes them. Errors of requests refused before they ran, or of the
 * protocol, are never anyone's.
 */
let unclaimed = 0;

/** The counters of the command named `name` (`get`, `client|list`), made on first use. */
export function commandStat(name: string): CommandStat {
  let s = commands.get(name);
  if (s === undefined) commands.set(name, (s = { calls: 0, usec: 0, rejected: 0, failed: 0, hist: null }));
  return s;
}

/** Counts `n` runs of `ns` each (latency-histogram.ts latencyNs) in the command's latency histogram. */
export function commandLatency(s: CommandStat, ns: number, n: number): void {
  recordLatency(s.hist ?? (s.hist = newHistogram()), ns, n);
}

/**
 * Counts an error reply (`msg` starts with its code, as written to the client). `ran`: it came
 * from a command as it ran, which then failed; else from a refusal or a protocol error.
 */
export function countErrorReply(msg: string, ran: boolean): void {
  errorReplies++;
  if (ran) unclaimed++;
  const sp = msg.indexOf(' ');
  const code = sp < 0 ? msg : msg.slice(0, sp);
  const n = errors.get(code);
  if (n !== undefined) errors.set(code, n + 1);
  else if (errors.size < ERROR_CODES_MAX) errors.set(code, 1);
}

/** Taken as a command starts; commandFailed(mark) as it ends says whether it replied an error. */
export function commandStart(): number {
  return unclaimed;
}

export function commandFailed(mark: number): boolean {
  const failed = unclaimed > mark;
  unclaimed = mark;
  return failed;
}

export interface StatsSnapshot<H = number[]> {
  commands: [string, CommandStatSnapshot<H>][];
  errors: [string, number][];
  errorReplies: number;
}

/** Every worker's StatsSnapshot summed (mergeSnapshots). */
export type MergedStats = StatsSnapshot<Float64Array>;

/** Work to finish before the counters are read or reset: counts a caller keeps back for a while. */
const beforeRead: (() => void)[] = [];

export function onStatsRead(fn: () => void): void {
  beforeRead.push(fn);
}

/** CONFIG RESETSTAT: counters are zeroed in place (the fast path holds its own references). */
export function resetCommandStats(): void {
  for (const fn of beforeRead) fn();
  for (const s of commands.values()) {
    s.calls = s.usec = s.rejected = s.failed = 0;
    s.hist?.fill(0);
  }
  errors.clear();
  errorReplies = 0;
}

/** Sums the workers' snapshots (null: a worker that did not answer). */
export function mergeSnapshots(parts: readonly (StatsSnapshot | null)[]): MergedStats {
  const cmds = new Map<string, CommandStat>();
  const errs = new Map<string, number>();
  let total = 0;
  for (const p of parts) {
    if (p === null) continue;
    total += p.errorReplies;
    for (const [name, s] of p.commands) {
      const t = cmds.get(name) ?? { calls: 0, usec: 0, rejected: 0, failed: 0, hist: null };
      t.calls += s.calls;
      t.usec += s.usec;
      t.rejected += s.rejected;
      t.failed += s.failed;
      if (s.hist !== null) addSparse(t.hist ?? (t.hist = newHistogram()), s.hist);
      cmds.set(name, t);
    }
    for (const [code, n] of p.errors) errs.set(code, (errs.get(code) ?? 0) + n);
  }
  return { commands: [...cmds].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), errors: [...errs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), errorReplies: total };
}

/** INFO commandstats lines: commands that were called or rejected. */
export function commandstatsLines(s: MergedStats): string[] {
  return s.commands
    .filter(([, t]) => t.calls > 0 || t.rejected > 0)
    .map(([name, t]) => `cmdstat_${name}:calls=${t.calls},usec=${Math.round(t.usec)},usec_per_call=${(t.calls === 0 ? 0 : t.usec / t.calls).toFixed(2)},rejected_calls=${t.rejected},failed_calls=${t.failed}`);
}

/** INFO errorstats lines. */
export function errorstatsLines(s: MergedStats): string[] {
  return s.errors.map(([code, n]) => `errorstat_${code}:count=${n}`);
}

/**
 * This worker's counts, as INFO gathers them from every worker (info.ts gatherInfo); with
 * `latency`, the histograms too.
 */
export function commandStatsSnapshot(latency = false): StatsSnapshot {
  for (const fn of beforeRead) fn();
  const cmds: [string, CommandStatSnapshot][] = [];
  for (const [name, s] of commands) cmds.push([name, { calls: s.calls, usec: s.usec, rejected: s.rejected, failed: s.failed, hist: latency && s.hist !== null ? sparseHistogram(s.hist) : null }]);
  return { commands: cmds, errors: [...errors], errorReplies };
}

/** A merged snapshot's histogram of one command, with its count; null when it has none. */
function latencyOf(s: CommandStat): { hist: Float64Array; total: number } | null {
  if (s.hist === null) return null;
  const total = histogramTotal(s.hist);
  return total > 0 ? { hist: s.hist, total } : null;
}

/** INFO latencystats lines: each timed command's latency at `percentiles`, in µs (Redis's fields). */
export function latencystatsLines(s: MergedStats, percentiles: readonly number[]): string[] {
  const out: string[] = [];
  for (const [name, t] of s.commands) {
    const l = latencyOf(t);
    if (l === null) continue;
    const fields = percentiles.map((p) => `p${percentileLabel(p)}=${(valueAtPercentile(l.hist, l.total, p) / 1000).toFixed(3)}`);
    out.push(`latency_percentiles_usec_${name}:${fields.join(',')}`);
  }
  return out;
}

/** LATENCY HISTOGRAM's figures of one command: its runs and cumulative buckets. */
export function latencyBuckets(s: CommandStat): { calls: number; buckets: [number, number][] } | null {
  const l = latencyOf(s);
  return l === null ? null : { calls: l.total, buckets: cumulativeBuckets(l.hist, l.total) };
}
