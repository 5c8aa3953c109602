/**
 * Server settings, declared once: their Redis names, types, defaults and whether CONFIG SET may
 * change them at run time. The command line (commander), redis.conf files and CONFIG GET / SET /
 * REWRITE all read this table.
 */
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CLIENT_QUERY_BUFFER_LIMIT, PROTO_MAX_BULK_LEN } from '../protocol/limits.ts';
import { MAX_SHARDS } from '../../native-layout/server.ts';
import { POLICY_NAMES } from '../store/policies.ts';
import { percentileLabel } from './latency-histogram.ts';
import { canonicalNotifyFlags, validNotifyFlags } from './notify.ts';

export type Kind = 'int' | 'bytes' | 'string' | 'bool' | 'enum' | 'special';

export interface Setting {
  readonly name: string;
  readonly kind: Kind;
  readonly dflt: string;
  /** CONFIG SET may change it while running. */
  readonly mutable: boolean;
  /** CONFIG SET only where enable-protected-configs allows (Redis's PROTECTED_CONFIG: paths the server writes to). */
  readonly protected?: true;
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly doc: string;
}

const cores = availableParallelism();
/** Redis's bounds for int and unsigned-int settings (config.c createIntConfig/createUIntConfig). */
const INT_MAX = 2 ** 31 - 1;
const UINT_MAX = 2 ** 32 - 1;

export const SETTINGS: readonly Setting[] = [
  { name: 'port', kind: 'int', dflt: '6379', mutable: false, min: 0, max: 65535, doc: 'TCP port (0 picks a free one)' },
  { name: 'binary-port', kind: 'int', dflt: '0', mutable: false, min: 0, max: 65535, doc: 'an extra port for the binary protocol only (0: none; the main port serves both)' },
  { name: 'bind', kind: 'string', dflt: '127.0.0.1', mutable: false, doc: 'addresses to listen on, space separated' },
  { name: 'threads', kind: 'int', dflt: String(cores), mutable: false, min: 1, max: 256, doc: 'worker threads' },
  { name: 'shards', kind: 'int', dflt: String(defaultShards(cores)), mutable: false, min: 1, max: MAX_SHARDS, doc: 'store shards, a power of two' },
  { name: 'maxmemory', kind: 'bytes', dflt: '0', mutable: true, min: 0, doc: 'memory bound (0: none)' },
  { name: 'maxmemory-policy', kind: 'enum', dflt: 'noeviction', mutable: true, values: POLICY_NAMES, doc: 'eviction policy' },
  { name: 'maxmemory-samples', kind: 'int', dflt: '5', mutable: true, min: 1, max: INT_MAX, doc: 'accepted for compatibility; policies here are exact or sample internally' },
  { name: 'maxmemory-clients', kind: 'string', dflt: '0', mutable: true, doc: 'memory all clients together may hold (CLIENT LIST tot-mem), in bytes or as a percentage of maxmemory (0: no limit); over it the clients holding most are closed, except those with CLIENT NO-EVICT on' },
  { name: 'requirepass', kind: 'string', dflt: '', mutable: true, doc: 'password for AUTH (empty: none)' },
  { name: 'databases', kind: 'int', dflt: '16', mutable: false, min: 1, max: 16, doc: 'logical databases for SELECT' },
  { name: 'maxclients', kind: 'int', dflt: '10000', mutable: true, min: 1, max: UINT_MAX, doc: 'connections accepted at once' },
  { name: 'timeout', kind: 'int', dflt: '0', mutable: true, min: 0, max: INT_MAX, doc: 'close idle clients after this many seconds (0: never)' },
  { name: 'proto-max-bulk-len', kind: 'bytes', dflt: String(PROTO_MAX_BULK_LEN), mutable: true, min: 1024 * 1024, max: PROTO_MAX_BULK_LEN, doc: 'largest bulk string a client may send' },
  { name: 'client-query-buffer-limit', kind: 'bytes', dflt: String(CLIENT_QUERY_BUFFER_LIMIT), mutable: true, min: 1024 * 1024, doc: 'largest unparsed input per client' },
  { name: 'client-output-buffer-limit', kind: 'special', dflt: 'normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60', mutable: true, doc: 'class hard soft seconds, as Redis' },
  { name: 'notify-keyspace-events', kind: 'string', dflt: '', mutable: true, doc: 'keyspace notification classes (K E g $ x e A ...)' },
  { name: 'slab-growth-factor', kind: 'string', dflt: '1.25', mutable: false, doc: 'slab size-class growth factor, 1.125 to 2 (memcached -f): smaller wastes less per item, more classes' },
  { name: 'lfu-log-factor', kind: 'int', dflt: '10', mutable: false, min: 0, max: INT_MAX, doc: 'LFU counter logarithm factor' },
  { name: 'lfu-decay-time', kind: 'int', dflt: '1', mutable: false, min: 0, max: INT_MAX, doc: 'LFU counter decay period, minutes' },
  { name: 'hz', kind: 'int', dflt: '10', mutable: true, min: 0, max: INT_MAX, doc: 'active expiry cycles per second, kept within 1 to 500 as Redis does' },
  { name: 'slowlog-log-slower-than', kind: 'int', dflt: '10000', mutable: true, min: -1, doc: 'microseconds; -1 disables the slow log' },
  { name: 'slowlog-max-len', kind: 'int', dflt: '128', mutable: true, min: 0, doc: 'slow log entries kept per worker' },
  { name: 'latency-monitor-threshold', kind: 'int', dflt: '0', mutable: true, min: 0, doc: 'milliseconds; 0 disables LATENCY sampling' },
  { name: 'latency-tracking', kind: 'bool', dflt: 'yes', mutable: true, doc: 'per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM)' },
  { name: 'latency-tracking-info-percentiles', kind: 'string', dflt: '50 99 99.9', mutable: true, doc: 'the percentiles INFO latencystats reports, 0 to 100, space separated' },
  { name: 'acllog-max-len', kind: 'int', dflt: '128', mutable: true, min: 0, max: INT_MAX, doc: 'entries ACL LOG keeps on each thread' },
  { name: 'tracking-table-max-keys', kind: 'int', dflt: '1000000', mutable: true, min: 0, doc: 'keys CLIENT TRACKING remembers at most, all workers together (0: no limit); over it, keys are forgotten oldest first with an invalidation' },
  { name: 'protected-mode', kind: 'bool', dflt: 'yes', mutable: true, doc: 'accepted for compatibility (binding to loopback is the default)' },
  { name: 'tcp-keepalive', kind: 'int', dflt: '300', mutable: true, min: 0, max: INT_MAX, doc: 'seconds' },
  { name: 'tcp-backlog', kind: 'int', dflt: '511', mutable: false, min: 1, doc: 'listen backlog' },
  { name: 'loglevel', kind: 'enum', dflt: 'notice', mutable: true, values: ['debug', 'verbose', 'notice', 'warning', 'nothing'], doc: 'log verbosity' },
  { name: 'logfile', kind: 'string', dflt: '', mutable: false, doc: 'log file (empty: stdout)' },
  { name: 'save', kind: 'string', dflt: '', mutable: true, doc: 'accepted for compatibility; snapshots are not in this build' },
  { name: 'appendonly', kind: 'bool', dflt: 'no', mutable: true, doc: 'accepted for compatibility; the append-only file is not in this build' },
  { name: 'dir', kind: 'string', dflt: process.cwd(), mutable: true, protected: true, doc: 'working directory for persistence files (an existing directory, kept absolute as Redis reports it)' },
  { name: 'dbfilename', kind: 'string', dflt: 'dump.rdb', mutable: true, protected: true, doc: 'snapshot file name' },
  { name: 'daemonize', kind: 'bool', dflt: 'no', mutable: false, doc: 'accepted; shardcache always runs in the foreground' },
  { name: 'active-expire-enabled', kind: 'bool', dflt: 'yes', mutable: true, doc: 'run the active expiry cycle (DEBUG SET-ACTIVE-EXPIRE)' },
  { name: 'enable-debug-command', kind: 'enum', dflt: 'no', mutable: false, values: ['no', 'yes', 'local'], doc: 'who may run DEBUG: nobody, anybody, or connections from the loopback address only (as Redis 7)' },
  { name: 'enable-protected-configs', kind: 'enum', dflt: 'no', mutable: false, values: ['no', 'yes', 'local'], doc: 'who may CONFIG SET dir and dbfilename: nobody, anybody, or loopback connections only (as Redis 7)' },
];

export const SETTING_BY_NAME: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.name, s]));

/** Two shards per thread, rounded up to a power of two, at least 16: spreads lock contention. */
export function defaultShards(threads: number): number {
  let s = 16;
  while (s < threads * 2) s *= 2;
  return s;
}

export type Config = Map<string, string>;

export function defaultConfig(): Config {
  return new Map(SETTINGS.map((s) => [s.name, normalise(s.name, s.dflt)]));
}

export class ConfigError extends Error {}

/** Redis memory units: 1k = 1000, 1kb = 1024, and m/mb, g/gb likewise; bare numbers are bytes. */
export function parseBytes(v: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(v.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return n * mul[unit]!;
}

/** Redis's range error: an unbounded side prints as the long long limit (config.c numericBoundaryCheck). */
function outOfRange(s: Setting, floor: number | bigint = -9223372036854775808n): string {
  return `argument must be between ${s.min ?? floor} and ${s.max ?? 9223372036854775807n} inclusive`;
}

/**
 * `save`: pairs of seconds (1 or more) and changes (0 or more), as Redis 7.0 reads them (split on
 * single spaces, each read by strtoll), or "" for none; kept as the numbers read.
 */
function saveParams(value: string): string {
  if (value === '') return '';
  const parts = value.split(' ');
  const n = parts.map((p) => (/^[+-]?\d+$/.test(p) ? Number(p) : NaN));
  if (parts.length % 2 === 1 || n.some((v, i) => Number.isNaN(v) || v < (i % 2 === 0 ? 1 : 0))) throw new ConfigError('Invalid save parameters');
  return n.join(' ');
}

/**
 * `maxmemory-clients`: a memory value, or a whole percentage of maxmemory up to 100 (config.c
 * createSSizeConfig with PERCENT_CONFIG), printed back as given; 0% is 0.
 */
function memoryOrPercent(value: string): string {
  const pct = /^(\d+)%$/.exec(value);
  if (pct !== null) {
    const p = Number(pct[1]);
    if (p > 100) throw new ConfigError('percentage argument must be less or equal to 100');
    return p === 0 ? '0' : `${p}%`;
  }
  const n = parseBytes(value);
  if (n === null) throw new ConfigError('argument must be a memory or percent value');
  return String(n);
}

/** The least limit maxmemory-clients sets, as Redis 7.0: a setting too small to talk to the server at all still lets clients in. */
const CLIENTS_MEMORY_FLOOR = 128 * 1024;

/** The byte limit of a `maxmemory-clients` value (a percentage of `maxmemory`), 0 for none. */
export function clientsMemoryLimit(value: string, maxmemory: number): number {
  const n = value.endsWith('%') ? Math.floor((maxmemory * Number(value.slice(0, -1))) / 100) : Number(value);
  return n === 0 ? 0 : Math.max(n, CLIENTS_MEMORY_FLOOR);
}

/**
 * `latency-tracking-info-percentiles`: numbers from 0 to 100 (strtod, whole words), kept as
 * Redis prints them back; "" for none.
 */
function latencyPercentiles(value: string): string {
  const words = value.split(' ').filter((w) => w !== '');
  const n = words.map((w) => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(w) ? Number(w) : NaN));
  if (n.some((v) => Number.isNaN(v))) throw new ConfigError('Invalid latency-tracking-info-percentiles parameters');
  if (n.some((v) => v < 0 || v > 100)) throw new ConfigError('latency-tracking-info-percentiles parameters should sit between [0.0,100.0]');
  return n.map(percentileLabel).join(' ');
}

/** Checks and normalises a value for a setting; throws ConfigError with the reason. */
export function normalise(name: string, value: string): string {
  const s = SETTING_BY_NAME.get(name);
  if (s === undefined) throw new ConfigError(`unknown setting '${name}'`);
  if (name === 'save') return saveParams(value);
  switch (s.kind) {
    case 'int': {
      // string2ll: no '+', no leading zeros, no '-0'.
      if (!/^(0|-?[1-9]\d*)$/.test(value)) throw new ConfigError(`argument couldn't be parsed into an integer`);
      const n = Number(value);
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw new ConfigError(outOfRange(s));
      if (name === 'shards' && (n & (n - 1)) !== 0) throw new ConfigError('argument must be a power of two');
      // config.c updateHZ: any value is taken, the server runs at CONFIG_MIN_HZ..CONFIG_MAX_HZ.
      if (name === 'hz') return String(Math.min(500, Math.max(1, n)));
      return String(n);
    }
    case 'bytes': {
      const n = parseBytes(value);
      if (n === null) throw new ConfigError(`argument must be a memory value`);
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw new ConfigError(outOfRange(s, 0));
      return String(n);
    }
    case 'bool': {
      const v = value.toLowerCase();
      if (v !== 'yes' && v !== 'no') throw new ConfigError(`argument must be 'yes' or 'no'`);
      return v;
    }
    case 'string': {
      if (name === 'notify-keyspace-events') {
        // Checked before canonicalNotifyFlags, which keeps only the letters it knows.
        if (!validNotifyFlags(value)) throw new ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
        return canonicalNotifyFlags(value);
      }
      if (name === 'dir') {
        const abs = resolve(value);
        if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ConfigError('No such file or directory');
        return abs;
      }
      if (name === 'latency-tracking-info-percentiles') return latencyPercentiles(value);
      if (name === 'maxmemory-clients') return memoryOrPercent(value);
      if (name === 'slab-growth-factor') {
        const f = Number(value);
        if (!Number.isFinite(f) || f < 1.125 || f > 2) throw new ConfigError('argument must be a number from 1.125 to 2');
        return String(f);
      }
      return value;
    }
    case 'enum': {
      const v = value.toLowerCase();
      if (!s.values!.includes(v)) throw new ConfigError(`argument(s) must be one of the following: ${s.values!.join(', ')}`);
      return v;
    }
    case 'special':
      return normaliseOutputLimits(value);
    default:
      return value;
  }
}

export interface OutputLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

export function parseOutputLimits(v: string): Record<'normal' | 'replica' | 'pubsub', OutputLimit> {
  const out: Record<string, OutputLimit> = {};
  const words = v.trim().split(/\s+/);
  if (words.length % 4 !== 0) throw new ConfigError('Wrong number of arguments in buffer limit configuration.');
  for (let i = 0; i < words.length; i += 4) {
    let cls = words[i]!.toLowerCase();
    if (cls === 'slave') cls = 'replica';
    if (cls !== 'normal' && cls !== 'replica' && cls !== 'pubsub') throw new ConfigError('Invalid client class specified in buffer limit configuration.');
    const hard = parseBytes(words[i + 1]!);
    const soft = parseBytes(words[i + 2]!);
    const secs = Number(words[i + 3]);
    if (hard === null || soft === null || !Number.isInteger(secs) || secs < 0) throw new ConfigError('Error in hard, soft or soft_seconds setting in buffer limit configuration.');
    out[cls] = { hard, soft, softSeconds: secs };
  }
  const base = { normal: { hard: 0, soft: 0, softSeconds: 0 }, replica: { hard: 256 * 1024 ** 2, soft: 64 * 1024 ** 2, softSeconds: 60 }, pubsub: { hard: 32 * 1024 ** 2, soft: 8 * 1024 ** 2, softSeconds: 60 } };
  return { ...base, ...out } as Record<'normal' | 'replica' | 'pubsub', OutputLimit>;
}

/** The value as Redis 7.0's CONFIG GET prints it, which names the replica class `slave`. */
function normaliseOutputLimits(v: string): string {
  const l = parseOutputLimits(v);
  return (['normal', 'replica', 'pubsub'] as const).map((c) => `${c === 'replica' ? 'slave' : c} ${l[c].hard} ${l[c].soft} ${l[c].softSeconds}`).join(' ');
}

/** Splits one redis.conf line into words (double/single quotes as sdssplitargs). */
function confWords(line: string): string[] | null {
  const out: string[] = [];
  const re = /\s*(?:"((?:\\.|[^"\\])*)"|'((?:\\'|[^'])*)'|(\S+))/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(line)) !== null) {
    last = re.lastIndex;
    if (m[1] !== undefined) out.push(m[1].replace(/\\(["\\nrt])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c] ?? c));
    else if (m[2] !== undefined) out.push(m[2].replace(/\\'/g, "'"));
    else out.push(m[3]!);
  }
  if (line.slice(last).trim() !== '') return null;
  return out;
}

/** Reads a redis.conf-syntax file. Unknown directives are errors, as Redis reports them. */
export function parseConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`can't open config file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: Config = new Map();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const w = confWords(line);
    if (w === null || w.length === 0) throw new ConfigError(`${path}:${i + 1}: unbalanced quotes`);
    const name = w[0]!.toLowerCase() === 'io-threads' ? 'threads' : w[0]!.toLowerCase();
    const value = w.slice(1).join(' ');
    try {
      out.set(name, normalise(name, name === 'save' || name === 'bind' || name === 'client-output-buffer-limit' ? value : w.length === 2 ? w[1]! : value));
    } catch (e) {
      throw new ConfigError(`${path}:${i + 1}: '${line}': ${(e as Error).message}`);
    }
  }
  return out;
}

/** Defaults, then the file, then command-line settings (which win). */
export function resolveConfig(file: string | undefined, cli: Map<string, string>): Config {
  const cfg = defaultConfig();
  if (file !== undefined) for (const [k, v] of parseConfigFile(file)) cfg.set(k, v);
  for (const [k, v] of cli) {
    try {
      cfg.set(k, normalise(k, v));
    } catch (e) {
      throw new ConfigError(`--${k} ${v}: ${(e as Error).message}`);
    }
  }
  return cfg;
}
