#!/usr/bin/env node
/**
 * The shardcache binary. Configuration errors exit with status 1 and one line on stderr, never a
 * stack trace.
 */
import { Command, CommanderError } from 'commander';
import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runHitRatio } from './bench-hitratio.ts';
import { resolveConfig, SETTINGS } from '../server/config.ts';
import { runServer } from '../server/main.ts';

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(print: (s: string) => void = (s) => process.stdout.write(s + '\n')): Command {
  const program = new Command('shardcache')
    .description('A multithreaded in-memory cache server with a Redis-compatible protocol')
    .version(pkg.version, '-v, --version')
    .exitOverride();

  const server = program
    .command('server')
    .description('start the server (settings: command line > --config file > defaults)')
    .argument('[configfile]', 'a redis.conf-syntax file (same as --config)')
    .option('--config <file>', 'a redis.conf-syntax file');
  for (const s of SETTINGS) server.option(`--${s.name} <value>`, `${s.doc} (default: ${s.dflt === '' ? '""' : s.dflt})`);
  server.action(async (file: string | undefined, o: Record<string, string>) => {
    const cli = new Map<string, string>();
    for (const s of SETTINGS) {
      const v = o[camel(s.name)];
      if (v !== undefined) cli.set(s.name, v);
    }
    const configFile = o.config ?? file;
    const cfg = resolveConfig(configFile, cli);
    // Not settings a user gives, but INFO reports them and CONFIG REWRITE writes to the file.
    if (configFile !== undefined) cfg.set('config-file', resolve(configFile));
    cfg.set('executable', resolve(process.argv[1]!));
    const logfile = cfg.get('logfile') ?? '';
    const running = await runServer(cfg, {
      version: pkg.version,
      log: logfile === '' ? undefined : (line) => appendFileSync(logfile, line + '\n'),
      onExit: (code) => process.exit(code),
    });
    const stop = (sig: string) => {
      process.stdout.write(`Received ${sig} scheduling shutdown...\n`);
      void running.close();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

  const bench = program.command('bench').description('benchmarks: hitratio');
  bench
    .command('hitratio')
    .description('replay cache traces through the real store and report miss ratios')
    .option('--trace <file>', 'one trace file (gzip, xz, zstd or raw); without it, every trace under --traces')
    .option('--traces <dir>', 'directory of traces (default: ../shared/traces)')
    .option('--format <format>', 'arc | lirs | int32 | int64 | uint32 | oracle')
    .option('--policy <policy>', 'lru | lfu | fifo | sieve | s3fifo (default lru; all when replaying a directory)')
    .option('--capacity <n>', 'cache capacity in entries')
    .option('--shards <n>', 'store shards (default 1)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      await runHitRatio(o, print);
    });
  bench
    .command('net')
    .description('shardcache vs redis-server under redis-benchmark (alternating runs)')
    .option('--clients <n>', 'redis-benchmark -c', '50')
    .option('--pipeline <list>', 'pipeline depths', '1,16')
    .option('--size <list>', 'value sizes in bytes', '100,1024')
    .option('--keys <n>', 'key space (-r); keys are loaded first', '100000')
    .option('--tests <list>', 'redis-benchmark tests', 'get,set')
    .option('--runs <n>', 'runs per server per setting', '3')
    .option('--seconds <n>', 'target seconds per run', '3')
    .option('--threads <n>', 'shardcache --threads (default: cores)')
    .option('--maxmemory <bytes>', 'memory limit for both servers', '1gb')
    .option('--json', 'print JSON')
    .action(async (o: Record<string, string | boolean>) => {
      const { runNet, netTable, hasBinary } = await import('../bench/net.ts');
      if (!hasBinary('redis-benchmark')) throw new Error('redis-benchmark is not installed (apt-get install redis-tools)');
      if (!hasBinary('redis-server')) print('redis-server is not installed: measuring shardcache alone');
      const list = (v: unknown) => String(v).split(',').map((x) => x.trim()).filter(Boolean);
      const res = await runNet({
        clients: Number(o.clients),
        pipelines: list(o.pipeline).map(Number),
        sizes: list(o.size).map(Number),
        keys: Number(o.keys),
        tests: list(o.tests),
        runs: Number(o.runs),
        seconds: Number(o.seconds),
        threads: o.threads === undefined ? undefined : Number(o.threads),
        maxmemory: String(o.maxmemory),
        progress: process.stderr.isTTY && !process.env.CI ? (l) => process.stderr.write(`\r\x1b[K${l}`) : undefined,
      });
      if (process.stderr.isTTY && !process.env.CI) process.stderr.write('\r\x1b[K');
      print(o.json ? JSON.stringify(res) : netTable(res.rows));
    });
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 1);
    process.stderr.write(`shardcache: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();
