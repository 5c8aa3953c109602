#!/usr/bin/env node
/**
 * The shardcache binary. Configuration errors exit with status 1 and one line on stderr, never a
 * stack trace.
 */
import { Command, CommanderError } from 'commander';
import { appendFileSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { registerBenchSuite } from '../bench/suite.ts';
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

  const bench = program.command('bench');
  registerBenchSuite(bench, print);
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
