/**
 * floor-server.ts stands in for a server in `bench net --floor`, so it must answer redis-benchmark's
 * traffic reply for reply: a bulk value of the configured size per GET, +OK per SET, however the
 * requests are split across reads.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFloor } from '../../src/bench/net.ts';

let floor: Awaited<ReturnType<typeof startFloor>>;
beforeAll(async () => {
  floor = await startFloor(2, 7);
});
afterAll(async () => {
  await floor.stop();
});

const GET = '*2\r\n$3\r\nGET\r\n$16\r\nkey:000000000042\r\n';
const SET = '*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000042\r\n$7\r\nxxxxxxx\r\n';

async function exchange(pieces: string[], expectBytes: number): Promise<string> {
  const s = net.connect(floor.port, '127.0.0.1');
  s.setNoDelay(true);
  let got = '';
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.length >= expectBytes) resolve();
    });
    s.on('error', reject);
  });
  await new Promise<void>((r) => s.once('connect', () => r()));
  for (const p of pieces) {
    s.write(p);
    // Separate reads on the server: wait for the bytes to leave before the next piece.
    await new Promise((r) => setTimeout(r, 2));
  }
  await done;
  s.destroy();
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
