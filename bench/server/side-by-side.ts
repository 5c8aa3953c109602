/**
 * Two builds of the server side by side: starts the server of each checkout (threads 1, the same
 * memory limit and policy as `bench net`), loads the same keys into both, then alternates
 * redis-benchmark runs between them and prints each run's ops/s, p99 and server CPU per
 * operation. On a shared machine whose speed drifts, alternating runs of two live servers
 * separates a change's effect from the drift better than two `bench net` runs minutes apart.
 *   node bench/server/side-by-side.ts <checkout A> <checkout B> [get|set] [pipeline] [size] [runs]
 * e.g. `git worktree add /tmp/before HEAD~3`, then
 *   node bench/server/side-by-side.ts /tmp/before . get 16 100 3
 * (a worktree needs its own `npm install`, or a node_modules link to this one's).
 * SBS_ARGS_A and SBS_ARGS_B add server options to one side (default `--threads 1`), so the same
 * checkout can be compared with itself: SBS_ARGS_A='--threads 2' SBS_ARGS_B='--threads 2 --shards 256'.
 * On a many-core host: SBS_LOAD_CPUS=8 runs redis-benchmark on the last 8 CPUs and the servers on
 * the others (bench --pin), SBS_PROCS=8 runs that many redis-benchmark processes side by side,
 * SBS_CLIENTS and SBS_REQUESTS set the connections (50) and requests per run (1M, 150k at P=1).
 */
import { resolve } from 'node:path';
import { benchmark, inTurn, loadKeys, median, pinOrThrow, startShardcache } from '../../src/bench/net.ts';
import { cpuSeconds } from '../../src/bench/procstat.ts';

const [a, b, test = 'get', pipeline = '16', size = '100', runs = '3'] = process.argv.slice(2);
if (a === undefined || b === undefined) {
  console.error('usage: node bench/server/side-by-side.ts <checkout A> <checkout B> [get|set] [pipeline] [size] [runs]');
  process.exit(1);
}
const P = Number(pipeline);
const bytes = Number(size);
const KEYS = 100_000;
const env = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);
const CLIENTS = env('SBS_CLIENTS') ?? 50;
const requests = env('SBS_REQUESTS') ?? (P === 1 ? 150_000 : 1_000_000);
const loadCpus = env('SBS_LOAD_CPUS');
const pin = loadCpus === undefined ? undefined : pinOrThrow(loadCpus);
const procs = env('SBS_PROCS') ?? 1;

const servers = [
  { name: 'A', root: resolve(a), args: serverArgs('SBS_ARGS_A'), cpu: [] as number[], rps: [] as number[] },
  { name: 'B', root: resolve(b), args: serverArgs('SBS_ARGS_B'), cpu: [] as number[], rps: [] as number[] },
];
function serverArgs(name: string): string[] {
  const v = process.env[name]?.trim();
  return v ? v.split(/\s+/) : ['--threads', '1'];
}
const running = [];
try {
  for (const s of servers) running.push(await startShardcache(undefined, '1gb', s.args, s.root, pin?.server));
  for (const r of running) await loadKeys(r.port, KEYS, bytes);
  for (let i = 0; i < Number(runs); i++) {
    for (const k of inTurn([0, 1], i)) {
      const s = servers[k]!;
      const r = running[k]!;
      const c0 = cpuSeconds(r.pid);
      const m = await benchmark(r.port, { test, clients: CLIENTS, requests, pipeline: P, size: bytes, keys: KEYS, cpus: pin?.load, procs });
      const us = ((cpuSeconds(r.pid) - c0) / requests) * 1e6;
      s.cpu.push(us);
      s.rps.push(m.rps);
      console.log(`${s.name} ${test.toUpperCase()} P=${P} ${bytes} B: ${Math.round(m.rps).toLocaleString('en-US')} ops/s, p99 ${m.p99} ms, ${us.toFixed(2)} µs CPU per op`);
    }
  }
  for (const s of servers) console.log(`${s.name} (${s.root} ${s.args.join(' ')}): median ${Math.round(median(s.rps)).toLocaleString('en-US')} ops/s, ${median(s.cpu).toFixed(2)} µs CPU per op`);
} finally {
  for (const r of running) await r.stop();
}
