/**
 * The server's limits: what one peer, one address or one account may hold
 * or do, so that an outsider cannot exhaust what the others need. The
 * per-connection ones (timers, buffers) are in connection.ts; the defaults
 * of both are here, each with the reason for its size.
 */
import { isIPv4 } from "node:net";

/** A token bucket's shape: `burst` at once, refilled at `perMinute`. */
export interface Rate {
  burst: number;
  perMinute: number;
}

export interface ServerLimits {
  /** Connections at once. */
  maxConnections: number;
  /** Connections at once from one address (an IPv4 address, an IPv6 /64). */
  maxConnectionsPerAddress: number;
  /** Connections at once that have not logged in yet (handshake or login pending). */
  maxUnauthenticated: number;
  maxUnauthenticatedPerAddress: number;
  /** Handshake and login (secure), first request (classic) must be done within this. */
  loginTimeoutMs: number;
  /** Bytes waiting to be sent, summed over every connection. */
  outputBudget: number;
  /** Past the budget, a connection holding over its fair share (at least this) is dropped. */
  outputMinShare: number;
  /** Records waiting to be sealed for one connection (pushes outrunning the cipher). */
  maxPendingRecords: number;
  /** Channel subscriptions per connection. */
  maxSubscriptions: number;
  /** Failed logins after which a connection is closed. */
  maxFailedLoginsPerConnection: number;
  /** Failed logins an account, then an address, may have before backoff starts. */
  loginFreeFailuresPerAccount: number;
  loginFreeFailuresPerAddress: number;
  /** Backoff: the first delay, doubling per further failure up to the maximum. */
  loginBackoffMs: number;
  loginBackoffMaxMs: number;
  /** Failures older than this are forgotten. */
  loginForgetMs: number;
  /** Registrations tried per address (each may reveal whether a name is taken). */
  registrations: Rate;
  /** Channel creations tried per user (each may reveal whether a name is taken). */
  channelCreations: Rate;
  /** Messages sent per user. */
  messages: Rate;
  /** Channels a user may be a member of (created or accepted). */
  maxChannelsPerUser: number;
  /** Pending invitations to one user (more are dropped silently) and from one user. */
  maxInvitationsTo: number;
  maxInvitationsFrom: number;
  /** Password hashes waiting, per address and in all; hashing threads. */
  hashQueuePerAddress: number;
  hashQueue: number;
  hashThreads: number;
}

export const defaultServerLimits: ServerLimits = {
  maxConnections: 1024,
  // One address may hold a quarter of the slots; the benchmark's 101
  // clients all come from 127.0.0.1 (or from the guest's gateway).
  maxConnectionsPerAddress: 256,
  maxUnauthenticated: 512,
  maxUnauthenticatedPerAddress: 64,
  // Handshake plus a login that may wait behind other hashes in the queue.
  loginTimeoutMs: 15_000,
  // 64 MiB unsent in all; past it, peers over their fair share are dropped.
  outputBudget: 64 * 1024 * 1024,
  outputMinShare: 64 * 1024,
  maxPendingRecords: 4096,
  maxSubscriptions: 64,
  maxFailedLoginsPerConnection: 3,
  loginFreeFailuresPerAccount: 5,
  loginFreeFailuresPerAddress: 20,
  loginBackoffMs: 1000,
  loginBackoffMaxMs: 60_000,
  loginForgetMs: 15 * 60_000,
  registrations: { burst: 200, perMinute: 10 },
  channelCreations: { burst: 20, perMinute: 10 },
  // A burst covers the benchmark's closed loop (300 messages per run from
  // one user); sustained, two messages a second per user.
  messages: { burst: 600, perMinute: 120 },
  maxChannelsPerUser: 256,
  maxInvitationsTo: 64,
  maxInvitationsFrom: 64,
  hashQueuePerAddress: 64,
  hashQueue: 1024,
  hashThreads: 1,
};

/** A token bucket; `Infinity` in burst or rate means no limit. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: Rate,
    now = Date.now(),
  ) {
    this.tokens = rate.burst;
    this.last = now;
  }

  /** Takes one token; false (and nothing taken) when there is none. */
  take(now = Date.now()): boolean {
    if (this.rate.burst === Infinity || this.rate.perMinute === Infinity) return true;
    this.tokens = Math.min(
      this.rate.burst,
      this.tokens + ((now - this.last) * this.rate.perMinute) / 60_000,
    );
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there. */
  waitMs(now = Date.now()): number {
    const have = this.tokens + ((now - this.last) * this.rate.perMinute) / 60_000;
    return have >= 1 ? 0 : Math.ceil(((1 - have) * 60_000) / this.rate.perMinute);
  }
}

/**
 * A Map that forgets its least recently used entries beyond `max`, so that
 * keys an outsider chooses (addresses, user names) cannot grow it.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/** Token buckets by key (a user, an address), bounded in number. */
export class KeyedBuckets {
  private readonly buckets = new BoundedMap<string, TokenBucket>(100_000);

  constructor(private readonly rate: Rate) {}

  take(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new TokenBucket(this.rate, now)));
    return b.take(now);
  }

  waitMs(key: string, now = Date.now()): number {
    return this.buckets.get(key)?.waitMs(now) ?? 0;
  }
}

/**
 * The unit limits count by: an IPv4 address, or the /64 of an IPv6 one
 * (one host usually holds a whole /64). IPv4-mapped IPv6 counts as IPv4.
 */
export function addressGroup(address: string | undefined): string {
  if (!address) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv4(address)) return address;
  const [head = "", tail = ""] = address.split("%")[0]!.split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") ? (tail ? tail.split(":") : []) : [];
  const groups = [
    ...left,
    ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"),
    ...right,
  ];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || "0", 16).toString(16))
    .join(":")}::/64`;
}
