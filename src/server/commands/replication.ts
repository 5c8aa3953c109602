/**
 * Replication commands, for a server that has no replicas and is no replica (this build does
 * not replicate): WAIT answers as a Redis master none of whose replicas acknowledged anything,
 * FAILOVER as one without replicas, REPLICAOF NO ONE as one that is a master already, ROLE as a
 * master at replication offset 0 (INFO replication's master_repl_offset); REPLICAOF of a
 * master is refused.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { blockClient } from '../blocking.ts';
import { intArg, replyError, syntaxError, word } from './args.ts';
import { parseInt64 } from '../../store/numbers.ts';
import { cmd, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// WAIT numreplicas timeout
function wait(ctx: WorkerContext, c: Client, argv: Buffer[]): void | Promise<void> {
  const want = intArg(argv[1]!);
  const ms = intArg(argv[2]!, 'ERR timeout is not an integer or out of range');
  if (ms < 0) throw replyError('ERR timeout is negative');
  // No replica acknowledges anything: enough when none is asked for; inside a transaction Redis
  // answers at once too.
  if (want <= 0 || c.inExec) return c.out.int(0);
  return waitBlocked(ctx, c, ms);
}

/** WAIT's block: its timeout or CLIENT UNBLOCK … TIMEOUT answer 0 replicas, … ERROR an error. */
async function waitBlocked(ctx: WorkerContext, c: Client, ms: number): Promise<void> {
  const how = await blockClient(ctx, c, ms);
  if (how === 'error') throw replyError('UNBLOCKED client unblocked via CLIENT UNBLOCK');
  if (how === 'timeout') c.out.int(0);
}

// REPLICAOF host port | NO ONE (and SLAVEOF, its old name)
function replicaof(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (word(argv[1]!) === 'no' && word(argv[2]!) === 'one') return c.out.ok();
  const port = parseInt64(argv[2]!, 0, argv[2]!.length);
  if (typeof port !== 'number' || port < 0 || port > 65535) throw replyError('ERR Invalid master port');
  throw replyError('ERR REPLICAOF is not supported: this server does not replicate');
}

// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]
function failover(_ctx: WorkerContext, _c: Client, argv: Buffer[]): void {
  let to = false;
  let timeout = false;
  let force = false;
  let abort = false;
  for (let i = 1; i < argv.length; i++) {
    const w = word(argv[i]!);
    if (w === 'to' && !to && i + 2 < argv.length) {
      to = true;
      intArg(argv[i + 2]!);
      i += 2;
    } else if (w === 'timeout' && !timeout && i + 1 < argv.length) {
      timeout = true;
      if (intArg(argv[++i]!) <= 0) throw replyError('ERR FAILOVER timeout must be greater than 0');
    } else if (w === 'force' && !force) force = true;
    else if (w === 'abort' && !abort && argv.length === 2) abort = true;
    else throw syntaxError();
  }
  if (abort) throw replyError('ERR No failover in progress.');
  throw replyError('ERR FAILOVER requires connected replicas.');
}

// ROLE
function role(_ctx: WorkerContext, c: Client): void {
  c.out.array(3);
  c.out.bulkStr('master');
  c.out.int(0);
  c.out.array(0);
}

const REPLICAOF_FLAGS = ['admin', 'noscript', 'stale', 'no_async_loading'] as const;

export const REPLICATION_COMMANDS: readonly CommandSpec[] = [
  cmd('replicaof', 3, [...REPLICAOF_FLAGS], NO_KEYS, 'server', '5.0.0', 'Configures a server as replica of another, or promotes it to a master.', replicaof, { syntax: 'REPLICAOF <host port | NO ONE>', complexity: 'O(1)' }),
  cmd('slaveof', 3, [...REPLICAOF_FLAGS], NO_KEYS, 'server', '1.0.0', 'Sets a Redis server as a replica of another, or promotes it to being a master.', replicaof, { syntax: 'SLAVEOF <host port | NO ONE>', complexity: 'O(1)' }),
  cmd('role', 1, ['noscript', 'loading', 'stale', 'fast'], NO_KEYS, 'server', '2.8.12', 'Returns the replication role.', role, { syntax: 'ROLE', complexity: 'O(1)' }),
  cmd('failover', -1, ['admin', 'noscript', 'stale'], NO_KEYS, 'server', '6.2.0', 'Starts a coordinated failover from a server to one of its replicas.', failover, { syntax: 'FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]', complexity: 'O(1)' }),
  cmd('wait', 3, ['noscript'], NO_KEYS, 'generic', '3.0.0', 'Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.', wait, { syntax: 'WAIT numreplicas timeout', complexity: 'O(1)' }),
];
