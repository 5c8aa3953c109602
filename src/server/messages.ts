/**
 * Messages between the main thread and workers (postMessage), and between workers
 * (BroadcastChannel). Only plain data crosses: errors travel as their `code` and text.
 */
import type { StoreHandle } from '../store/store.ts';

export interface WorkerInit {
  readonly index: number;
  readonly store: StoreHandle;
  readonly shared: SharedArrayBuffer;
  readonly config: [string, string][];
  readonly workers: number;
  /** Shards whose housekeeping (active expiry) this worker runs. */
  readonly ownedShards: number[];
  /** Name of the BroadcastChannel workers use among themselves. */
  readonly busName: string;
  readonly startedAt: number;
  readonly runId: string;
}

/** Main → worker. */
export type ToWorker =
  | { type: 'conn'; socket: unknown }
  | { type: 'config'; name: string; value: string }
  | { type: 'query'; id: number; op: string; args: unknown[] }
  | { type: 'rpc-reply'; id: number; result?: unknown; error?: { code: string; message: string } }
  /** Worker `index` has died: what it announced on the bus (its patterns) is void. */
  | { type: 'peer-died'; index: number }
  | { type: 'shutdown' };

/** Worker → main. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'config-set'; name: string; value: string }
  | { type: 'rpc'; id: number; op: string; args: unknown[] }
  | { type: 'answer'; id: number; result?: unknown; error?: { code: string; message: string } }
  | { type: 'shutdown'; save: boolean }
  | { type: 'log'; level: string; text: string }
  | { type: 'closed' }
  /** A change to a count in the shared channel table (by its slot hashes) and its number (WorkerStats.channelChanges), for the main thread's ChannelLedger. */
  | { type: 'subscriptions'; a: number; b: number; kind: number; d: number; seq: number };

/**
 * One post on the workers' bus: a worker's messages of one turn, numbered by the poster's
 * WorkerStats.busPosts. The binary protocol's own posts (binary.ts) are bare arrays, unnumbered.
 */
export interface BusPost {
  readonly from: number;
  readonly seq: number;
  readonly msgs: BusMessage[];
}

/** Worker ↔ worker, on the BroadcastChannel. */
export type BusMessage =
  /** PUBLISHes in order, encoded by PublishBatch (publish-batch.ts). */
  | { type: 'publishes'; data: Uint8Array; from: number }
  | { type: 'invalidate'; keys: Uint8Array[] | null; db: number; by: number; from: number }
  | { type: 'monitor'; line: string; from: number }
  | { type: 'patterns'; from: number; patterns: [string, number][] }
  | { type: 'patterns-ask'; from: number }
  /** The clients of all workers hold more than maxmemory-clients, and worker `to` may have the largest to close. */
  | { type: 'evict-clients'; from: number; to: number };
