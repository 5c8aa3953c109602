/** Redis's protocol limits (networking.c, config.c defaults), by their Redis names. */

import { MAX_BULK } from '../store/shard.ts';

/** proto-max-bulk-len: the largest bulk string a client may send (the store's largest string). */
export const PROTO_MAX_BULK_LEN = MAX_BULK;
/** The largest multibulk (argument count) a request may declare. */
export const PROTO_MAX_MULTIBULK_LEN = 1024 * 1024 * 1024;
/** PROTO_INLINE_MAX_SIZE: an inline command (or a multibulk header line) without \r\n beyond this is an error. */
export const PROTO_INLINE_MAX_SIZE = 64 * 1024;
/** client-query-buffer-limit: the most unparsed bytes a client may accumulate. */
export const CLIENT_QUERY_BUFFER_LIMIT = 1024 * 1024 * 1024;
