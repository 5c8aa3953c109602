/**
 * Every error the store or server raises comes from here, with a stable `code`. The code is what
 * crosses threads and wire protocols; `message` is Redis's wording where Redis has one, so a
 * RESP reply is `-${message}` unchanged.
 */

export const ErrorCode = {
  NOT_INTEGER: 'SC_ERR_NOT_INTEGER',
  NOT_FLOAT: 'SC_ERR_NOT_FLOAT',
  OVERFLOW: 'SC_ERR_OVERFLOW',
  NAN_OR_INF: 'SC_ERR_NAN_OR_INF',
  SYNTAX: 'SC_ERR_SYNTAX',
  NO_SUCH_KEY: 'SC_ERR_NO_SUCH_KEY',
  OOM: 'SC_ERR_OOM',
  TOO_LARGE: 'SC_ERR_TOO_LARGE',
  INVALID_EXPIRE: 'SC_ERR_INVALID_EXPIRE',
  OFFSET_RANGE: 'SC_ERR_OFFSET_RANGE',
  INVALID_ARG: 'SC_ERR_INVALID_ARG',
  OPLOG_LAPPED: 'SC_ERR_OPLOG_LAPPED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const MESSAGES: Record<ErrorCode, string> = {
  SC_ERR_NOT_INTEGER: 'ERR value is not an integer or out of range',
  SC_ERR_NOT_FLOAT: 'ERR value is not a valid float',
  SC_ERR_OVERFLOW: 'ERR increment or decrement would overflow',
  SC_ERR_NAN_OR_INF: 'ERR increment would produce NaN or Infinity',
  SC_ERR_SYNTAX: 'ERR syntax error',
  SC_ERR_NO_SUCH_KEY: 'ERR no such key',
  SC_ERR_OOM: "OOM command not allowed when used memory > 'maxmemory'.",
  SC_ERR_TOO_LARGE: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)',
  SC_ERR_INVALID_EXPIRE: 'ERR invalid expire time in command',
  SC_ERR_OFFSET_RANGE: 'ERR offset is out of range',
  SC_ERR_INVALID_ARG: 'ERR invalid argument',
  SC_ERR_OPLOG_LAPPED: 'ERR op-log reader fell behind the ring and lost records',
};

export class ShardcacheError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? MESSAGES[code]);
    this.code = code;
    this.name = 'ShardcacheError';
  }
}

/** The one factory. `detail` replaces the default text where Redis words a case differently. */
export function scError(code: ErrorCode, detail?: string): ShardcacheError {
  return new ShardcacheError(code, detail);
}

/** Rebuilds an error from the code that crossed a thread or the wire. */
export function fromCode(code: string, message?: string): ShardcacheError {
  const known = (Object.values(ErrorCode) as string[]).includes(code);
  return new ShardcacheError(known ? (code as ErrorCode) : ErrorCode.INVALID_ARG, message);
}
