/**
 * Replication commands, for a server that has no replicas (this build replicates to none): WAIT
 * answers as a Redis master none of whose replicas acknowledged anything.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { blockClient } from '../blocking.ts';
import { intArg, replyError } from './args.ts';
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

export const REPLICATION_COMMANDS: readonly CommandSpec[] = [
  cmd('wait', 3, ['noscript'], NO_KEYS, 'generic', '3.0.0', 'Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.', wait, { syntax: 'WAIT numreplicas timeout', complexity: 'O(1)' }),
];
