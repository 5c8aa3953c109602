/**
 * Argument parsing for handlers, with Redis's error texts. Handlers throw; dispatch turns the
 * error into a reply. Also the reply every HELP subcommand shares.
 */
import { ErrorCode, scError, ShardcacheError } from '../../errors.ts';
import { parseInt64 } from '../../store/numbers.ts';
import type { Client } from '../client.ts';

/** A HELP subcommand's reply: its lines as simple strings. */
export function help(c: Client, lines: readonly string[]): void {
  c.out.array(lines.length);
  for (const l of lines) c.out.simple(l);
}

/** The command or option word, lower case (ASCII). */
export function word(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    s += String.fromCharCode(c >= 65 && c <= 90 ? c + 32 : c);
  }
  return s;
}

export function str(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString();
}

/** A signed 64-bit integer argument; numbers beyond 2^53 come back as bigint. */
export function int64Arg(b: Uint8Array): number | bigint {
  const v = parseInt64(b, 0, b.length);
  if (v === null) throw scError(ErrorCode.NOT_INTEGER);
  return v;
}

const LLONG_MAX = 9223372036854775807n;
const LLONG_MIN = -9223372036854775808n;

/**
 * An expiry argument as an absolute Unix ms time: `v × unitMs + base` (base = now for the
 * relative forms, 0 for EXAT/PXAT/EXPIREAT), with Redis's int64 range checks (t_string.c
 * getExpireMillisecondsOrReply for SET/GETEX/SETEX, where v must be positive; expire.c
 * expireGenericCommand for EXPIRE and friends, where 0 and negatives delete the key). Times past
 * 2^53 ms, some 285,000 years, keep a double's precision.
 */
export function expireAtArg(b: Uint8Array, unitMs: 1 | 1000, base: number, command: string, positive: boolean): number {
  const v = int64Arg(b);
  const invalid = () => new ShardcacheError(ErrorCode.INVALID_EXPIRE, `ERR invalid expire time in '${command}' command`);
  if (positive && v <= 0) throw invalid();
  if (typeof v === 'number') {
    const at = v * unitMs + base;
    if (Number.isSafeInteger(at)) return at;
  }
  const ms = BigInt(v) * BigInt(unitMs);
  if (ms > LLONG_MAX || ms < LLONG_MIN || ms > LLONG_MAX - BigInt(base)) throw invalid();
  return Number(ms + BigInt(base));
}

/** An integer argument that must fit a JS safe integer (counts, offsets, timeouts). */
export function intArg(b: Uint8Array, err: string = 'ERR value is not an integer or out of range'): number {
  const v = parseInt64(b, 0, b.length);
  if (v === null || typeof v === 'bigint') throw new ShardcacheError(ErrorCode.NOT_INTEGER, err);
  return v;
}

export function syntaxError(): ShardcacheError {
  return scError(ErrorCode.SYNTAX);
}

/** An error with Redis's text, for cases without a code of their own. */
export function replyError(message: string): ShardcacheError {
  return new ShardcacheError(ErrorCode.INVALID_ARG, message);
}
