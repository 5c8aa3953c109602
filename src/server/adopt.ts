/**
 * A socket the main thread accepted and transferred to a worker (Node 26 transfers net.Socket
 * through postMessage), re-wrapped around its handle with `onread`, so reads land in a buffer the
 * worker owns instead of a new Buffer per read. This relies on net.Socket's internal `_handle`;
 * test/server/socket-transfer.test.ts pins the behaviour. The worker and the floor benchmark
 * (src/bench/floor-server.ts) adopt sockets through this one function, so the floor measures
 * the server's own socket path.
 */
import { writeSync } from 'node:fs';
import net from 'node:net';

/** `callback(n, buf)` gets each read's byte count; returning false stops reading. */
export function adoptSocket(received: net.Socket, buffer: Buffer, callback: (n: number, buf: Uint8Array) => boolean): net.Socket {
  const holder = received as unknown as { _handle: unknown };
  const handle = holder._handle;
  holder._handle = null;
  const socket = new net.Socket({ handle: handle as never, readable: true, writable: true, onread: { buffer, callback } });
  socket.setNoDelay(true);
  return socket;
}

/**
 * Writes buf[0, n) to the socket's descriptor now, past the stream, when the stream has nothing
 * queued (so bytes keep their order) and is still open for writing. Returns the bytes the kernel
 * took: all of them in the usual case, fewer when its buffer filled, 0 when it would block or the
 * write failed. The caller queues the rest on the stream, which waits for room and reports an
 * error through its own events. A reply that goes out this way makes no Writable bookkeeping,
 * write request or view of the buffer: about 200 of the 600 bytes a one-request read allocated
 * (V8's total_allocated_bytes at P=1), which set how often the young generation is collected.
 * The descriptor is read from the live handle on each call: one closed by destroy() is never
 * used, and it stays this socket's while the handle is open.
 */
export function writeNow(socket: net.Socket, buf: Uint8Array, n: number): number {
  // No handle: destroyed, or a stream that is no socket (the in-process dispatch benchmark).
  const handle = (socket as unknown as { _handle?: { fd?: number } | null })._handle;
  if (handle === null || handle === undefined || socket.writableLength !== 0 || socket.writableEnded || socket.destroyed) return 0;
  const fd = handle.fd ?? -1;
  if (fd < 0) return 0;
  try {
    return writeSync(fd, buf, 0, n);
  } catch {
    return 0;
  }
}
