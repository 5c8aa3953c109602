/**
 * CLUSTER, READONLY, READWRITE and MODULE on a server with neither cluster support nor modules:
 * the replies redis-server 7.0 gives with cluster support disabled and no module loaded (MODULE
 * LOAD and its kin are refused in our own words: no module can be loaded here).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasBinary, startRedis } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { enc, RawConn, serverPool } from './harness.ts';
import type { TestServer } from './harness.ts';

const pool = serverPool();
let s: TestServer;
let redis: Running | null = null;
beforeAll(async () => {
  s = await pool.server([], 2);
  if (hasBinary('redis-server')) redis = await startRedis('64mb');
});
afterAll(async () => {
  await pool.cleanup();
  await redis?.stop();
});

describe('cluster and module commands', () => {
  it.skipIf(!hasBinary('redis-server'))('answer as redis-server with cluster support disabled and no module', async () => {
    const [a, b] = [await pool.conn(s), await RawConn.connect(redis!.port)];
    try {
      for (const resp of ['2', '3']) {
        for (const c of [a, b]) await c.request(enc('HELLO', resp));
        for (const argv of [
          ['CLUSTER', 'INFO'], ['CLUSTER', 'SLOTS'], ['CLUSTER', 'SHARDS'], ['CLUSTER', 'NODES'], ['CLUSTER', 'MYID'], ['CLUSTER', 'HELP'], ['CLUSTER', 'KEYSLOT', 'k'],
          ['CLUSTER', 'KEYSLOT'], ['CLUSTER', 'INFO', 'x'], ['CLUSTER', 'SETSLOT', '1'], ['CLUSTER', 'NOSUCH'], ['CLUSTER'], ['READONLY'], ['READWRITE'], ['READONLY', 'x'],
          ['MODULE', 'LIST'], ['MODULE', 'HELP'], ['MODULE', 'LIST', 'x'], ['MODULE'], ['MODULE', 'NOSUCH'], ['MODULE', 'UNLOAD'],
        ]) {
          const req = enc(...argv);
          expect(await a.request(req), `${argv.join(' ')} RESP${resp}`).toBe(await b.request(req));
        }
      }
    } finally {
      b.close();
    }
  });

  it('MODULE LOAD, LOADEX and UNLOAD are refused', async () => {
    const c = await pool.conn(s);
    for (const argv of [['MODULE', 'LOAD', '/tmp/x.so'], ['MODULE', 'LOADEX', '/tmp/x.so'], ['MODULE', 'UNLOAD', 'x']]) {
      expect(await c.request(enc(...argv))).toBe(`-ERR MODULE ${argv[1]} is not supported: this server loads no modules\r\n`);
    }
  });
});
