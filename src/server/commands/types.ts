/**
 * The shape of a command table entry (Redis's commands.def): name, arity, flags, key positions,
 * documentation for COMMAND DOCS, and the handler. Arity, authentication, MULTI queueing and the
 * pub/sub context are checked once in dispatch.ts from these fields, never in handlers.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import type { CommandStat } from '../command-stats.ts';

/** Redis command flags (COMMAND INFO spells them the same way). */
export type Flag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_async_loading'
  | 'no_multi'
  | 'allow_busy'
  /**
   * Ours, not Redis's (COMMAND INFO does not show it): the reply gathers every worker's answer, so
   * the handler returns a promise. Inside EXEC such a command runs after the atomic part.
   */
  | 'gathers';

/**
 * A handler writes its reply to `client.out`. It may return a promise when it must wait for
 * another thread (CLIENT LIST, PUBSUB NUMSUB ...); the connection processes nothing else meanwhile.
 */
export type Handler = (ctx: WorkerContext, client: Client, argv: Buffer[]) => void | Promise<void>;

export interface CommandSpec {
  /** Lower case, as COMMAND reports it; subcommands are "parent|sub". */
  readonly name: string;
  /** Positive: exactly this many words including the name; negative: at least -arity. */
  readonly arity: number;
  readonly flags: readonly Flag[];
  /** Key positions, 1-based (0: no keys); lastKey -1 means the last argument. */
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly group: string;
  readonly since: string;
  readonly summary: string;
  /** Usage as COMMAND DOCS and the per-handler comment show it. */
  readonly syntax?: string;
  readonly complexity?: string;
  readonly handler?: Handler;
  readonly subcommands?: readonly CommandSpec[];
  /** For a subcommand, the container's name ("client" for "client|list"). */
  readonly parent?: string;
  /** FlagBit bits of `flags`, for checks on the per-command path. */
  readonly bits: number;
  /** This thread's counters of the command (command-stats.ts), set by dispatch.ts on first use. */
  stat: CommandStat | null;
}

/** Flags tested on every request, as bits (CommandSpec.bits). */
export const FlagBit = {
  write: 1,
  readonly: 2,
  admin: 4,
  pubsub: 8,
  no_auth: 16,
  no_multi: 32,
  skip_slowlog: 64,
  blocking: 128,
  fast: 256,
  may_replicate: 512,
  /** Derived: has keys and touches only them, so it may join a locked pipeline batch. */
  batchable: 1024,
  gathers: 2048,
  /** Derived: allowed while a RESP2 client has subscriptions (Redis's processCommand list). */
  pubsub_context: 4096,
  /** Derived: runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
  not_queued: 8192,
  /** Derived: refused unless enable-debug-command allows it (Redis's CMD_PROTECTED: DEBUG). */
  protected: 16384,
} as const;

const PUBSUB_CONTEXT = ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset'];
const NOT_QUEUED = ['exec', 'discard', 'multi', 'watch', 'quit', 'reset'];

/** A command's FlagBit bits: its flags', and those derived from its keys, its handler and its name (`base`; a subcommand's is its container's). */
function flagBits(flags: readonly Flag[], firstKey: number, handler: Handler | undefined, base: string): number {
  let b = 0;
  for (const f of flags) b |= (FlagBit as Record<string, number>)[f] ?? 0;
  const exclusive = FlagBit.admin | FlagBit.pubsub | FlagBit.blocking | FlagBit.no_multi;
  if (firstKey > 0 && handler !== undefined && (b & exclusive) === 0) b |= FlagBit.batchable;
  if (PUBSUB_CONTEXT.includes(base)) b |= FlagBit.pubsub_context;
  if (NOT_QUEUED.includes(base)) b |= FlagBit.not_queued;
  if (base === 'debug') b |= FlagBit.protected;
  return b;
}

/** Shorthand for table rows. */
export function cmd(
  name: string,
  arity: number,
  flags: readonly Flag[],
  keys: readonly [number, number, number],
  group: string,
  since: string,
  summary: string,
  handler: Handler | undefined,
  extra: { syntax?: string; complexity?: string; subcommands?: readonly CommandSpec[] } = {},
): CommandSpec {
  const bar = name.indexOf('|');
  const parent = bar > 0 ? name.slice(0, bar) : undefined;
  // Every entry has every field, in one order: one hidden class, so the per-request reads of
  // spec fields stay monomorphic whichever command runs.
  return {
    name,
    arity,
    flags,
    firstKey: keys[0],
    lastKey: keys[1],
    step: keys[2],
    group,
    since,
    summary,
    syntax: extra.syntax,
    complexity: extra.complexity,
    handler,
    subcommands: extra.subcommands,
    parent,
    bits: flagBits(flags, keys[0], handler, parent ?? name),
    stat: null,
  };
}

/** Whether `n` arguments (the name included) fit an arity: exactly, or at least -arity. */
export function arityOk(arity: number, n: number): boolean {
  return arity > 0 ? n === arity : n >= -arity;
}

/** The index of the last key argument of a request of `argc` words (a negative lastKey counts from the end). */
export function lastKeyIndex(spec: CommandSpec, argc: number): number {
  return spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
}

/** Key arguments of a request per its spec (for shard locking, tracking and WATCH). */
export function keysOf(spec: CommandSpec, argv: Buffer[]): Buffer[] {
  if (spec.firstKey <= 0) return [];
  const last = lastKeyIndex(spec, argv.length);
  const out: Buffer[] = [];
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) out.push(argv[i]!);
  return out;
}

export const NO_KEYS = [0, 0, 0] as const;
/** Flags many server commands share. */
export const ADMIN = ['admin', 'noscript', 'loading', 'stale'] as const;
export const LS = ['loading', 'stale'] as const;
/** The summary of every HELP subcommand. */
export const HELP_SUMMARY = 'Returns helpful text about the different subcommands.';
export const KEY1 = [1, 1, 1] as const;
export const ALL_KEYS = [1, -1, 1] as const;
