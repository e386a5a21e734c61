/**
 * Backoff on failed logins, per account and per address. Each key gets a
 * few free failures; after those, every further failure doubles a delay
 * (from `loginBackoffMs` up to `loginBackoffMaxMs`) during which logins
 * for that key are refused at once with `too_many`, before any password
 * hashing. Failures are forgotten after `loginForgetMs` without one.
 *
 * An account's backoff would let an outsider lock its owner out, so an
 * address that logged in to the account successfully before is exempt
 * from that account's backoff (not from its own address backoff). A guesser
 * thus gets the free failures, then at most one guess per maximum delay per
 * account, whatever the number of connections; a password sprayer is held
 * by the per-address backoff.
 */
import { BoundedMap } from "../rate.ts";
import type { ServerLimits } from "./limits.ts";

type ThrottleLimits = Pick<
  ServerLimits,
  | "loginFreeFailuresPerAccount"
  | "loginFreeFailuresPerAddress"
  | "loginBackoffMs"
  | "loginBackoffMaxMs"
  | "loginForgetMs"
>;

interface Entry {
  failures: number;
  last: number;
  until: number;
}

export class LoginThrottle {
  private readonly entries = new BoundedMap<string, Entry>(100_000);
  private readonly trusted = new BoundedMap<string, number>(100_000);

  constructor(private readonly limits: ThrottleLimits) {}

  /** Milliseconds before a login as `user` from `address` may be tried; 0 = now. */
  waitMs(user: string, address: string, now = Date.now()): number {
    const a = this.blockedFor(`addr ${address}`, now);
    const u = this.isTrusted(user, address, now) ? 0 : this.blockedFor(`user ${user}`, now);
    return Math.max(a, u);
  }

  failed(user: string, address: string, now = Date.now()): void {
    this.bump(`addr ${address}`, this.limits.loginFreeFailuresPerAddress, now);
    this.bump(`user ${user}`, this.limits.loginFreeFailuresPerAccount, now);
  }

  succeeded(user: string, address: string, now = Date.now()): void {
    this.trusted.set(`${user}\0${address}`, now);
  }

  private isTrusted(user: string, address: string, now: number): boolean {
    const t = this.trusted.get(`${user}\0${address}`);
    return t !== undefined && now - t < 30 * 24 * 3600_000;
  }

  private blockedFor(key: string, now: number): number {
    const e = this.entries.get(key);
    return e && e.until > now ? e.until - now : 0;
  }

  private bump(key: string, free: number, now: number): void {
    const old = this.entries.get(key);
    const failures = old && now - old.last < this.limits.loginForgetMs ? old.failures + 1 : 1;
    // The free-th failure starts the first delay: attempt free+1 waits.
    const over = failures - free + 1;
    const until =
      over > 0
        ? now +
          Math.min(
            this.limits.loginBackoffMs * 2 ** Math.min(over - 1, 30),
            this.limits.loginBackoffMaxMs,
          )
        : 0;
    this.entries.set(key, { failures, last: now, until });
  }
}
