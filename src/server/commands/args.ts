/**
 * Argument parsing for handlers, with Redis's error texts. Handlers throw; dispatch turns the
 * error into a reply.
 */
import { ErrorCode, scError, ShardcacheError } from '../../errors.ts';
import { parseInt64 } from '../../store/numbers.ts';

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
