/**
 * Pub/sub commands. Delivery and cross-thread counting live in ../pubsub.ts.
 */
import { Buffer } from 'node:buffer';
import type { Client } from '../client.ts';
import type { WorkerContext } from '../context.ts';
import { cstr, help, replyError } from './args.ts';
import { cmd, HELP_SUMMARY, LS, NO_KEYS } from './types.ts';
import type { CommandSpec } from './types.ts';

function ps(ctx: WorkerContext) {
  return ctx.pubsub!;
}

// SUBSCRIBE channel [channel ...]
function subscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  if (c.multi !== null) throw replyError("ERR Command not allowed inside a transaction");
  for (let i = 1; i < argv.length; i++) ps(ctx).subscribe(c, Buffer.from(argv[i]!));
}

// UNSUBSCRIBE [channel [channel ...]]
function unsubscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const names = argv.length > 1 ? argv.slice(1) : [...c.channels].map((k) => Buffer.from(k, 'latin1'));
  if (names.length === 0) return ps(ctx).ackNone(c, 'unsubscribe');
  for (const n of names) ps(ctx).unsubscribe(c, n);
}

// PSUBSCRIBE pattern [pattern ...]
function psubscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  for (let i = 1; i < argv.length; i++) ps(ctx).psubscribe(c, Buffer.from(argv[i]!));
}

// PUNSUBSCRIBE [pattern [pattern ...]]
function punsubscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const names = argv.length > 1 ? argv.slice(1) : [...c.patterns].map((k) => Buffer.from(k, 'latin1'));
  if (names.length === 0) return ps(ctx).ackNone(c, 'punsubscribe');
  for (const n of names) ps(ctx).punsubscribe(c, n);
}

// PUBLISH channel message
function publish(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  // Views of the query buffer are enough: delivery copies both before anything else is parsed.
  c.out.int(ps(ctx).publish(argv[1]!, argv[2]!));
}

// SSUBSCRIBE shardchannel [shardchannel ...]
function ssubscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  // Redis 7.0 refuses it to a client that may not block, which a transaction's is.
  if (c.inExec) throw replyError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  for (let i = 1; i < argv.length; i++) ps(ctx).subscribe(c, Buffer.from(argv[i]!), true);
}

// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
function sunsubscribe(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  const names = argv.length > 1 ? argv.slice(1) : [...c.shardChannels].map((k) => Buffer.from(k, 'latin1'));
  if (names.length === 0) return ps(ctx).ackNone(c, 'sunsubscribe', true);
  for (const n of names) ps(ctx).unsubscribe(c, n, true, true);
}

// SPUBLISH shardchannel message
function spublish(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  c.out.int(ps(ctx).spublish(argv[1]!, argv[2]!));
}

/** PUBSUB CHANNELS and SHARDCHANNELS: the union of every worker's channels of the kind. */
async function listChannels(ctx: WorkerContext, c: Client, argv: Buffer[], shard: boolean): Promise<void> {
  if (argv.length > 3) throw replyError(`ERR unknown subcommand or wrong number of arguments for '${cstr(argv[1]!, 128)}'. Try PUBSUB HELP.`);
  const pattern = argv.length > 2 ? argv[2]!.toString('latin1') : null;
  const lists = await ctx.rpc<string[][]>('pubsub-channels', pattern, shard);
  const all = [...new Set(lists.flat())];
  c.out.array(all.length);
  for (const ch of all) c.out.bulk(Buffer.from(ch, 'latin1'));
}

/** PUBSUB NUMSUB and SHARDNUMSUB: each channel with its subscribers on all workers. */
function countSubscribers(ctx: WorkerContext, c: Client, argv: Buffer[], shard: boolean): void {
  // A flat array in RESP3 too (pubsub.c uses addReplyArrayLen), not a map.
  c.out.array((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    c.out.bulk(argv[i]!);
    c.out.int(ps(ctx).channelCount(argv[i]!, shard));
  }
}

// PUBSUB CHANNELS [pattern]
function pubsubChannels(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  return listChannels(ctx, c, argv, false);
}

// PUBSUB SHARDCHANNELS [pattern]
function pubsubShardchannels(ctx: WorkerContext, c: Client, argv: Buffer[]): Promise<void> {
  return listChannels(ctx, c, argv, true);
}

// PUBSUB NUMSUB [channel [channel ...]]
function pubsubNumsub(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  countSubscribers(ctx, c, argv, false);
}

// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
function pubsubShardnumsub(ctx: WorkerContext, c: Client, argv: Buffer[]): void {
  countSubscribers(ctx, c, argv, true);
}

// PUBSUB NUMPAT
function pubsubNumpat(ctx: WorkerContext, c: Client): void {
  c.out.int(ctx.shared.activePatterns());
}

// PUBSUB HELP
function pubsubHelp(_ctx: WorkerContext, c: Client): void {
  const lines = ['PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'CHANNELS [<pattern>]', "    Return the currently active channels matching a <pattern> (default: '*').", 'NUMPAT', '    Return number of subscriptions to patterns.', 'NUMSUB [<channel> ...]', '    Return the number of subscribers for the specified channels, excluding', '    pattern subscriptions(default: no channels).', 'SHARDCHANNELS [<pattern>]', "    Return the currently active shard level channels matching a <pattern> (default: '*').", 'SHARDNUMSUB [<shardchannel> ...]', '    Return the number of subscribers for the specified shard level channel(s)', 'HELP', '    Print this help.'];
  help(c, lines);
}

const P = ['pubsub', 'noscript', 'loading', 'stale'] as const;
export const PUBSUB_COMMANDS: readonly CommandSpec[] = [
  cmd('subscribe', -2, [...P], NO_KEYS, 'pubsub', '2.0.0', 'Listens for messages published to channels.', subscribe, { syntax: 'SUBSCRIBE channel [channel ...]' }),
  cmd('unsubscribe', -1, [...P], NO_KEYS, 'pubsub', '2.0.0', 'Stops listening to messages posted to channels.', unsubscribe, { syntax: 'UNSUBSCRIBE [channel [channel ...]]' }),
  cmd('psubscribe', -2, [...P], NO_KEYS, 'pubsub', '2.0.0', 'Listens for messages published to channels that match one or more patterns.', psubscribe, { syntax: 'PSUBSCRIBE pattern [pattern ...]' }),
  cmd('punsubscribe', -1, [...P], NO_KEYS, 'pubsub', '2.0.0', 'Stops listening to messages published to channels that match one or more patterns.', punsubscribe, { syntax: 'PUNSUBSCRIBE [pattern [pattern ...]]' }),
  cmd('publish', 3, ['pubsub', 'loading', 'stale', 'fast', 'may_replicate'], NO_KEYS, 'pubsub', '2.0.0', 'Posts a message to a channel.', publish, { syntax: 'PUBLISH channel message' }),
  // Redis gives the shard channels key specs marked not_key (for cluster routing); here they are
  // no keys (command-docs.ts CHANNEL_ARGS shows the specs), so nothing locks or tracks them.
  cmd('ssubscribe', -2, [...P], NO_KEYS, 'pubsub', '7.0.0', 'Listens for messages published to shard channels.', ssubscribe, { syntax: 'SSUBSCRIBE shardchannel [shardchannel ...]', complexity: 'O(N) where N is the number of shard channels to subscribe to.' }),
  cmd('sunsubscribe', -1, [...P], NO_KEYS, 'pubsub', '7.0.0', 'Stops listening to messages posted to shard channels.', sunsubscribe, { syntax: 'SUNSUBSCRIBE [shardchannel [shardchannel ...]]', complexity: 'O(N) where N is the number of shard channels to unsubscribe.' }),
  cmd('spublish', 3, ['pubsub', 'loading', 'stale', 'fast', 'may_replicate'], NO_KEYS, 'pubsub', '7.0.0', 'Posts a message to a shard channel.', spublish, { syntax: 'SPUBLISH shardchannel message', complexity: 'O(N) where N is the number of clients subscribed to the receiving shard channel.' }),
  cmd('pubsub', -2, [], NO_KEYS, 'pubsub', '2.8.0', 'A container for Pub/Sub commands.', undefined, {
    subcommands: [
      cmd('pubsub|channels', -2, ['pubsub', 'loading', 'stale', 'gathers'], NO_KEYS, 'pubsub', '2.8.0', 'Returns the active channels.', pubsubChannels, { syntax: 'PUBSUB CHANNELS [pattern]' }),
      cmd('pubsub|numsub', -2, ['pubsub', 'loading', 'stale'], NO_KEYS, 'pubsub', '2.8.0', 'Returns a count of subscribers to channels.', pubsubNumsub, { syntax: 'PUBSUB NUMSUB [channel [channel ...]]' }),
      cmd('pubsub|numpat', 2, ['pubsub', 'loading', 'stale'], NO_KEYS, 'pubsub', '2.8.0', 'Returns a count of unique pattern subscriptions.', pubsubNumpat, { syntax: 'PUBSUB NUMPAT' }),
      cmd('pubsub|shardchannels', -2, ['pubsub', 'loading', 'stale', 'gathers'], NO_KEYS, 'pubsub', '7.0.0', 'Returns the active shard channels.', pubsubShardchannels, { syntax: 'PUBSUB SHARDCHANNELS [pattern]', complexity: 'O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).' }),
      cmd('pubsub|shardnumsub', -2, ['pubsub', 'loading', 'stale'], NO_KEYS, 'pubsub', '7.0.0', 'Returns the count of subscribers of shard channels.', pubsubShardnumsub, { syntax: 'PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]', complexity: 'O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels' }),
      cmd('pubsub|help', 2, [...LS], NO_KEYS, 'pubsub', '6.2.0', HELP_SUMMARY, pubsubHelp, { syntax: 'PUBSUB HELP' }),
    ],
  }),
];

