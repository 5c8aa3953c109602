/**
 * ChannelLedger: when a worker dies, the shared channel table is rebuilt from the ledgers of the
 * workers alive, exact even when the dead one held the table's lock half-way through a change,
 * or made changes it never reported, and with live workers' changes still in flight to the main
 * thread. Real threads die holding the lock (channel-ledger.worker.ts); this thread plays the
 * main thread and, through the same calls their contexts make, the live workers.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SLOT_CHANNEL, SLOT_PATTERN, SLOT_SHARD_CHANNEL } from '../../native-layout/server.ts';
import { ChannelLedger } from '../../src/server/channel-ledger.ts';
import { SharedState, slotHashes } from '../../src/server/shared-state.ts';

/** A worker's channelAdd (context.ts) with its report to the ledger held back until `deliver`. */
function change(shared: SharedState, w: number, name: string, d: number, kind = SLOT_CHANNEL): { deliver(ledger: ChannelLedger): void } {
  const [a, b] = slotHashes(Buffer.from(name), kind);
  const seq = shared.workerChannelAdd(w, a, b, kind, d);
  return { deliver: (ledger) => ledger.noted(w, a, b, kind, d, seq) };
}
const add = (shared: SharedState, ledger: ChannelLedger, w: number, name: string, d: number, kind = SLOT_CHANNEL) => change(shared, w, name, d, kind).deliver(ledger);
const count = (shared: SharedState, name: string, kind = SLOT_CHANNEL) => shared.channelCount(Buffer.from(name), kind);

/** Runs a thread that stops holding the channel lock (see the worker file); returns its mark. */
async function dieHoldingChannels(shared: SharedState, channel: string, tear: boolean): Promise<number> {
  const t = new Worker(new URL('./channel-ledger.worker.ts', import.meta.url), { workerData: { buffer: shared.buffer, channel, tear } });
  const owner = t.threadId + 1;
  expect(await new Promise<number>((resolve) => t.once('exit', resolve))).toBe(3);
  return owner;
}

describe('ChannelLedger', () => {
  it('a worker that dies holding the lock mid-change: the lock is taken back and the table rebuilt exactly', async () => {
    const shared = new SharedState();
    const ledger = new ChannelLedger(shared);
    // Worker 0 (alive) and worker 1 (to die) subscribe; many channels, so probe runs are long.
    for (let i = 0; i < 3000; i++) add(shared, ledger, 0, `c${i}`, 1);
    add(shared, ledger, 0, 'shared', 2);
    add(shared, ledger, 1, 'shared', 1);
    add(shared, ledger, 1, 'only1', 1);
    add(shared, ledger, 0, 'p*', 1, SLOT_PATTERN);
    add(shared, ledger, 1, 'p*', 1, SLOT_PATTERN);
    add(shared, ledger, 1, 'q*', 1, SLOT_PATTERN);
    add(shared, ledger, 0, 's', 1, SLOT_SHARD_CHANNEL);
    expect(count(shared, 'shared')).toBe(3);
    // Worker 1's thread stops in the critical section, with a count raised it never reported
    // and a slot emptied half-way through a shift.
    const owner = await dieHoldingChannels(shared, 'phantom', true);
    expect(ledger.died(1, owner, [0])).toBe(true);
    for (let i = 0; i < 3000; i++) expect(count(shared, `c${i}`)).toBe(1);
    expect([count(shared, 'shared'), count(shared, 'only1'), count(shared, 'phantom')]).toEqual([2, 0, 0]);
    expect([count(shared, 'p*', SLOT_PATTERN), count(shared, 'q*', SLOT_PATTERN), count(shared, 's', SLOT_SHARD_CHANNEL)]).toEqual([1, 0, 1]);
    expect([shared.activeChannels(), shared.activePatterns(), shared.activeShardChannels()]).toEqual([3001, 1, 1]);
    // The lock is free again (this would wait for good), and the table keeps working.
    add(shared, ledger, 0, 'after', 1);
    expect(count(shared, 'after')).toBe(1);
    add(shared, ledger, 0, 'shared', -2);
    expect([count(shared, 'shared'), shared.activeChannels()]).toEqual([0, 3001]);
  });

  it("a death without the lock drops changes the dead worker made but never reported", () => {
    const shared = new SharedState();
    const ledger = new ChannelLedger(shared);
    add(shared, ledger, 0, 'x', 1);
    add(shared, ledger, 1, 'x', 1);
    // Worker 1 counts a subscriber of y and an unsubscribe of x, and dies before reporting them.
    change(shared, 1, 'y', 1);
    change(shared, 1, 'x', -1);
    expect([count(shared, 'x'), count(shared, 'y')]).toEqual([1, 1]);
    // Taking back only what it reported would leave x at 0 (worker 0's subscriber unheard) and y at 1.
    expect(ledger.died(1, 999_999, [0])).toBe(false);
    expect([count(shared, 'x'), count(shared, 'y'), shared.activeChannels()]).toEqual([1, 0, 1]);
  });

  it("a death that reported everything takes its subscriptions out at once; live workers' changes in flight are not counted twice", () => {
    const shared = new SharedState();
    const ledger = new ChannelLedger(shared);
    add(shared, ledger, 0, 'a', 1);
    add(shared, ledger, 2, 'b', 1);
    add(shared, ledger, 1, 'a', 1);
    // Worker 0's next changes are made on the table but not yet received by the main thread.
    const inFlight = [change(shared, 0, 'a', 1), change(shared, 0, 'c', 1), change(shared, 0, 'b', 1), change(shared, 2, 'b', -1)];
    expect(ledger.died(1, 999_999, [0, 2])).toBe(false);
    expect([count(shared, 'a'), count(shared, 'b'), count(shared, 'c')]).toEqual([2, 1, 1]);
    for (const c of inFlight) c.deliver(ledger);
    expect([count(shared, 'a'), count(shared, 'b'), count(shared, 'c')]).toEqual([2, 1, 1]);
    // The replacement of worker 1 numbers its changes from 1 again.
    add(shared, ledger, 1, 'z', 1);
    expect(shared.workerGet(1, 'channelChanges')).toBe(1);
    expect(count(shared, 'z')).toBe(1);
  });

  it("after a rebuild, a live worker's changes in flight and its later ones apply in any order", () => {
    const shared = new SharedState();
    const ledger = new ChannelLedger(shared);
    add(shared, ledger, 0, 'p', 1);
    add(shared, ledger, 1, 'p', 1);
    add(shared, ledger, 1, 'q', 1);
    // Worker 1 counts a subscriber of q it never reports, then dies: its counts are unknown, so
    // the table is rebuilt. Worker 0 meanwhile subscribes to r and s, not yet heard.
    change(shared, 1, 'q', 1);
    const sub = [change(shared, 0, 'r', 1), change(shared, 0, 's', 1)];
    expect(ledger.died(1, 999_999, [0])).toBe(false);
    expect([count(shared, 'p'), count(shared, 'q'), count(shared, 'r'), count(shared, 's')]).toEqual([1, 0, 0, 0]);
    // s has a subscriber whose count is on its way: a PUBLISH to it may not be skipped meanwhile.
    expect(shared.mayBeHeard(count(shared, 's'))).toBe(true);
    // Worker 0 unsubscribes from r on the rebuilt table before its subscription is heard: the
    // table may not drop that -1 for want of a count to take it from.
    const unsub = change(shared, 0, 'r', -1);
    for (const c of [...sub, unsub]) c.deliver(ledger);
    expect([count(shared, 'p'), count(shared, 'q'), count(shared, 'r'), count(shared, 's')]).toEqual([1, 0, 0, 1]);
    expect(shared.activeChannels()).toBe(2);
    // Recovery over: counts never go below zero again, and a count of 0 is nobody.
    add(shared, ledger, 0, 'never', -1);
    expect(shared.activeChannels()).toBe(2);
    expect(shared.mayBeHeard(count(shared, 'never'))).toBe(false);
  });
});
