/**
 * Server commands: INFO, CONFIG, COMMAND, TIME, DEBUG, SHUTDOWN ...
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { cmd, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

// TIME
function time(_ctx: WorkerContext, c: Client): void {
  const us = BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
  c.out.array(2);
  c.out.bulkStr(String(us / 1_000_000n));
  c.out.bulkStr(String(us % 1_000_000n));
}

export const SERVER_COMMANDS: readonly CommandSpec[] = [
  cmd('time', 1, ['loading', 'stale', 'fast'], NO_KEYS, 'server', '2.6.0', 'Returns the server time.', time, { syntax: 'TIME' }),
];
