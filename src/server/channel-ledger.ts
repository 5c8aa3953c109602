/**
 * The main thread's record of what each worker counted in the shared channel table
 * (SharedState.channelAdd...), from the worker's 'subscriptions' messages, so that the counts
 * stay exact when a worker dies.
 *
 * A worker changes a count under channelLock, numbers the change (WorkerStats.channelChanges)
 * and then posts it here. When a worker dies having reported every change it made (its number
 * equals what this ledger heard), its reported subscriptions are taken back out of the table.
 * It may also die at any point of a change: holding the lock with the table half-changed, or
 * after a change it never reported; what it counted is then unknown, and the table is rebuilt
 * from the ledgers of the workers still alive, under the lock (taken over from the dead worker
 * if it held it). A live worker's changes made but not yet heard here are those numbered above
 * what this ledger heard and up to its number at the rebuild: the rebuild did not count them,
 * so they are applied to the table when their messages arrive. Until they all have, the table
 * is in recovery, where a count may go below zero: the worker's later changes reach the table
 * before these, and each must apply in full, whatever the order.
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
  /** Per worker: the number of the last change it reported. */
  private readonly heard = new Map<number, number>();
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
    this.heard.set(w, seq);
    const upTo = this.replayUpTo.get(w);
    if (upTo === undefined) return;
    this.shared.channelAddHashed(a, b, kind, d);
    if (seq < upTo) return;
    this.replayUpTo.delete(w);
    if (this.replayUpTo.size === 0) this.recovering(false);
  }

  /**
   * Worker `w`, whose lock mark was `owner` (its threadId + 1), has stopped: its subscriptions
   * leave the table (exactly, as above), and its numbering starts again for the thread that
   * replaces it. `live` are the workers still running. Returns whether it died holding
   * channelLock.
   */
  died(w: number, owner: number, live: readonly number[]): boolean {
    const shared = this.shared;
    // Its own changes still on their way will never be heard.
    this.replayUpTo.delete(w);
    const tookOver = shared.takeOverChannelLockOf(owner);
    if (!tookOver) shared.lockChannels();
    try {
      const reportedAll = !tookOver && shared.workerGet(w, 'channelChanges') === (this.heard.get(w) ?? 0);
      if (reportedAll) {
        for (const e of this.counted.get(w)?.values() ?? []) shared.channelAddLocked(e.a, e.b, e.kind, -e.n);
      } else {
        this.counted.delete(w);
        for (const v of live) {
          if (v === w) continue;
          const made = shared.workerGet(v, 'channelChanges');
          if (made > (this.heard.get(v) ?? 0)) this.replayUpTo.set(v, made);
          else this.replayUpTo.delete(v);
        }
        shared.rebuildChannelsLocked(this.entries());
      }
      shared.setChannelRecoveringLocked(this.replayUpTo.size > 0);
      shared.workerPut(w, 'channelChanges', 0);
    } finally {
      shared.unlockChannels();
    }
    this.counted.delete(w);
    this.heard.delete(w);
    return tookOver;
  }

  private recovering(on: boolean): void {
    this.shared.lockChannels();
    try {
      this.shared.setChannelRecoveringLocked(on);
    } finally {
      this.shared.unlockChannels();
    }
  }

  private *entries(): Iterable<Entry> {
    for (const mine of this.counted.values()) yield* mine.values();
  }
}
