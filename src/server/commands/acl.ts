/**
 * ACL for a server with one user, Redis's `default`: on, every command, key and channel, and the
 * password `requirepass` sets (`nopass` while it is empty). What reads users answers as Redis 7.0
 * answers for that user; DELUSER, LOAD and SAVE answer as Redis does with no other user and no
 * ACL file; SETUSER is refused, as there are no rules to set. ACL LOG records the one denial this
 * server makes, a failed authentication (AUTH, HELLO … AUTH), grouped as Redis groups entries.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { ACL_CATEGORIES, commandList } from '../command-docs.ts';
import { registerQuery } from '../queries.ts';
import { clientInfoLine } from './client.ts';
import { cstr, help, intArg, replyError, str, word } from './args.ts';
import { lookupCommand, subcommandOf } from './table.ts';
import { ADMIN, arityOk, cmd, HELP_SUMMARY, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

const DEFAULT_USER = 'default';
/** ACL LOG groups a denial with an entry alike (reason, context, object, user) this recent… */
const GROUP_MS = 60_000;
/** …among this many of the newest entries (acl.c addACLLogEntry's `toscan`). */
const GROUP_SCAN = 10;

/** One ACL LOG entry (acl.c ACLLogEntry). */
export interface AclLogEntry {
  count: number;
  reason: 'auth';
  context: 'toplevel' | 'multi';
  object: string;
  username: string;
  /** When it was last logged (a denial grouped with it renews it): ACL LOG's age-seconds. */
  updated: number;
  clientInfo: string;
}

/**
 * Wall-clock milliseconds with a fraction: the workers' logs are merged by time, and two denials
 * on two workers within one millisecond must still come out in their order.
 */
const nowMs = () => performance.timeOrigin + performance.now();

/** This worker's ACL log, newest first. */
const log: AclLogEntry[] = [];

/** A failed authentication by `c` as `username` in command `object`: logged as Redis logs it. */
export function logAuthFailure(ctx: WorkerContext, c: Client, object: string, username: string): void {
  const now = nowMs();
  const context = c.inExec ? 'multi' : 'toplevel';
  const info = clientInfoLine(c, Date.now(), object);
  const same = log.slice(0, GROUP_SCAN).find((e) => e.context === context && e.object === object && e.username === username && now - e.updated < GROUP_MS);
  if (same !== undefined) {
    same.count++;
    same.updated = now;
    same.clientInfo = info;
    log.splice(log.indexOf(same), 1);
    log.unshift(same);
  } else log.unshift({ count: 1, reason: 'auth', context, object, username, updated: now, clientInfo: info });
  const max = Number(ctx.config.get('acllog-max-len') ?? 128);
  if (log.length > max) log.length = max;
}

// Each worker's log, for ACL LOG: ['get'] answers its entries, ['reset'] empties it.
registerQuery('acl-log', (_ctx, args) => {
  if (args[0] === 'reset') {
    log.length = 0;
    return null;
  }
  return log;
});

/** The workers' logs as one, newest first, alike entries within GROUP_MS of each other merged. */
function mergeLogs(parts: (AclLogEntry[] | null)[]): AclLogEntry[] {
  const all = parts.flatMap((p) => p ?? []).sort((a, b) => b.updated - a.updated);
  const out: AclLogEntry[] = [];
  for (const e of all) {
    const same = out.find((o) => o.context === e.context && o.object === e.object && o.username === e.username && o.updated - e.updated < GROUP_MS);
    if (same === undefined) out.push({ ...e });
    else same.count += e.count;
  }
  return out;
}

/** The default user's password hash, as ACL LIST and GETUSER show it (SHA-256, hex), or null. */
function passwordHash(ctx: WorkerContext): string | null {
  return ctx.requirepass === '' ? null : createHash('sha256').update(ctx.requirepass).digest('hex');
}

// ACL CAT [category]
function aclCat(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try ACL HELP.`);
  if (argv.length === 2) {
    c.out.array(ACL_CATEGORIES.length);
    for (const cat of ACL_CATEGORIES) c.out.bulkStr(cat);
    return;
  }
  const cat = word(argv[2]!);
  if (!(ACL_CATEGORIES as readonly string[]).includes(cat)) throw replyError(`ERR Unknown category '${cstr(argv[2]!, 128)}'`);
  const names = commandList({ kind: 'aclcat', value: cat });
  c.out.array(names.length);
  for (const n of names) c.out.bulkStr(n);
}

// ACL DELUSER username [username ...]
function aclDeluser(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  for (let i = 2; i < argv.length; i++) if (str(argv[i]!) === DEFAULT_USER) throw replyError("ERR The 'default' user cannot be removed");
  // No other user exists to remove.
  c.out.int(0);
}

// ACL DRYRUN username command [arg [arg ...]]
function aclDryrun(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const user = str(argv[2]!);
  if (user !== DEFAULT_USER) throw replyError(`ERR User '${user}' not found`);
  const args = argv.slice(3);
  const notFound = () => replyError(`ERR Command '${cstr(args[0]!, 128)}' not found`);
  let spec = lookupCommand(args[0]!);
  if (spec === undefined) throw notFound();
  if (spec.subcommands !== undefined) {
    const sub = subcommandOf(spec, args);
    if (sub !== undefined) spec = sub;
    else if (spec.handler === undefined && args.length >= 2) throw notFound();
  }
  if (!arityOk(spec.arity, args.length)) throw replyError(`ERR wrong number of arguments for '${spec.name}' command`);
  // The default user may run every command, on every key and channel.
  c.out.ok();
}

// ACL GENPASS [bits]
function aclGenpass(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try ACL HELP.`);
  const bits = argv.length === 3 ? intArg(argv[2]!) : 256;
  if (bits <= 0 || bits > 4096) throw replyError('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
  const chars = Math.ceil(bits / 4);
  c.out.bulkStr(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
}

// ACL GETUSER username
function aclGetuser(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (str(argv[2]!) !== DEFAULT_USER) return c.out.nil();
  const hash = passwordHash(ctx);
  c.out.map(6);
  c.out.bulkStr('flags');
  c.out.set(hash === null ? 2 : 1);
  c.out.bulkStr('on');
  if (hash === null) c.out.bulkStr('nopass');
  c.out.bulkStr('passwords');
  c.out.array(hash === null ? 0 : 1);
  if (hash !== null) c.out.bulkStr(hash);
  for (const [k, v] of [['commands', '+@all'], ['keys', '~*'], ['channels', '&*']]) {
    c.out.bulkStr(k!);
    c.out.bulkStr(v!);
  }
  c.out.bulkStr('selectors');
  c.out.array(0);
}

// ACL LIST
function aclList(ctx: WorkerContext, c: Client): void {
  const hash = passwordHash(ctx);
  c.out.array(1);
  c.out.bulkStr(`user ${DEFAULT_USER} on ${hash === null ? 'nopass' : `#${hash}`} ~* &* +@all`);
}

// ACL LOG [count | RESET]
async function aclLog(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try ACL HELP.`);
  if (argv.length === 3 && word(argv[2]!) === 'reset') {
    await ctx.rpc('acl-log', 'reset');
    return c.out.ok();
  }
  const count = argv.length === 3 ? intArg(argv[2]!) : 10;
  const entries = count > 0 ? mergeLogs(await ctx.rpc<(AclLogEntry[] | null)[]>('acl-log', 'get')).slice(0, count) : [];
  const now = nowMs();
  c.out.array(entries.length);
  for (const e of entries) {
    c.out.map(7);
    c.out.bulkStr('count');
    c.out.int(e.count);
    for (const [k, v] of [['reason', e.reason], ['context', e.context], ['object', e.object], ['username', e.username]] as const) {
      c.out.bulkStr(k);
      c.out.bulkStr(v);
    }
    c.out.bulkStr('age-seconds');
    c.out.double((now - e.updated) / 1000);
    c.out.bulkStr('client-info');
    c.out.bulkStr(e.clientInfo);
  }
}

// ACL LOAD / ACL SAVE
function aclFile(_ctx: WorkerContext): void {
  throw replyError('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.');
}

// ACL SETUSER username [rule [rule ...]]
function aclSetuser(_ctx: WorkerContext): void {
  throw replyError("ERR ACL SETUSER is not supported: this server has the 'default' user only, with every permission, and requirepass sets its password");
}

// ACL USERS
function aclUsers(_ctx: WorkerContext, c: Client): void {
  c.out.array(1);
  c.out.bulkStr(DEFAULT_USER);
}

// ACL WHOAMI
function aclWhoami(_ctx: WorkerContext, c: Client): void {
  c.out.bulkStr(DEFAULT_USER);
}

// ACL HELP
function aclHelp(_ctx: WorkerContext, c: Client): void {
  help(c, [
    'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'CAT [<category>]',
    '    List all commands that belong to <category>, or all command categories',
    '    when no category is specified.',
    'DELUSER <username> [<username> ...]',
    '    Delete a list of users.',
    'DRYRUN <username> <command> [<arg> ...]',
    '    Returns whether the user can execute the given command without executing the command.',
    'GETUSER <username>',
    "    Get the user's details.",
    'GENPASS [<bits>]',
    '    Generate a secure 256-bit user password. The optional `bits` argument can',
    '    be used to specify a different size.',
    'LIST',
    '    Show users details in config file format.',
    'LOAD',
    '    Reload users from the ACL file.',
    'LOG [<count> | RESET]',
    '    Show the ACL log entries.',
    'SAVE',
    '    Save the current config to the ACL file.',
    'SETUSER <username> <attribute> [<attribute> ...]',
    '    Create or modify a user with the specified attributes.',
    'USERS',
    '    List all the registered usernames.',
    'WHOAMI',
    '    Return the current connection username.',
    'HELP',
    '    Prints this help.',
  ]);
}

const ADM = [...ADMIN];
const ANY = ['noscript', 'loading', 'stale'] as const;

export const ACL_COMMANDS: readonly CommandSpec[] = [
  cmd('acl', -2, [], NO_KEYS, 'server', '6.0.0', 'A container for Access List Control commands.', undefined, {
    complexity: 'Depends on subcommand.',
    subcommands: [
      cmd('acl|cat', -2, [...ANY], NO_KEYS, 'server', '6.0.0', 'Lists the ACL categories, or the commands inside a category.', aclCat, { syntax: 'ACL CAT [category]', complexity: 'O(1) since the categories and commands are a fixed set.' }),
      cmd('acl|deluser', -3, ADM, NO_KEYS, 'server', '6.0.0', 'Deletes ACL users, and terminates their connections.', aclDeluser, { syntax: 'ACL DELUSER username [username ...]', complexity: 'O(1) amortized time considering the typical user.' }),
      cmd('acl|dryrun', -4, ADM, NO_KEYS, 'server', '7.0.0', 'Simulates the execution of a command by a user, without executing the command.', aclDryrun, { syntax: 'ACL DRYRUN username command [arg [arg ...]]', complexity: 'O(1).' }),
      cmd('acl|genpass', -2, [...ANY], NO_KEYS, 'server', '6.0.0', 'Generates a pseudorandom, secure password that can be used to identify ACL users.', aclGenpass, { syntax: 'ACL GENPASS [bits]', complexity: 'O(1)' }),
      cmd('acl|getuser', 3, ADM, NO_KEYS, 'server', '6.0.0', "Lists the ACL rules of a user.", aclGetuser, { syntax: 'ACL GETUSER username', complexity: 'O(N). Where N is the number of password, command and pattern rules that the user has.' }),
      cmd('acl|help', 2, ['loading', 'stale'], NO_KEYS, 'server', '6.0.0', HELP_SUMMARY, aclHelp, { syntax: 'ACL HELP', complexity: 'O(1)' }),
      cmd('acl|list', 2, ADM, NO_KEYS, 'server', '6.0.0', 'Dumps the effective rules in ACL file format.', aclList, { syntax: 'ACL LIST', complexity: 'O(N). Where N is the number of configured users.' }),
      cmd('acl|load', 2, ADM, NO_KEYS, 'server', '6.0.0', 'Reloads the rules from the configured ACL file.', aclFile, { syntax: 'ACL LOAD', complexity: 'O(N). Where N is the number of configured users.' }),
      cmd('acl|log', -2, [...ADM, 'gathers'], NO_KEYS, 'server', '6.0.0', 'Lists recent security events generated due to ACL rules.', aclLog, { syntax: 'ACL LOG [count | RESET]', complexity: 'O(N) with N being the number of entries shown.' }),
      cmd('acl|save', 2, ADM, NO_KEYS, 'server', '6.0.0', 'Saves the effective ACL rules in the configured ACL file.', aclFile, { syntax: 'ACL SAVE', complexity: 'O(N). Where N is the number of configured users.' }),
      cmd('acl|setuser', -3, ADM, NO_KEYS, 'server', '6.0.0', 'Creates and modifies an ACL user and its rules.', aclSetuser, { syntax: 'ACL SETUSER username [rule [rule ...]]', complexity: 'O(N). Where N is the number of rules provided.' }),
      cmd('acl|users', 2, ADM, NO_KEYS, 'server', '6.0.0', 'Lists all ACL users.', aclUsers, { syntax: 'ACL USERS', complexity: 'O(N). Where N is the number of configured users.' }),
      cmd('acl|whoami', 2, [...ANY], NO_KEYS, 'server', '6.0.0', 'Returns the authenticated username of the current connection.', aclWhoami, { syntax: 'ACL WHOAMI', complexity: 'O(1)' }),
    ],
  }),
];
