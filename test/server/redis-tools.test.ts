/**
 * Debian's redis-tools against the server: redis-cli commands and inline mode, --pipe mass
 * insertion, and a short redis-benchmark run that must finish without errors.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

const run = promisify(execFile);
let srv: TestServer;
beforeAll(async () => {
  srv = await startServer([], { threads: 2 });
});
afterAll(async () => {
  await srv.stop();
});

const cli = (...args: string[]) => run('redis-cli', ['-p', String(srv.port), ...args]).then((r) => r.stdout.trimEnd());

describe('redis-cli', () => {
  it('runs commands and prints replies as with Redis', async () => {
    expect(await cli('PING')).toBe('PONG');
    expect(await cli('SET', 'cli:k', 'hello world')).toBe('OK');
    expect(await cli('GET', 'cli:k')).toBe('hello world');
    expect(await cli('INCRBY', 'cli:n', '7')).toBe('7');
    expect(await cli('GET', 'cli:none')).toBe('');
    expect(await cli('--no-raw', 'GET', 'cli:none')).toBe('(nil)');
    expect(await cli('--no-raw', 'MGET', 'cli:k', 'cli:n')).toBe('1) "hello world"\n2) "7"');
    expect(await cli('NOSUCHCMD')).toMatch(/ERR unknown command 'NOSUCHCMD'/);
  });

  it('accepts commands on stdin, one per line (inline)', async () => {
    const p = spawn('redis-cli', ['-p', String(srv.port)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.end('SET cli:inline "two words"\nGET cli:inline\nDBSIZE\n');
    await new Promise((r) => p.once('close', r));
    expect(out.split('\n').slice(0, 2)).toEqual(['OK', 'two words']);
  });

  it('--pipe mass insertion of 20000 keys', async () => {
    let proto = '';
    for (let i = 0; i < 20000; i++) {
      const k = `pipe:${i}`;
      const v = `v${i}`;
      proto += `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$${v.length}\r\n${v}\r\n`;
    }
    const p = spawn('redis-cli', ['-p', String(srv.port), '--pipe'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.end(proto);
    const code = await new Promise((r) => p.once('close', r));
    expect(code).toBe(0);
    expect(out).toMatch(/errors: 0, replies: 20000/);
    expect(await cli('GET', 'pipe:19999')).toBe('v19999');
  });
});

describe('redis-benchmark', () => {
  it('a short run completes without errors', async () => {
    const { stdout, stderr } = await run('redis-benchmark', ['-p', String(srv.port), '-q', '-n', '2000', '-c', '10', '-P', '4', '-t', 'set,get,incr,mset,ping'], { timeout: 60_000 });
    const text = stdout + stderr;
    // redis-benchmark warns when CONFIG GET fails and prints errors it received.
    expect(text).not.toMatch(/error|warning/i);
    for (const t of ['SET', 'GET', 'INCR', 'MSET \\(10 keys\\)', 'PING_INLINE', 'PING_MBULK']) expect(text).toMatch(new RegExp(`${t}: [\\d.]+ requests per second`));
  });
});
