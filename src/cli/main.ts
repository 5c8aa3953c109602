#!/usr/bin/env node
/**
 * The shardcache binary. Configuration errors exit with status 1 and one line on stderr, never a
 * stack trace.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { runHitRatio } from './bench-hitratio.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(print: (s: string) => void = (s) => process.stdout.write(s + '\n')): Command {
  const program = new Command('shardcache')
    .description('A multithreaded in-memory cache server with a Redis-compatible protocol')
    .version(pkg.version, '-v, --version')
    .exitOverride();

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
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`shardcache: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

if (import.meta.main) await main();
