/**
 * Clients blocked by a command (WAIT), as Redis blocks them: the connection waits for its reply
 * and runs nothing else meanwhile (Client.busy), shows the `b` flag in CLIENT LIST and counts in
 * blocked_clients. The block ends at its timeout (0: never), by CLIENT UNBLOCK from any worker,
 * or when the connection goes. The time spent blocked is not the command's: Client.blockedMs
 * carries it out of its command statistics and slow-log time, as Redis counts only a blocked
 * command's own work.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from './client.ts';
import type { WorkerContext } from './context.ts';
import { registerQuery } from './queries.ts';

/** How a block ended: its timeout, CLIENT UNBLOCK … TIMEOUT, … ERROR, or the client's going. */
export type Unblocked = 'timeout' | 'error' | 'closed';

/** setTimeout's longest delay; a longer wait is made of several. */
const MAX_DELAY = 2 ** 31 - 1;

/** Blocks `c` for up to `ms` milliseconds (0: until unblocked); resolves with how it ended. */
export function blockClient(ctx: WorkerContext, c: Client, ms: number): Promise<Unblocked> {
  const since = performance.now();
  const deadline = ms > 0 ? Date.now() + ms : Infinity;
  ctx.shared.workerAdd(ctx.index, 'blocked', 1);
  return new Promise<Unblocked>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      if (deadline !== Infinity) timer = setTimeout(() => (Date.now() >= deadline ? end('timeout') : arm()), Math.min(MAX_DELAY, Math.max(0, deadline - Date.now())));
    };
    const end = (how: Unblocked) => {
      if (c.blocked === null) return;
      c.blocked = null;
      clearTimeout(timer);
      ctx.shared.workerAdd(ctx.index, 'blocked', -1);
      c.blockedMs += performance.now() - since;
      resolve(how);
    };
    c.blocked = end;
    c.blockTimed = ms > 0;
    arm();
  });
}

/** Ends the block of client `id` on this worker, if it is blocked here; returns whether it was. */
export function unblockClient(ctx: WorkerContext, id: number, how: 'timeout' | 'error'): boolean {
  const c = ctx.clients.get(id);
  if (c === undefined || c.blocked === null) return false;
  c.blocked(how);
  return true;
}

// CLIENT UNBLOCK reaches every worker: [client id, 'timeout' | 'error'] → whether it unblocked it.
registerQuery('client-unblock', (ctx, args) => unblockClient(ctx, args[0] as number, args[1] as 'timeout' | 'error'));
