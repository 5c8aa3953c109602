/**
 * For a test comparing with a live redis-server: one started on an ephemeral port before the
 * enclosing describe's tests, with an ioredis client, both stopped after them. Call it inside a
 * describe.skipIf(!hasBinary('redis-server')).
 */
import { afterAll, beforeAll } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from '../src/bench/net.ts';
import type { Running } from '../src/bench/net.ts';

export function liveRedis(): { client(): Redis } {
  let redis: Running | null = null;
  let client: Redis | null = null;
  beforeAll(async () => {
    redis = await startRedis('64mb');
    client = new Redis({ port: redis.port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });
  return { client: () => client! };
}
