/**
 * Connection commands: PING, ECHO, QUIT, AUTH, HELLO, SELECT, RESET.
 */
import { Buffer } from 'node:buffer';
import { ErrorCode, ShardcacheError } from '../../errors.ts';
import { closeAfterReply } from '../output.ts';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { cstr, int32Arg, intArg, replyError, str, word } from './args.ts';
import { cmd, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';
import { resetClientState } from './client.ts';
import { logAuthFailure } from './acl.ts';

// PING [message]
function ping(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 2) throw replyError(`ERR wrong number of arguments for 'ping' command`);
  if (c.inPubSubContext) {
    // Redis answers a subscribed RESP2 client with a pong message array.
    c.out.array(2);
    c.out.bulkStr('pong');
    c.out.bulk(argv.length === 2 ? argv[1]! : Buffer.alloc(0));
    return;
  }
  if (argv.length === 2) c.out.bulk(argv[1]!);
  else c.out.simple('PONG');
}

// ECHO message
function echo(_ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.bulk(argv[1]!);
}

// QUIT
function quit(ctx: WorkerContext, c: Client): void {
  c.out.ok();
  closeAfterReply(ctx, c);
}

/**
 * Checks credentials as Redis's default user; `single` is AUTH with only a password. A failure
 * goes to the ACL log under `object`, the command's name.
 */
function checkPassword(ctx: WorkerContext, c: Client, object: string, user: string, pass: string, single: boolean): void {
  if (ctx.requirepass === '') {
    if (single) throw replyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
    if (user === 'default') return;
  } else if (user === 'default' && pass === ctx.requirepass) return;
  logAuthFailure(ctx, c, object, user);
  throw new ShardcacheError(ErrorCode.INVALID_ARG, 'WRONGPASS invalid username-password pair or user is disabled.');
}

// AUTH [username] password
function auth(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (argv.length > 3) throw replyError('ERR syntax error');
  const single = argv.length === 2;
  checkPassword(ctx, c, 'auth', single ? 'default' : str(argv[1]!), str(argv[argv.length - 1]!), single);
  c.authenticated = true;
  c.out.ok();
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
function hello(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  let ver = c.out.resp as number;
  let i = 1;
  if (argv.length > 1) {
    // Read as getLongLongFromObjectOrReply reads it: no '+', no leading zeros, no spaces, no '-0'.
    const v = intArg(argv[1]!, 'ERR Protocol version is not an integer or out of range');
    if (v < 2 || v > 3) throw new ShardcacheError(ErrorCode.INVALID_ARG, 'NOPROTO unsupported protocol version');
    ver = v;
    i = 2;
  }
  let setName: string | null = null;
  for (; i < argv.length; i++) {
    const opt = word(argv[i]!);
    if (opt === 'auth' && i + 2 < argv.length) {
      checkPassword(ctx, c, 'hello', str(argv[i + 1]!), str(argv[i + 2]!), false);
      c.authenticated = true;
      i += 2;
    } else if (opt === 'setname' && i + 1 < argv.length) {
      setName = validName(str(argv[i + 1]!));
      i += 1;
    } else throw replyError(`ERR Syntax error in HELLO option '${cstr(argv[i]!)}'`);
  }
  if (!c.authenticated) throw new ShardcacheError(ErrorCode.INVALID_ARG, 'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
  if (setName !== null) c.name = setName === '' ? null : setName;
  c.out.resp = ver as 2 | 3;
  c.out.map(7);
  c.out.bulkStr('server');
  c.out.bulkStr('redis');
  c.out.bulkStr('version');
  c.out.bulkStr(ctx.config.get('redis-version') ?? '7.2.0');
  c.out.bulkStr('proto');
  c.out.int(ver);
  c.out.bulkStr('id');
  c.out.int(c.id);
  c.out.bulkStr('mode');
  c.out.bulkStr('standalone');
  c.out.bulkStr('role');
  c.out.bulkStr('master');
  c.out.bulkStr('modules');
  c.out.array(0);
}

/** Client names may not contain spaces, newlines or special characters (Redis's rule). */
export function validName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch < 33 || ch > 126) throw replyError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  return name;
}

// SELECT index
function select(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const n = int32Arg(argv[1]!);
  if (n < 0 || n >= ctx.databases) throw replyError('ERR DB index is out of range');
  c.db = n;
  c.store = ctx.store.select(n);
  c.out.ok();
}

// RESET
function reset(ctx: WorkerContext, c: Client): void {
  resetClientState(ctx, c);
  c.out.simple('RESET');
}

export const CONNECTION_COMMANDS: readonly CommandSpec[] = [
  cmd('ping', -1, ['fast'], NO_KEYS, 'connection', '1.0.0', 'Returns the server\'s liveliness response.', ping, { syntax: 'PING [message]' }),
  cmd('echo', 2, ['fast', 'loading', 'stale'], NO_KEYS, 'connection', '1.0.0', 'Returns the given string.', echo, { syntax: 'ECHO message' }),
  cmd('quit', -1, ['no_auth', 'fast', 'loading', 'stale', 'allow_busy', 'noscript'], NO_KEYS, 'connection', '1.0.0', 'Closes the connection.', quit, { syntax: 'QUIT' }),
  cmd('auth', -2, ['no_auth', 'fast', 'loading', 'stale', 'allow_busy', 'noscript'], NO_KEYS, 'connection', '1.0.0', 'Authenticates the connection.', auth, { syntax: 'AUTH [username] password' }),
  cmd('hello', -1, ['no_auth', 'fast', 'loading', 'stale', 'allow_busy', 'noscript'], NO_KEYS, 'connection', '6.0.0', 'Handshakes with the Redis server.', hello, { syntax: 'HELLO [protover [AUTH username password] [SETNAME clientname]]' }),
  cmd('select', 2, ['fast', 'loading', 'stale'], NO_KEYS, 'connection', '1.0.0', 'Changes the selected database.', select, { syntax: 'SELECT index' }),
  cmd('reset', 1, ['no_auth', 'fast', 'loading', 'stale', 'noscript', 'allow_busy'], NO_KEYS, 'connection', '6.2.0', 'Resets the connection.', reset, { syntax: 'RESET' }),
];
