/**
 * ACL on a server whose one user is `default`: the user-reading subcommands byte for byte as
 * redis-server 7.0 answers for the same user, with and without a password; ACL LOG of failed
 * authentications on both workers, grouped as Redis groups them; SETUSER refused.
 */
import { describe, expect, it } from 'vitest';
import { enc, oursAndRedis, RawConn } from './harness.ts';

const both = oursAndRedis();
const conn = both.conn;
/** A RESP2 array of bulk strings, sorted (Redis lists a category's commands in its dict's order). */
const sortedBulks = (t: string) => t.split('\r\n').filter((l, i) => i % 2 === 0 && i > 0 && l !== '').sort();

describe('ACL', () => {
  it.skipIf(!both.hasRedis)('reads the default user as redis-server does, with and without a password, RESP2 and RESP3', async () => {
    const [a, b] = [await conn(), await RawConn.connect(both.redisPort())];
    try {
      for (const pass of ['', 'sekret']) {
        for (const c of [a, b]) expect(await c.request(enc('CONFIG', 'SET', 'requirepass', pass))).toBe('+OK\r\n');
        if (pass !== '') for (const c of [a, b]) expect(await c.request(enc('AUTH', pass))).toBe('+OK\r\n');
        for (const resp of ['2', '3']) {
          for (const c of [a, b]) await c.request(enc('HELLO', resp));
          for (const argv of [
            ['ACL', 'GETUSER', 'default'], ['ACL', 'GETUSER', 'nobody'], ['ACL', 'LIST'], ['ACL', 'USERS'], ['ACL', 'WHOAMI'], ['ACL', 'CAT'],
            ['ACL', 'DELUSER', 'bob', 'alice'], ['ACL', 'DELUSER', 'bob', 'default'], ['ACL', 'LOAD'], ['ACL', 'SAVE'], ['ACL', 'HELP'],
            ['ACL', 'DRYRUN', 'default', 'get', 'k'], ['ACL', 'DRYRUN', 'default', 'get'], ['ACL', 'DRYRUN', 'default', 'nosuch'], ['ACL', 'DRYRUN', 'default', 'client', 'list'],
            ['ACL', 'DRYRUN', 'default', 'client', 'nosuch'], ['ACL', 'DRYRUN', 'default', 'client'], ['ACL', 'DRYRUN', 'nobody', 'get', 'k'], ['ACL', 'DRYRUN', 'default'],
            ['ACL', 'CAT', 'nosuch'], ['ACL', 'CAT', 'a', 'b'], ['ACL', 'GENPASS', '0'], ['ACL', 'GENPASS', '4097'], ['ACL', 'GENPASS', 'x'], ['ACL', 'GENPASS', 'x', 'y'], ['ACL', 'LOG', 'x'], ['ACL', 'LOG', '1', '2'],
            ['ACL', 'LOG', '0'], ['ACL', 'LOG', '-1'], ['ACL', 'NOSUCH'], ['ACL'], ['ACL', 'GETUSER'], ['ACL', 'WHOAMI', 'x'],
          ]) {
            const req = enc(...argv);
            expect(await a.request(req), `${argv.join(' ')} (password '${pass}', RESP${resp})`).toBe(await b.request(req));
          }
        }
        for (const c of [a, b]) await c.request(enc('HELLO', '2'));
        const known = new Set(sortedBulks(await b.request(enc('COMMAND', 'LIST'))));
        for (const cat of ['string', 'connection', 'keyspace', 'admin', 'fast', 'pubsub', 'transaction']) {
          const theirs = sortedBulks(await b.request(enc('ACL', 'CAT', cat)));
          // Each category's commands that this server has, as Redis files them.
          const ours = sortedBulks(await a.request(enc('ACL', 'CAT', cat)));
          expect(ours.length, cat).toBeGreaterThan(0);
          for (const name of ours) if (known.has(name)) expect(theirs, `${cat}: ${name}`).toContain(name);
        }
      }
    } finally {
      for (const c of [a, b]) await c.request(enc('CONFIG', 'SET', 'requirepass', ''));
      b.close();
    }
  });

  it('GENPASS gives random hex of the bits asked for (256 by default)', async () => {
    const c = await conn();
    const bulk = async (...a: string[]) => (await c.request(enc('ACL', 'GENPASS', ...a))).split('\r\n')[1]!;
    const [x, y] = [await bulk(), await bulk()];
    expect(x).toMatch(/^[0-9a-f]{64}$/);
    expect(x).not.toBe(y);
    expect(await bulk('5')).toMatch(/^[0-9a-f]{2}$/);
    expect(await bulk('32')).toMatch(/^[0-9a-f]{8}$/);
    expect(await bulk('4096')).toMatch(/^[0-9a-f]{1024}$/);
  });

  it('LOG records failed authentications on every worker, grouped as Redis groups them, newest first; RESET clears every worker', async () => {
    const admin = await conn();
    expect(await admin.request(enc('ACL', 'LOG', 'RESET'))).toBe('+OK\r\n');
    expect(await admin.request(enc('CONFIG', 'SET', 'requirepass', 'sekret'))).toBe('+OK\r\n');
    try {
      expect(await admin.request(enc('AUTH', 'sekret'))).toBe('+OK\r\n');
      // Four clients, two per worker: the same failure from each is one entry.
      const cs = [await conn(), await conn(), await conn(), await conn()];
      for (const c of cs) expect(await c.request(enc('AUTH', 'wrong'))).toBe('-WRONGPASS invalid username-password pair or user is disabled.\r\n');
      expect(await cs[0]!.request(enc('AUTH', 'nobody', 'x'))).toMatch(/^-WRONGPASS/);
      expect(await cs[1]!.request(enc('HELLO', '3', 'AUTH', 'default', 'bad'))).toMatch(/^-WRONGPASS/);
      expect(await cs[2]!.request(enc('AUTH', 'sekret') + enc('MULTI') + enc('AUTH', 'bad') + enc('EXEC'), 4)).toMatch(/\*1\r\n-WRONGPASS/);
      // No reading without authenticating.
      expect(await cs[3]!.request(enc('ACL', 'LOG'))).toBe('-NOAUTH Authentication required.\r\n');
      const text = await admin.request(enc('ACL', 'LOG'));
      const entries = text.split(/\*14\r\n/).slice(1).map((e) => {
        const f = e.split('\r\n');
        return { count: f[2], object: f[14], context: f[10], username: f[18] };
      });
      expect(entries).toEqual([
        { count: ':1', object: 'auth', context: 'multi', username: 'default' },
        { count: ':1', object: 'hello', context: 'toplevel', username: 'default' },
        { count: ':1', object: 'auth', context: 'toplevel', username: 'nobody' },
        { count: ':4', object: 'auth', context: 'toplevel', username: 'default' },
      ]);
      expect(text).toContain('cmd=auth');
      expect(text).toMatch(/age-seconds\r\n\$[\d]+\r\n\d+(\.\d+)?\r\n/);
      expect((await admin.request(enc('ACL', 'LOG', '2'))).startsWith('*2\r\n')).toBe(true);
      expect(await admin.request(enc('ACL', 'LOG', 'RESET'))).toBe('+OK\r\n');
      expect(await admin.request(enc('ACL', 'LOG'))).toBe('*0\r\n');
      // acllog-max-len bounds what each worker keeps (cs[0] and cs[2] share a worker, cs[1] and
      // cs[3] the other).
      expect(await admin.request(enc('CONFIG', 'SET', 'acllog-max-len', '1'))).toBe('+OK\r\n');
      for (const [i, user] of [[0, 'u'], [1, 'v'], [2, 'w']] as const) await cs[i]!.request(enc('AUTH', user, 'x'));
      const kept = await admin.request(enc('ACL', 'LOG'));
      expect(kept.startsWith('*2\r\n')).toBe(true);
      expect([kept.includes('\r\nu\r\n'), kept.includes('\r\nv\r\n'), kept.includes('\r\nw\r\n')]).toEqual([false, true, true]);
    } finally {
      await admin.request(enc('CONFIG', 'SET', 'acllog-max-len', '128'));
      await admin.request(enc('CONFIG', 'SET', 'requirepass', ''));
    }
  });

  it('SETUSER is refused: there is one user, whose password requirepass sets', async () => {
    const c = await conn();
    expect(await c.request(enc('ACL', 'SETUSER', 'bob', 'on', '>pw'))).toMatch(/^-ERR ACL SETUSER is not supported/);
    expect(await c.request(enc('ACL', 'USERS'))).toBe('*1\r\n$7\r\ndefault\r\n');
  });
});
