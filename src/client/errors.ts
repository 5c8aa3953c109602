/**
 * Errors the client raises. Every one carries a stable `code`: either one of the client's own
 * below (transport, routing, lifecycle), or the code the server sent in its ERROR frame
 * (SC_ERR_NOT_INTEGER, SC_ERR_NOAUTH, ...), passed through unchanged so callers can branch on it.
 */

export const ClientErrorCode = {
  /** No reply within the request timeout. */
  TIMEOUT: 'SC_CLIENT_TIMEOUT',
  /** The TCP connection could not be opened: the request never left. */
  CONNECT_FAILED: 'SC_CLIENT_CONNECT_FAILED',
  /** The connection closed with the request in flight: it may or may not have run. */
  CONNECTION_CLOSED: 'SC_CLIENT_CONNECTION_CLOSED',
  /** A write for a primary that is marked down (no promoted replica to take it). */
  PRIMARY_DOWN: 'SC_CLIENT_PRIMARY_DOWN',
  /** A read whose primary and replicas are all marked down. */
  NODE_DOWN: 'SC_CLIENT_NODE_DOWN',
  /** The ring is empty. */
  NO_NODES: 'SC_CLIENT_NO_NODES',
  /** close() was called. */
  CLOSED: 'SC_CLIENT_CLOSED',
  /** The server sent bytes that are not a valid frame. */
  PROTOCOL: 'SC_CLIENT_PROTOCOL',
  /** A stored value could not be decoded with the configured codec. */
  CODEC: 'SC_CLIENT_CODEC',
  /** Bad arguments to a client method. */
  INVALID_ARG: 'SC_CLIENT_INVALID_ARG',
} as const;
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

export class ShardcacheClientError extends Error {
  /** A ClientErrorCode, or the server's error code. */
  readonly code: string;
  /** The node (id) the failure concerns, when there is one. */
  readonly node: string | undefined;
  /** True when the code came from the server rather than from the client. */
  readonly fromServer: boolean;
  constructor(code: string, message: string, opts: { node?: string; fromServer?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ShardcacheClientError';
    this.code = code;
    this.node = opts.node;
    this.fromServer = opts.fromServer ?? false;
  }
}

/** Failures of the path to a node rather than of the request: worth a retry elsewhere or later. */
export function isTransportError(e: unknown): e is ShardcacheClientError {
  if (!(e instanceof ShardcacheClientError)) return false;
  return e.code === ClientErrorCode.TIMEOUT || e.code === ClientErrorCode.CONNECT_FAILED || e.code === ClientErrorCode.CONNECTION_CLOSED;
}

/** Whether the request surely never reached the server (safe to retry even if not idempotent). */
export function neverSent(e: unknown): boolean {
  return e instanceof ShardcacheClientError && e.code === ClientErrorCode.CONNECT_FAILED;
}
