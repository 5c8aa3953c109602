/**
 * Cluster and module commands, for a server that has neither: they answer as a Redis with
 * cluster support disabled and no module loaded, so that a client probing for either learns so
 * in Redis's words.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { cstr, help, replyError, word } from './args.ts';
import { arityOk, cmd, HELP_SUMMARY, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

const CLUSTER_DISABLED = 'ERR This instance has cluster support disabled';

/**
 * Redis 7.0's CLUSTER subcommands and their arities: each is checked as Redis checks it, then
 * refused. A Map, not an object: a name like `constructor` must find nothing.
 */
const CLUSTER_SUBCOMMANDS = new Map<string, number>(Object.entries({
  addslots: -3, addslotsrange: -4, bumpepoch: 2, 'count-failure-reports': 3, countkeysinslot: 3, delslots: -3, delslotsrange: -4,
  failover: -2, flushslots: 2, forget: 3, getkeysinslot: 4, help: 2, info: 2, keyslot: 3, links: 2, meet: -4, myid: 2, nodes: 2,
  replicas: 3, replicate: 3, reset: -2, saveconfig: 2, 'set-config-epoch': 3, setslot: -4, shards: 2, slaves: 3, slots: 2,
}));

// CLUSTER subcommand [argument ...]
function cluster(_ctx: WorkerContext, _c: Client, argv: Buffer[]): void {
  const sub = word(argv[1]!);
  const arity = CLUSTER_SUBCOMMANDS.get(sub);
  if (arity === undefined) throw replyError(`ERR unknown subcommand '${cstr(argv[1]!, 128)}'. Try CLUSTER HELP.`);
  if (!arityOk(arity, argv.length)) throw replyError(`ERR wrong number of arguments for 'cluster|${sub}' command`);
  throw replyError(CLUSTER_DISABLED);
}

// READONLY / READWRITE
function clusterOnly(_ctx: WorkerContext): void {
  throw replyError(CLUSTER_DISABLED);
}

// MODULE LIST
function moduleList(_ctx: WorkerContext, c: Client): void {
  c.out.array(0);
}

// MODULE LOAD path [arg ...] / LOADEX path [CONFIG name value ...] [ARGS arg ...] / UNLOAD name
function moduleRefused(_ctx: WorkerContext, _c: Client, argv: Buffer[]): void {
  throw replyError(`ERR MODULE ${word(argv[1]!).toUpperCase()} is not supported: this server loads no modules`);
}

// MODULE HELP
function moduleHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'LIST',
    '    Return a list of loaded modules.',
    'LOAD <path> [<arg> ...]',
    '    Load a module library from <path>, passing to it any optional arguments.',
    'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
    '    Load a module library from <path>, while passing it module configurations and optional arguments.',
    'UNLOAD <name>',
    '    Unload a module.',
    'HELP',
    '    Prints this help.',
  ]);
}

const LOAD_FLAGS = ['admin', 'noscript', 'no_async_loading'] as const;

export const CLUSTER_COMMANDS: readonly CommandSpec[] = [
  cmd('cluster', -2, [], NO_KEYS, 'cluster', '3.0.0', 'A container for Redis Cluster commands.', cluster, { syntax: 'CLUSTER subcommand [argument ...]', complexity: 'Depends on subcommand.' }),
  cmd('readonly', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'cluster', '3.0.0', 'Enables read-only queries for a connection to a cluster replica node.', clusterOnly, { syntax: 'READONLY', complexity: 'O(1)' }),
  cmd('readwrite', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'cluster', '3.0.0', 'Disables read-only queries for a connection to a cluster replica node.', clusterOnly, { syntax: 'READWRITE', complexity: 'O(1)' }),
  cmd('module', -2, [], NO_KEYS, 'server', '4.0.0', 'A container for module commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('module|help', 2, ['loading', 'stale'], NO_KEYS, 'server', '5.0.0', HELP_SUMMARY, moduleHelp, { syntax: 'MODULE HELP', complexity: 'O(1)' }),
      cmd('module|list', 2, ['admin', 'noscript'], NO_KEYS, 'server', '4.0.0', 'Returns all loaded modules.', moduleList, { syntax: 'MODULE LIST', complexity: 'O(N) where N is the number of loaded modules.' }),
      cmd('module|load', -3, [...LOAD_FLAGS], NO_KEYS, 'server', '4.0.0', 'Loads a module.', moduleRefused, { syntax: 'MODULE LOAD path [arg [arg ...]]', complexity: 'O(1)' }),
      cmd('module|loadex', -3, [...LOAD_FLAGS], NO_KEYS, 'server', '7.0.0', 'Loads a module using extended parameters.', moduleRefused, { syntax: 'MODULE LOADEX path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]', complexity: 'O(1)' }),
      cmd('module|unload', 3, [...LOAD_FLAGS], NO_KEYS, 'server', '4.0.0', 'Unloads a module.', moduleRefused, { syntax: 'MODULE UNLOAD name', complexity: 'O(1)' }),
    ],
  }),
];
