/**
 * Delivery on one worker (src/server/pubsub.ts): subscriptions made or dropped between messages
 * to the same channel, pipelined PUBLISHes, and channels that differ only in their last byte.
 * Across two workers, the bus's causal order (WorkerContext.catchUpBus): a message or an
 * invalidation reaches its client before the reply to anything the client sends after the
 * PUBLISH or write was answered.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enc, RawConn, startServer } from './harness.ts';
import type { TestServer } from './harness.ts';

let srv: TestServer;
const open: Redis[] = [];
beforeAll(async () => {
  srv = await startServer([], { threads: 1 });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.quit().catch(() => undefined)));
  await srv.stop();
});

function client(): Redis {
  const c = new Redis({ port: srv.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  open.push(c);
  return c;
}

/** Collects the messages a subscriber receives, as "channel:message". */
function inbox(s: Redis): string[] {
  const got: string[] = [];
  s.on('message', (ch: string, m: string) => got.push(`${ch}:${m}`));
  return got;
}

describe('PUBLISH on one worker', () => {
  it('a subscription made or dropped between PUBLISHes to one channel takes effect at once', async () => {
    const pub = client();
    const a = client();
    const b = client();
    const gotA = inbox(a);
    const gotB = inbox(b);
    expect(await pub.publish('memo:c', 'nobody')).toBe(0);
    await a.subscribe('memo:c');
    expect(await pub.publish('memo:c', 'one')).toBe(1);
    await b.subscribe('memo:c');
    expect(await pub.publish('memo:c', 'two')).toBe(2);
    await a.unsubscribe('memo:c');
    expect(await pub.publish('memo:c', 'three')).toBe(1);
    // The channel's last subscriber leaves and comes back: its subscriber set is a new one.
    await b.unsubscribe('memo:c');
    await b.subscribe('memo:c');
    expect(await pub.publish('memo:c', 'four')).toBe(1);
    // A pattern subscriber makes a PUBLISH to a channel nobody subscribes reach delivery.
    const p = client();
    await p.psubscribe('memo:zz*');
    expect(await pub.publish('memo:d', 'none')).toBe(0);
    await a.subscribe('memo:d');
    expect(await pub.publish('memo:d', 'five')).toBe(1);
    // A PING through each subscriber orders it after every message sent to it.
    await Promise.all([a.ping(), b.ping()]);
    expect(gotA).toEqual(['memo:c:one', 'memo:c:two', 'memo:d:five']);
    expect(gotB).toEqual(['memo:c:two', 'memo:c:three', 'memo:c:four']);
  });

  it('a pipeline alternating channels that differ in their last byte delivers each to its own subscriber', async () => {
    const x = client();
    const y = client();
    const gotX = inbox(x);
    const gotY = inbox(y);
    await x.subscribe('memo:x');
    await y.subscribe('memo:y');
    const p = client().pipeline();
    for (let i = 0; i < 200; i++) p.publish(i % 3 === 2 ? 'memo:y' : 'memo:x', `m${i}`);
    const replies = (await p.exec())!.map(([, n]) => n);
    expect(replies).toEqual(Array.from({ length: 200 }, () => 1));
    await Promise.all([x.ping(), y.ping()]);
    const want = (ch: string, keep: (i: number) => boolean) =>
      Array.from({ length: 200 }, (_, i) => i)
        .filter(keep)
        .map((i) => `${ch}:m${i}`);
    expect(gotX).toEqual(want('memo:x', (i) => i % 3 !== 2));
    expect(gotY).toEqual(want('memo:y', (i) => i % 3 === 2));
  });
});

describe('PUBLISH across workers', () => {
  let two: TestServer;
  beforeAll(async () => {
    two = await startServer([], { threads: 2 });
  });
  afterAll(async () => {
    await two.stop();
  });

  it('a subscriber asked after the PUBLISH reply has the message already (the bus is posted before replies go out)', async () => {
    // Connections go to the worker with the fewest: the subscriber lands on one, the publisher on the other.
    const sub = new Redis({ port: two.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    const pub = new Redis({ port: two.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    open.push(sub, pub);
    const seen: string[] = [];
    sub.on('message', (_ch: string, m: string) => seen.push(m));
    await sub.subscribe('order:ch');
    let late = 0;
    for (let i = 0; i < 1000; i++) {
      expect(await pub.publish('order:ch', `m${i}`)).toBe(1);
      await sub.ping();
      if (seen[seen.length - 1] !== `m${i}`) late++;
    }
    expect(late).toBe(0);
    expect(seen.length).toBe(1000);
  });

  it('a tracking client asked after a write on another worker was answered has the invalidation already', async () => {
    const t = await RawConn.connect(two.port);
    const writer = new Redis({ port: two.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    open.push(writer);
    try {
      await t.request(enc('HELLO', '3'));
      expect(await t.request(enc('CLIENT', 'TRACKING', 'on'))).toBe('+OK\r\n');
      let late = 0;
      for (let i = 0; i < 300; i++) {
        await t.request(enc('GET', 'order:k'));
        expect(await writer.set('order:k', String(i))).toBe('OK');
        const got = await t.exchange(enc('PING'), (s) => s.includes('+PONG\r\n'));
        if (!got.startsWith('>2\r\n$10\r\ninvalidate\r\n*1\r\n$7\r\norder:k\r\n')) late++;
      }
      expect(late).toBe(0);
    } finally {
      t.close();
    }
  });
});
