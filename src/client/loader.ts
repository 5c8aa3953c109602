/**
 * getOrLoad's stampede defence.
 *
 *  - Single-flight: concurrent calls for one key in this process share one flight.
 *  - A short cross-process lock (SET NX PX on the key's owning node): one process loads, the
 *    others serve the stale copy if there is one, or wait for the value. Waiters read the key with
 *    tracking on, so the loader's SET wakes them through an invalidation push; a timer backs that
 *    up. A lock taken is double-checked by reading again, so a load that finished between our
 *    miss and our lock is not repeated.
 *  - TTL jitter, and a soft expiry before the hard one: after it the value is stale but still
 *    there to serve while one caller reloads.
 *  - XFetch early refresh: a fresh read sometimes reloads in the background before expiry, more
 *    likely as expiry nears and the longer the loader takes.
 */
import { randomBytes } from 'node:crypto';
import { decodeLoaded, encodeLoaded, jittered, shouldRefreshEarly } from './envelope.ts';
import { ClientErrorCode, isTransportError, ShardcacheClientError } from './errors.ts';

export interface KeyRef {
  /** The key as the caller gave it. */
  readonly key: string | Buffer;
  /** Key bytes. */
  readonly b: Buffer;
  /** hash32 of the bytes: ring, pool connection, sketch. */
  readonly h: number;
  /** The key as a string (L1, invalidations, single-flight). */
  readonly s: string;
}

export interface LoadOptions {
  /** Freshness in ms (before jitter). */
  ttl: number;
  /** How long after going stale a value is kept to serve while reloading; default: ttl. */
  staleFor?: number;
  /** TTL jitter fraction; the client's default otherwise. */
  jitter?: number;
  /** XFetch beta (0 disables early refresh); the client's default otherwise. */
  beta?: number;
}

export interface LoaderSettings {
  jitter: number;
  beta: number;
  lockTtlMs: number;
  lockWaitMs: number;
}

/** What getOrLoad needs from the client. */
export interface LoaderHost {
  fetch(k: KeyRef, track: boolean): Promise<Buffer | null>;
  store(k: KeyRef, value: Buffer, pxMs: number): Promise<unknown>;
  lock(k: KeyRef, token: Buffer, ttlMs: number): Promise<boolean>;
  unlock(k: KeyRef, token: Buffer): Promise<unknown>;
  /** Resolves when the key is invalidated, or after `ms`. */
  waitForChange(k: KeyRef, ms: number): { promise: Promise<void>; cancel(): void };
  encode(v: unknown): Buffer;
  decode(b: Buffer): unknown;
}

export interface LoaderStats {
  /** Loader calls this process made. */
  loaderCalls: number;
  /** Calls that joined a flight already running in this process. */
  singleFlightJoins: number;
  /** Calls that would have reached the loader without the defence, and did not. */
  stampedesAvoided: number;
  /** Flights that waited for another process's load. */
  lockWaits: number;
  /** Flights answered with a stale copy while someone else reloaded. */
  staleServed: number;
  /** Waits that gave up on the lock holder and loaded anyway. */
  lockTimeouts: number;
  earlyRefreshes: number;
  refreshFailures: number;
  storeFailures: number;
}

interface Flight {
  promise: Promise<unknown>;
  joiners: number;
  /** The key was missing or stale: joiners were spared a load. */
  contended: boolean;
}

export class Loader {
  private readonly host: LoaderHost;
  private readonly settings: LoaderSettings;
  private readonly flights = new Map<string, Flight>();
  private readonly refreshing = new Set<string>();
  readonly stats: LoaderStats = {
    loaderCalls: 0,
    singleFlightJoins: 0,
    stampedesAvoided: 0,
    lockWaits: 0,
    staleServed: 0,
    lockTimeouts: 0,
    earlyRefreshes: 0,
    refreshFailures: 0,
    storeFailures: 0,
  };

  constructor(host: LoaderHost, settings: LoaderSettings) {
    this.host = host;
    this.settings = settings;
  }

  getOrLoad(k: KeyRef, loader: () => unknown, o: LoadOptions): Promise<unknown> {
    if (!(o.ttl > 0)) return Promise.reject(new ShardcacheClientError(ClientErrorCode.INVALID_ARG, `getOrLoad needs a positive ttl (ms), got ${o.ttl}`));
    const running = this.flights.get(k.s);
    if (running !== undefined) {
      running.joiners++;
      this.stats.singleFlightJoins++;
      return running.promise;
    }
    const flight: Flight = { promise: null as unknown as Promise<unknown>, joiners: 0, contended: false };
    flight.promise = this.fly(k, loader, o, flight).finally(() => {
      this.flights.delete(k.s);
      if (flight.contended) this.stats.stampedesAvoided += flight.joiners;
    });
    this.flights.set(k.s, flight);
    return flight.promise;
  }

  private async fly(k: KeyRef, loader: () => unknown, o: LoadOptions, flight: Flight): Promise<unknown> {
    const host = this.host;
    const raw = await host.fetch(k, false);
    let stale: Buffer | null = null;
    if (raw !== null) {
      const v = decodeLoaded(raw);
      if (v === null) return host.decode(raw);
      const now = Date.now();
      if (now < v.softExpireAt) {
        if (shouldRefreshEarly(now, v, o.beta ?? this.settings.beta)) this.refreshEarly(k, loader, o);
        return host.decode(v.payload);
      }
      stale = v.payload;
    }
    flight.contended = true;
    const token = randomBytes(16);
    let locked: boolean;
    try {
      locked = await host.lock(k, token, this.settings.lockTtlMs);
    } catch (e) {
      // The owner cannot take writes (down, unreachable): nobody can coordinate or store. Serve
      // what we have, else load for this caller alone.
      if (!isTransportError(e) && (e as ShardcacheClientError).code !== ClientErrorCode.PRIMARY_DOWN) throw e;
      if (stale !== null) {
        this.stats.staleServed++;
        return host.decode(stale);
      }
      return this.load(k, loader, o, null, false);
    }
    if (locked) return this.loadLocked(k, loader, o, token);
    if (stale !== null) {
      this.stats.staleServed++;
      return host.decode(stale);
    }
    return this.waitForOther(k, loader, o, token);
  }

  /** Holding the lock: read once more (another load may have just finished), else load. */
  private async loadLocked(k: KeyRef, loader: () => unknown, o: LoadOptions, token: Buffer): Promise<unknown> {
    const host = this.host;
    let raw: Buffer | null;
    try {
      raw = await host.fetch(k, false);
    } catch (e) {
      host.unlock(k, token).catch(() => {});
      throw e;
    }
    const v = raw === null ? null : decodeLoaded(raw);
    if (raw !== null && (v === null || v.softExpireAt > Date.now())) {
      host.unlock(k, token).catch(() => {});
      return host.decode(v === null ? raw : v.payload);
    }
    return this.load(k, loader, o, token, true);
  }

  private async waitForOther(k: KeyRef, loader: () => unknown, o: LoadOptions, token: Buffer): Promise<unknown> {
    const host = this.host;
    this.stats.lockWaits++;
    const deadline = Date.now() + this.settings.lockWaitMs;
    let pause = 20;
    for (;;) {
      const now = Date.now();
      if (now >= deadline) break;
      // Listen before reading: an invalidation that comes right behind the reply must not be missed.
      const wait = host.waitForChange(k, Math.min(pause, deadline - now));
      let raw: Buffer | null;
      try {
        raw = await host.fetch(k, true);
      } catch (e) {
        wait.cancel();
        throw e;
      }
      if (raw !== null) {
        const v = decodeLoaded(raw);
        if (v === null || v.softExpireAt > Date.now()) {
          wait.cancel();
          return host.decode(v === null ? raw : v.payload);
        }
      }
      await wait.promise;
      pause = Math.min(pause * 2, 250);
      // The holder may have died; its lock then expires and one waiter takes over.
      if (await host.lock(k, token, this.settings.lockTtlMs).catch(() => false)) return this.loadLocked(k, loader, o, token);
    }
    this.stats.lockTimeouts++;
    return this.load(k, loader, o, null, true);
  }

  /** Runs the loader, stores the result (if `store`), releases the lock (if `token`). */
  private async load(k: KeyRef, loader: () => unknown, o: LoadOptions, token: Buffer | null, store: boolean): Promise<unknown> {
    const host = this.host;
    const t0 = Date.now();
    this.stats.loaderCalls++;
    try {
      const value = await loader();
      const payload = host.encode(value);
      if (store) {
        const now = Date.now();
        const fresh = jittered(o.ttl, o.jitter ?? this.settings.jitter);
        const staleFor = o.staleFor ?? o.ttl;
        try {
          await host.store(k, encodeLoaded(payload, now - t0, now + fresh), fresh + staleFor);
        } catch {
          this.stats.storeFailures++;
        }
      }
      return host.decode(payload);
    } finally {
      if (token !== null) host.unlock(k, token).catch(() => {});
    }
  }

  private refreshEarly(k: KeyRef, loader: () => unknown, o: LoadOptions): void {
    if (this.refreshing.has(k.s)) return;
    this.refreshing.add(k.s);
    this.stats.earlyRefreshes++;
    const token = randomBytes(16);
    this.host
      .lock(k, token, this.settings.lockTtlMs)
      .then((locked) => (locked ? this.load(k, loader, o, token, true) : undefined))
      .catch(() => {
        this.stats.refreshFailures++;
      })
      .finally(() => this.refreshing.delete(k.s));
  }
}
