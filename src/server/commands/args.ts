/**
 * Argument parsing for handlers, with Redis's error texts. Handlers throw; dispatch turns the
 * error into a reply. Also the reply every HELP subcommand shares.
 */
import { Buffer } from 'node:buffer';
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

/**
 * An argument as Redis's error texts print it with C's `%.*s`: up to its first NUL byte, at most
 * `max` bytes, one character per byte (the writer sends error text as latin1, so the client gets
 * the argument's own bytes back).
 */
export function cstr(b: Uint8Array, max = Infinity): string {
  let n = Math.min(b.length, max);
  const nul = b.indexOf(0);
  if (nul >= 0 && nul < n) n = nul;
  return Buffer.from(b.buffer, b.byteOffset, n).toString('latin1');
}

export function str(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString();
}

/** A signed 64-bit integer argument; numbers beyond 2^53 come back as bigint. */
export function int64Arg(b: Uint8Array): number | bigint {
  return int64At(b, 0, b.length);
}

/** int64Arg of the argument b[off, off + len) (the request fast path reads it in place). */
export function int64At(b: Uint8Array, off: number, len: number): number | bigint {
  const v = parseInt64(b, off, len);
  if (v === null) throw scError(ErrorCode.NOT_INTEGER);
  return v;
}

/** A time for a reply: a double past int64's range (an expiry near LLONG_MAX) prints as LLONG_MAX. */
export function int64Reply(t: number): number | bigint {
  return t >= 2 ** 63 ? 9223372036854775807n : t;
}

/** DECRBY's decrement as the increment INCRBY adds; -2^63 has no negation (Redis t_string.c). */
export function negatedDecrement(d: number | bigint): number | bigint {
  if (d === -(2n ** 63n)) throw replyError('ERR decrement would overflow');
  return -d;
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
  return expireAtAt(b, 0, b.length, unitMs, base, command, positive);
}

/** expireAtArg of the argument b[off, off + len) (the request fast path reads it in place). */
export function expireAtAt(b: Uint8Array, off: number, len: number, unitMs: 1 | 1000, base: number, command: string, positive: boolean): number {
  const v = int64At(b, off, len);
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

/**
 * An integer argument as a number (counts, offsets, ids, timeouts). The whole int64 range is an
 * integer, as for Redis's getLongLongFromObjectOrReply; past 2^53 the number keeps the value's
 * magnitude, not its last digits, which is all that a count, an offset or an id that large means.
 */
export function intArg(b: Uint8Array, err?: string): number {
  const v = parseInt64(b, 0, b.length);
  if (v === null) throw scError(ErrorCode.NOT_INTEGER, err);
  return Number(v);
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/**
 * A C int argument (database indexes), as Redis's getIntFromObjectOrReply: an int64 first, then
 * the int range, each with its own error text unless `err` replaces both.
 */
export function int32Arg(b: Uint8Array, err?: string): number {
  const v = intArg(b, err);
  if (v < INT_MIN || v > INT_MAX) throw scError(ErrorCode.NOT_INTEGER, err ?? `ERR value is out of range, value must between ${INT_MIN} and ${INT_MAX}`);
  return v;
}

/**
 * A 64-bit integer argument as a number, clamped to ±2^53 where it is a bigint: for indices into
 * strings, which are far shorter, so the clamped value gives the same result.
 */
export function clampToSafe(v: number | bigint): number {
  return typeof v === 'bigint' ? (v > 0n ? Number.MAX_SAFE_INTEGER : -Number.MAX_SAFE_INTEGER) : v;
}

/** One of two option words, in any letter case: true for `yes`, false for `no`, else a syntax error. */
export function eitherWord(b: Uint8Array, yes: string, no: string): boolean {
  const w = word(b);
  if (w === yes) return true;
  if (w === no) return false;
  throw syntaxError();
}

export function syntaxError(): ShardcacheError {
  return scError(ErrorCode.SYNTAX);
}

/** An error with Redis's text, for cases without a code of their own. */
export function replyError(message: string): ShardcacheError {
  return new ShardcacheError(ErrorCode.INVALID_ARG, message);
}
