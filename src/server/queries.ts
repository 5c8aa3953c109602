/**
 * Questions the main thread relays from one worker to all (ctx.rpc): each worker answers for
 * its own clients. Modules register their operations here.
 */
import { Buffer } from 'node:buffer';
import type { WorkerContext } from './context.ts';

type QueryHandler = (ctx: WorkerContext, args: unknown[]) => unknown;

const handlers = new Map<string, QueryHandler>([
  ['pubsub-channels', (ctx, args) => ctx.pubsub!.localChannels(args[0] === null ? null : Buffer.from(args[0] as string, 'latin1'), args[1] === true)],
]);

export function registerQuery(op: string, h: QueryHandler): void {
  handlers.set(op, h);
}

export function answerQuery(ctx: WorkerContext, op: string, args: unknown[]): unknown {
  const h = handlers.get(op);
  if (h === undefined) throw new Error(`unknown query ${op}`);
  return h(ctx, args);
}
