/**
 * Worker side of channel-ledger.test.ts: stops holding the channel table's lock in the middle of
 * a change, as a worker that runs out of memory there would. It raises the count of `channel`
 * (never reported to a ledger) and, with `tear`, empties the first occupied slot as a backward
 * shift cut half-way would, breaking that slot's probe run.
 */
import { workerData } from 'node:worker_threads';
import { ChannelSlot, CHANNEL_SLOTS, serverStateLayout, SLOT_CHANNEL } from '../../native-layout/server.ts';
import { SharedState, slotHashes } from '../../src/server/shared-state.ts';

const { buffer, channel, tear } = workerData as { buffer: SharedArrayBuffer; channel: string; tear: boolean };
const shared = new SharedState(buffer);
shared.lockChannels();
const [a, b] = slotHashes(Buffer.from(channel), SLOT_CHANNEL);
shared.channelAddLocked(a, b, SLOT_CHANNEL, 1);
if (tear) {
  const u32 = new Uint32Array(buffer, serverStateLayout().channels, (CHANNEL_SLOTS * ChannelSlot.size) / 4);
  const slot = ChannelSlot.size / 4;
  for (let i = 0; i < CHANNEL_SLOTS; i++) {
    if (u32[i * slot + ChannelSlot.fields.hashA.index] === 0) continue;
    u32[i * slot + ChannelSlot.fields.hashA.index] = 0;
    break;
  }
}
process.exit(3);
