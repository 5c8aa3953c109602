/**
 * The main thread's record of what each worker counted in the shared channel table
 * (SharedState.channelAdd...), from the worker's 'subscriptions' messages, so that the table can
 * be made exact again when a worker dies.
 *
 * A worker changes a count under channelLock, numbers the change (WorkerStats.channelChanges)
 * and then posts it here. It can die at any point of that: holding the lock with the table
 * half-changed, or after a change it never reported. Taking back what the ledger says it
 * counted would then leave a count too high for good (PUBLISH would count a receiver that is
 * not there) or too low (a live subscriber's channel would be taken for silent and not reach
 * it). So a death rebuilds the table from the ledgers of the workers still alive, under the
 * lock (taken over from the dead worker if it held it). A live worker's changes made but not yet
 * received here are those numbered above what this ledger has heard and up to the number in
 * shared memory at the rebuild: the rebuild did not count them, so when their messages arrive
 * they are applied to the table as well as to the ledger.
 */
import type { SharedState } from './shared-state.ts';

interface Entry {
  readonly a: number;
  readonly b: number;
  readonly kind: number;
  n: number;
}

export class ChannelLedger {
  private readonly shared: SharedState;
  /** Per worker: its counted subscriptions by slot, as it reported them. */
  private readonly counted = new Map<number, Map<string, Entry>>();
  /** Per worker: its changes up to this number were made on a table since rebuilt without them. */
  private readonly replayUpTo = new Map<number, number>();

  constructor(shared: SharedState) {
    this.shared = shared;
  }

  /** Worker `w` changed the count of slot (a, b) by d; `seq` is the change's number. */
  noted(w: number, a: number, b: number, kind: number, d: number, seq: number): void {
    let mine = this.counted.get(w);
    if (mine === undefined) this.counted.set(w, (mine = new Map()));
    const key = `${a}:${b}:${kind}`;
    const e = mine.get(key) ?? { a, b, kind, n: 0 };
    e.n += d;
    if (e.n === 0) mine.delete(key);
    else mine.set(key, e);
    if (seq <= (this.replayUpTo.get(w) ?? 0)) this.shared.channelAddHashed(a, b, kind, d);
  }

  /**
   * Worker `w`, whose lock mark was `owner` (its threadId + 1), has stopped: rebuilds the table
   * from the ledgers of the workers in `live` and clears w's numbering for the thread that
   * replaces it. Returns whether w died holding channelLock.
   */
  died(w: number, owner: number, live: readonly number[]): boolean {
    const shared = this.shared;
    this.counted.delete(w);
    this.replayUpTo.delete(w);
    const tookOver = shared.takeOverChannelLockOf(owner);
    if (!tookOver) shared.lockChannels();
    try {
      for (const v of live) if (v !== w) this.replayUpTo.set(v, shared.workerGet(v, 'channelChanges'));
      shared.workerPut(w, 'channelChanges', 0);
      shared.rebuildChannelsLocked(this.entries());
    } finally {
      shared.unlockChannels();
    }
    return tookOver;
  }

  private *entries(): Iterable<Entry> {
    for (const mine of this.counted.values()) yield* mine.values();
  }
}
