/**
 * Differential protocol fuzzer (not run in CI): valid requests, RESP and inline, with a few bytes
 * replaced, inserted, removed or cut off, each sent on a fresh connection to redis-server and to
 * shardcache; the replies and whether the server closed the connection must be the same.
 *
 *   node test/server/protofuzz.ts [--seed 1] [--n 1000]
 *
 * Two kinds of difference are Redis's line-based parsing, which this server's byte state machine
 * does not copy, and are counted apart as known:
 * - a header or inline line holding a NUL byte: Redis looks for the line's end with strchr, which
 *   stops at the NUL, so it waits for more input forever;
 * - a header that is wrong from its first byte: Redis reports it once the line's end has arrived;
 *   we report it at once, with the same error. Redis's reply is then ours without its last line,
 *   and Redis has not closed the connection.
 * Each request uses a key of its own, so no request sees what another left behind (a request one
 * server ran and the other did not would otherwise change later replies). The mutations leave the
 * key's bytes alone, since a key they changed (KK into K:K) could be another request's; RESP
 * templates give the key its true length.
 */
import { parseArgs } from 'node:util';
import { hasBinary, startRedis, startShardcache } from '../../src/bench/net.ts';
import type { Running } from '../../src/bench/net.ts';
import { rng } from './difffuzz-gen.ts';
import { RawConn } from './harness.ts';

const TEMPLATES = [
  '*3\r\n$3\r\nSET\r\n$2\r\nKK\r\n$1\r\nv\r\n',
  '*2\r\n$3\r\nGET\r\n$2\r\nKK\r\n',
  '*1\r\n$4\r\nPING\r\n',
  'SET KK v\r\n',
  'GET KK\r\n',
  'PING\r\n',
  '*2\r\n$4\r\nECHO\r\n$5\r\nworld\r\n',
  'ECHO "a b" \'c\'\r\n',
  '*0\r\n',
  '*-1\r\n',
  '*3\r\n$3\r\nSET\r\n$2\r\nKK\r\n$-1\r\n',
  '*1\r\n$0\r\n\r\n',
  '\r\n',
  'MULTI\r\nSET KK 1\r\nEXEC\r\n',
  '*3\r\n$6\r\nINCRBY\r\n$2\r\nKK\r\n$2\r\n10\r\n',
];
const BYTES = ['*', '$', '\r', '\n', '-', '0', '1', '9', ' ', '"', "'", '\\', 'x', '\x00', '\x01', '+', ':', 'A', '\xe9'];

interface Outcome {
  out: string;
  closed: boolean;
}

/** Sends `data` on a fresh connection and takes what comes back within `waitMs`. */
async function exchange(port: number, data: Buffer, waitMs: number): Promise<Outcome> {
  const conn = await RawConn.connect(port);
  conn.write(data);
  const out = await conn.until(() => false, waitMs);
  conn.close();
  return { out, closed: conn.closed };
}

/** Why a difference is one of Redis's parsing quirks (see the header), or null. */
function knownKind(input: string, redis: Outcome, ours: Outcome): string | null {
  if (!redis.closed && ours.out.startsWith(redis.out)) {
    if (input.includes('\x00')) return 'NUL in a line (Redis waits)';
    const rest = ours.out.slice(redis.out.length);
    if (ours.closed && /^-ERR Protocol error: [^\r\n]*\r\n$/.test(rest)) return 'error at the first wrong byte (Redis waits for the line end)';
  }
  return null;
}

async function main(): Promise<void> {
  const { values: o } = parseArgs({ options: { seed: { type: 'string', default: '1' }, n: { type: 'string', default: '1000' } } });
  const seed = Number(o.seed);
  const n = Number(o.n);
  if (!hasBinary('redis-server')) throw new Error('redis-server is not installed');
  const r = rng(seed);
  /** Template `t` with its key KK as `key`, then one to three bytes replaced, inserted, removed or cut off, never inside the key. */
  const mutate = (t: string, key: string): string => {
    const parts = t.replaceAll('$2\r\nKK', `$${key.length}\r\nKK`).split('KK');
    // Each byte, and whether it is the key's.
    let b = parts.flatMap((part, i) => [...[...part].map((c) => ({ c, key: false })), ...(i < parts.length - 1 ? [...key].map((c) => ({ c, key: true })) : [])]);
    for (let m = r.int(1, 3); m > 0; m--) {
      const op = r.int(0, 3);
      const at = r.int(0, b.length);
      const inKey = (i: number): boolean => b[i]?.key === true;
      if (op === 0 && at < b.length && !inKey(at)) b[at] = { c: BYTES[r.int(0, BYTES.length - 1)]!, key: false };
      else if (op === 1 && !(inKey(at - 1) && inKey(at))) b.splice(at, 0, { c: BYTES[r.int(0, BYTES.length - 1)]!, key: false });
      else if (op === 2 && at < b.length && !inKey(at)) b.splice(at, 1);
      else if (op === 3) b = b.slice(0, at);
    }
    return b.map((x) => x.c).join('');
  };
  const servers: Running[] = [];
  try {
    servers.push(await startRedis('0'));
    servers.push(await startShardcache(2, '0'));
    const [redisPort, ourPort] = [servers[0]!.port, servers[1]!.port];
    let mismatches = 0;
    const known = new Map<string, number>();
    const BATCH = 16;
    for (let i = 0; i < n; i += BATCH) {
      const inputs = Array.from({ length: Math.min(BATCH, n - i) }, (_, j) => mutate(TEMPLATES[r.int(0, TEMPLATES.length - 1)]!, `k${i + j}`));
      const results = await Promise.all(
        inputs.map(async (input) => {
          const data = Buffer.from(input, 'latin1');
          const [a, b] = await Promise.all([exchange(redisPort, data, 150), exchange(ourPort, data, 150)]);
          return { input, a, b };
        }),
      );
      for (const { input, a, b } of results) {
        if (a.out === b.out && a.closed === b.closed) continue;
        const kind = knownKind(input, a, b);
        if (kind !== null) {
          known.set(kind, (known.get(kind) ?? 0) + 1);
          continue;
        }
        mismatches++;
        console.log(`${JSON.stringify(input)}\n  redis: ${JSON.stringify(a.out)} closed=${a.closed}\n  ours:  ${JSON.stringify(b.out)} closed=${b.closed}`);
      }
    }
    const list = [...known].map(([k, c]) => `${c} ${k}`).join(', ');
    console.log(`${n} requests, ${mismatches} mismatches; known: ${list === '' ? 'none' : list}`);
  } finally {
    for (const s of servers) await s.stop();
  }
}

await main();
