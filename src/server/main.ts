/**
 * The main thread: owns the store, the listening sockets and the workers. It accepts each
 * connection (paused), counts it against maxclients and transfers the socket to the worker with
 * the fewest connections; it never parses a request. It relays cross-worker questions (CLIENT
 * LIST, PUBSUB CHANNELS ...), spreads CONFIG SET, samples ops/sec, restarts a worker that dies,
 * and shuts down cleanly on SIGTERM, SIGINT or SHUTDOWN.
 */
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Store } from '../store/store.ts';
import type { Config } from './config.ts';
import type { FromWorker, ToWorker, WorkerInit } from './messages.ts';
import { InstantaneousRate } from './instantaneous.ts';
import { SharedState } from './shared-state.ts';
import { ChannelLedger } from './channel-ledger.ts';

export interface RunningServer {
  readonly port: number;
  readonly store: Store;
  close(): Promise<void>;
}

export interface ServerOptions {
  version: string;
  log?: (line: string) => void;
  /** Called once, when the server has shut down (exit code for the process). */
  onExit?: (code: number) => void;
}

const LEVELS = ['debug', 'verbose', 'notice', 'warning', 'nothing'];

export async function runServer(cfg: Config, opts: ServerOptions): Promise<RunningServer> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const level = () => LEVELS.indexOf(cfg.get('loglevel') ?? 'notice');
  const say = (lvl: string, text: string) => {
    if (LEVELS.indexOf(lvl) >= level()) log(`${process.pid}:M ${new Date().toISOString()} ${lvl === 'warning' ? '#' : '*'} ${text}`);
  };
  const threads = Number(cfg.get('threads'));
  const shards = Number(cfg.get('shards'));
  const store = Store.create({
    shards,
    policy: cfg.get('maxmemory-policy')!,
    maxMemory: Number(cfg.get('maxmemory')),
    lfuLogFactor: Number(cfg.get('lfu-log-factor')),
    lfuDecayTime: Number(cfg.get('lfu-decay-time')),
    slabGrowthFactor: Number(cfg.get('slab-growth-factor')),
  });
  const shared = new SharedState();
  shared.put('lastSave', Math.floor(Date.now() / 1000));
  const busName = `shardcache:${process.pid}:${randomBytes(4).toString('hex')}`;
  const runId = randomBytes(20).toString('hex');
  const startedAt = Date.now();
  const workers: (Worker | null)[] = new Array(threads).fill(null);
  /** Sockets handed to each worker (never reset); minus its 'adopted' count = still in flight. */
  const handedOff = new Array<number>(threads).fill(0);
  let closing = false;
  let querySeq = 0;
  /** Relayed questions: the workers still owing an answer, and the answers so far. */
  const queries = new Map<number, { from: number; rpcId: number; answers: unknown[]; waiting: Set<number>; error?: { code: string; message: string } }>();
  /** Worker `i` answered, or can no longer answer (it exited): reply once nobody is owed. */
  const settle = (qid: number, i: number) => {
    const q = queries.get(qid);
    if (q === undefined || !q.waiting.delete(i) || q.waiting.size > 0) return;
    queries.delete(qid);
    send(q.from, { type: 'rpc-reply', id: q.rpcId, result: q.answers, error: q.error });
  };

  const initFor = (index: number): WorkerInit => ({
    index,
    store: store.handle(),
    shared: shared.buffer,
    config: [...cfg],
    workers: threads,
    ownedShards: Array.from({ length: shards }, (_, s) => s).filter((s) => s % threads === index),
    busName,
    startedAt,
    runId,
  });

  const send = (i: number, m: ToWorker, transfer?: unknown[]) => workers[i]?.postMessage(m, transfer as never);

  /** What each worker counted in the shared channel table, kept exact through a worker's death. */
  const ledger = new ChannelLedger(shared);

  const onMessage = (i: number, from: Worker, m: FromWorker) => {
    switch (m.type) {
      case 'subscriptions':
        // A dead worker's late reports: its subscriptions have left the table already.
        if (workers[i] === from) ledger.noted(i, m.a, m.b, m.kind, m.d, m.seq);
        break;
      case 'log':
        say(m.level, m.text);
        break;
      case 'config-set':
        cfg.set(m.name, m.value);
        // The store is shared: the worker that ran CONFIG SET already applied maxmemory and the
        // policy to it; the others only update their copy of the setting.
        for (let w = 0; w < threads; w++) if (w !== i) send(w, { type: 'config', name: m.name, value: m.value });
        break;
      case 'rpc': {
        const qid = ++querySeq;
        const live = workers.map((w, idx) => (w === null ? -1 : idx)).filter((x) => x >= 0);
        queries.set(qid, { from: i, rpcId: m.id, answers: new Array(threads).fill(null), waiting: new Set(live) });
        for (const w of live) send(w, { type: 'query', id: qid, op: m.op, args: m.args });
        break;
      }
      case 'answer': {
        const q = queries.get(m.id);
        if (q === undefined) break;
        if (m.error !== undefined) q.error = m.error;
        else q.answers[i] = m.result;
        settle(m.id, i);
        break;
      }
      case 'shutdown':
        say('warning', 'User requested shutdown...');
        void shutdown(0);
        break;
      default:
        break;
    }
  };

  const spawn = (i: number) => {
    const w = new Worker(new URL('./worker.ts', import.meta.url), { workerData: initFor(i) });
    workers[i] = w;
    // Its mark on the shard locks it holds (threadId reads -1 once the thread has stopped).
    const lockOwner = w.threadId + 1;
    w.on('message', (m: FromWorker) => onMessage(i, w, m));
    w.on('error', (e: Error) => say('warning', `worker ${i} failed: ${e.stack ?? e.message}`));
    w.on('exit', (code) => {
      if (workers[i] !== w) return;
      workers[i] = null;
      // First, before anything here takes a shard lock: the locks it died holding.
      for (const r of store.recoverLocksOf(lockOwner)) {
        if (r.problem === null) say('warning', `worker ${i} died holding the lock of shard ${r.shard}; the shard checked consistent and is released`);
        else say('warning', `worker ${i} died holding the lock of shard ${r.shard} in the middle of a change (${r.problem}); the shard was emptied (${r.dropped} keys dropped) and released`);
      }
      // Its connections died with it, including sockets handed over but never adopted.
      const lost = shared.workerGet(i, 'connections') + Math.max(0, handedOff[i]! - shared.workerGet(i, 'adopted'));
      shared.workerAdd(i, 'connections', -shared.workerGet(i, 'connections'));
      handedOff[i] = shared.workerGet(i, 'adopted');
      shared.add('clients', -lost);
      // What its clients counted server-wide goes with them: subscriptions (PUBLISH and PUBSUB
      // NUMSUB would count subscribers that are gone), WATCH registrations (their shards would
      // log every write for good), MONITORs and trackers (every worker would keep feeding them).
      const live = workers.flatMap((x, idx) => (x === null ? [] : [idx]));
      if (ledger.died(i, lockOwner, live)) say('warning', `worker ${i} died holding the lock of the channel table; the table was rebuilt from the other workers' subscriptions`);
      for (const v of live) send(v, { type: 'peer-died', index: i });
      for (const [shard, n] of shared.takeWatchRegs(i)) store.releaseWatches(shard, n);
      for (const name of ['monitors', 'trackers'] as const) {
        const n = shared.workerGet(i, name);
        shared.add(name, -n);
        shared.workerAdd(i, name, -n);
      }
      shared.forgetWorkerShares(i);
      for (const qid of [...queries.keys()]) settle(qid, i);
      if (closing) return;
      say('warning', `worker ${i} exited with code ${code}; ${lost} connection(s) lost; starting a replacement (the data lives in shared memory and survives)`);
      spawn(i);
    });
    return new Promise<void>((resolve) => w.once('message', () => resolve()));
  };
  await Promise.all(workers.map((_, i) => spawn(i)));

  const maxclients = () => Number(cfg.get('maxclients'));
  const onConnection = (sock: net.Socket) => {
    if (closing) return sock.destroy();
    if (shared.get('clients') >= maxclients()) {
      shared.workerAdd(0, 'rejected', 1);
      sock.end('-ERR max number of clients reached\r\n');
      return;
    }
    // Fewest connections, counting sockets handed over that the worker has not adopted yet, so
    // a burst of connections spreads instead of all going to the same worker.
    const load = (i: number) => shared.workerGet(i, 'connections') + Math.max(0, handedOff[i]! - shared.workerGet(i, 'adopted'));
    let best = -1;
    for (let i = 0; i < threads; i++) {
      if (workers[i] === null) continue;
      if (best < 0 || load(i) < load(best)) best = i;
    }
    if (best < 0) return sock.destroy();
    shared.add('clients', 1);
    handedOff[best]!++;
    send(best, { type: 'conn', socket: sock }, [sock]);
  };

  const servers: net.Server[] = [];
  const port0 = Number(cfg.get('port'));
  let port = port0;
  for (const addr of (cfg.get('bind') ?? '127.0.0.1').split(/\s+/).filter(Boolean)) {
    const srv = net.createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port, host: addr.replace(/^-/, ''), backlog: Number(cfg.get('tcp-backlog')) }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    port = (srv.address() as net.AddressInfo).port;
    servers.push(srv);
  }

  // The binary protocol is also served on the main port (workers tell the protocols apart by
  // the first byte); binary-port adds a port for it alone, on the first bind address.
  const binaryPort = Number(cfg.get('binary-port') ?? 0);
  if (binaryPort > 0) {
    const srv = net.createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ port: binaryPort, host: (cfg.get('bind') ?? '127.0.0.1').split(/\s+/)[0]!.replace(/^-/, '') }, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    servers.push(srv);
  }

  if (port !== port0) {
    // --port 0 picked a free port: CONFIG GET port and INFO report the real one.
    cfg.set('port', String(port));
    for (let i = 0; i < threads; i++) send(i, { type: 'config', name: 'port', value: String(port) });
  }

  // instantaneous_ops_per_sec and _input_kbps / _output_kbps: per second over the last 16
  // samples of 100 ms, as Redis (server.c trackInstantaneousMetric).
  const start = performance.now();
  const commands = new InstantaneousRate(() => shared.total('commands', threads), start);
  const netIn = new InstantaneousRate(() => shared.total('netIn', threads), start);
  const netOut = new InstantaneousRate(() => shared.total('netOut', threads), start);
  const sampler = setInterval(() => {
    const now = performance.now();
    shared.put('opsPerSec', Math.round(commands.sample(now)));
    shared.setRate('netInPerSec', netIn.sample(now));
    shared.setRate('netOutPerSec', netOut.sample(now));
  }, 100);
  sampler.unref();

  const mm = Number(cfg.get('maxmemory'));
  log(`shardcache ${opts.version} ready: port ${port}, threads ${threads}, shards ${shards}, maxmemory ${mm === 0 ? 'none' : `${mm} bytes`} (${cfg.get('maxmemory-policy')}), bind ${cfg.get('bind')}, pid ${process.pid}`);

  let done: Promise<void> | null = null;
  const shutdown = (code: number): Promise<void> => {
    if (done !== null) return done;
    closing = true;
    clearInterval(sampler);
    done = (async () => {
      // Stop listening at once; the close callback would wait for connections the workers own.
      for (const s of servers) s.close();
      await Promise.all(
        workers.map(async (w, i) => {
          if (w === null) return;
          const exited = new Promise<void>((r) => w.once('exit', () => r()));
          send(i, { type: 'shutdown' });
          const t = setTimeout(() => void w.terminate(), 2000);
          await exited;
          clearTimeout(t);
        }),
      );
      say('notice', 'shardcache is now ready to exit, bye bye...');
      opts.onExit?.(code);
    })();
    return done;
  };

  return { port, store, close: () => shutdown(0) };
}
