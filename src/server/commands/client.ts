/**
 * CLIENT subcommands and client-state helpers.
 */
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { clearTransaction } from './transactions.ts';
import { str } from './args.ts';
import { validName } from './connection.ts';
import { cmd, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

/** RESET and disconnect: drop transaction, subscriptions, tracking; back to db 0 and RESP2. */
export function resetClientState(ctx: WorkerContext, c: Client): void {
  clearTransaction(c);
  ctx.pubsub?.dropClient(c);
  c.db = 0;
  c.store = ctx.store;
  c.out.resp = 2;
  c.replyMode = 'on';
  c.noEvict = false;
  c.noTouch = false;
  c.name = null;
  c.authenticated = ctx.requirepass === '';
  for (const h of resetHooks) h(ctx, c);
}

const resetHooks: ((ctx: WorkerContext, c: Client) => void)[] = [];
export function onClientReset(h: (ctx: WorkerContext, c: Client) => void): void {
  resetHooks.push(h);
}

// CLIENT ID
function clientId(_ctx: WorkerContext, c: Client): void {
  c.out.int(c.id);
}
// CLIENT SETNAME connection-name
function clientSetname(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const n = validName(str(argv[2]!));
  c.name = n === '' ? null : n;
  c.out.ok();
}
// CLIENT GETNAME
function clientGetname(_ctx: WorkerContext, c: Client): void {
  if (c.name === null) c.out.nil();
  else c.out.bulkStr(c.name);
}

const C = ['noscript', 'loading', 'stale'] as const;
export const CLIENT_SUBCOMMANDS: CommandSpec[] = [
  cmd('client|id', 2, [...C], NO_KEYS, 'connection', '5.0.0', 'Returns the unique client ID of the connection.', clientId, { syntax: 'CLIENT ID' }),
  cmd('client|setname', 3, [...C], NO_KEYS, 'connection', '2.6.9', 'Sets the connection name.', clientSetname, { syntax: 'CLIENT SETNAME connection-name' }),
  cmd('client|getname', 2, [...C], NO_KEYS, 'connection', '2.6.9', 'Returns the name of the connection.', clientGetname, { syntax: 'CLIENT GETNAME' }),
];

export const CLIENT_COMMANDS: readonly CommandSpec[] = [
  cmd('client', -2, [], NO_KEYS, 'connection', '2.4.0', 'A container for client connection commands.', undefined, { subcommands: CLIENT_SUBCOMMANDS }),
];
