/**
 * floor-server.ts stands in for a server in `bench net --floor`, so it must answer redis-benchmark's
 * traffic reply for reply: a bulk value of the configured size per GET, +OK per SET, however the
 * requests are split across reads.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFloor } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { RawConn } from '../server/harness.ts';

let floor: Running;
beforeAll(async () => {
  floor = await startFloor(2, 7);
});
afterAll(async () => {
  await floor.stop();
});

const GET = '*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n';
const SET = '*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$7\r\nxxxxxxx\r\n';

async function exchange(pieces: string[], expectBytes: number): Promise<string> {
  const c = await RawConn.connect(floor.port);
  c.socket.setNoDelay(true);
  for (const p of pieces) {
    c.write(p);
    // Separate reads on the server: wait for the bytes to leave before the next piece.
    await sleep(2);
  }
  const got = await c.until((t) => t.length >= expectBytes);
  c.close();
  return got;
}

describe('floor-server', () => {
  it('answers a GET/SET pipeline in order with the configured value size', async () => {
    const got = await exchange([GET + SET + GET + SET + SET], 2 * 13 + 3 * 5);
    expect(got).toBe('$7\r\nxxxxxxx\r\n+OK\r\n$7\r\nxxxxxxx\r\n+OK\r\n+OK\r\n');
  });

  it('the same replies with the pipeline split at every byte', async () => {
    const req = SET + GET;
    for (let cut = 1; cut < req.length; cut++) {
      const got = await exchange([req.slice(0, cut), req.slice(cut)], 5 + 13);
      expect(got, `cut at ${cut}`).toBe('+OK\r\n$7\r\nxxxxxxx\r\n');
    }
  });
});
