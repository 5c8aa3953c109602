/**
 * CLUSTER, READONLY, READWRITE and MODULE on a server with neither cluster support nor modules:
 * the replies redis-server 7.0 gives with cluster support disabled and no module loaded (MODULE
 * LOAD and its kin are refused in our own words: no module can be loaded here).
 */
import { describe, expect, it } from 'vitest';
import { enc, oursAndRedis, RawConn } from './harness.ts';

const both = oursAndRedis();

describe('cluster and module commands', () => {
  it.skipIf(!both.hasRedis)('answer as redis-server with cluster support disabled and no module', async () => {
    const [a, b] = [await both.conn(), await RawConn.connect(both.redisPort())];
    try {
      for (const resp of ['2', '3']) {
        for (const c of [a, b]) await c.request(enc('HELLO', resp));
        for (const argv of [
          ['CLUSTER', 'INFO'], ['CLUSTER', 'SLOTS'], ['CLUSTER', 'SHARDS'], ['CLUSTER', 'NODES'], ['CLUSTER', 'MYID'], ['CLUSTER', 'HELP'], ['CLUSTER', 'KEYSLOT', 'k'],
          ['CLUSTER', 'KEYSLOT'], ['CLUSTER', 'INFO', 'x'], ['CLUSTER', 'SETSLOT', '1'], ['CLUSTER', 'NOSUCH'], ['CLUSTER', 'constructor'], ['CLUSTER', '__proto__'], ['CLUSTER'], ['READONLY'], ['READWRITE'], ['READONLY', 'x'],
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
    const c = await both.conn();
    for (const argv of [['MODULE', 'LOAD', '/tmp/x.so'], ['MODULE', 'LOADEX', '/tmp/x.so'], ['MODULE', 'UNLOAD', 'x']]) {
      expect(await c.request(enc(...argv))).toBe(`-ERR MODULE ${argv[1]} is not supported: this server loads no modules\r\n`);
    }
  });
});
