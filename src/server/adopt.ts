/**
 * A socket the main thread accepted and transferred to a worker (Node 26 transfers net.Socket
 * through postMessage), re-wrapped around its handle with `onread`, so reads land in a buffer the
 * worker owns instead of a new Buffer per read. This relies on net.Socket's internal `_handle`;
 * test/server/socket-transfer.test.ts pins the behaviour. The worker and the floor benchmark
 * (src/bench/floor-server.ts) adopt sockets through this one function, so the floor measures
 * the server's own socket path.
 */
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
