/**
 * The server's limits: what one peer, one address or one account may hold
 * or do, so that an outsider cannot exhaust what the others need, with
 * their defaults and the reasons for their sizes. The per-connection ones
 * (timers, buffers) are in connection.ts; token buckets in rate.ts.
 */
import { isIPv4 } from "node:net";
import type { ModelQuotas } from "../model/chat.ts";
import type { Rate } from "../rate.ts";

export interface ServerLimits extends ModelQuotas {
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
