/**
 * Accounts: registration and password checks for both wire modes, with the
 * limits an outsider meets first. Every check costs the same scrypt whether
 * the user exists or not and answers the same `auth_failed`; failures feed
 * the per-account and per-address backoff (throttle.ts), which refuses
 * logins before any hashing while it lasts; hashing waits in the hasher's
 * bounded, per-address fair queue (model/password.ts).
 *
 * Classic mode sends the password with every packet; so that each packet
 * does not cost a scrypt, a successful check is remembered as a keyed
 * digest (HMAC with a per-process random key, never the password).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ChatError } from "../errors.ts";
import { checkName, checkPassword, limits } from "../model/chat.ts";
import type { PasswordHasher } from "../model/password.ts";
import type { ChatStore } from "../store/store.ts";
import { BoundedMap, KeyedBuckets } from "../rate.ts";
import type { ServerLimits } from "./limits.ts";
import { LoginThrottle } from "./throttle.ts";

const authFailed = () => new ChatError("auth_failed", "wrong user or password");

export class Authenticator {
  private readonly throttle: LoginThrottle;
  private readonly registrations: KeyedBuckets;
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new BoundedMap<string, Buffer>(10_000);

  constructor(
    private readonly store: ChatStore,
    private readonly hasher: PasswordHasher,
    limitsOf: ServerLimits,
  ) {
    this.throttle = new LoginThrottle(limitsOf);
    this.registrations = new KeyedBuckets(limitsOf.registrations);
  }

  /** Creates an account; `address` is the peer's address group. */
  async register(user: string, password: string, address: string): Promise<void> {
    checkName("user", user);
    checkPassword(password);
    if (!this.registrations.take(address))
      throw new ChatError("too_many", "too many registrations from your address: try later");
    if (this.store.getPasswordHash(user) !== undefined)
      throw new ChatError("user_exists", `user ${user} already exists`);
    const hash = await this.hasher.hash(password, address);
    if (!this.store.createUser(user, hash))
      throw new ChatError("user_exists", `user ${user} already exists`);
  }

  /** Throws auth_failed (any wrong user or password), too_many (backoff) or busy. */
  async check(user: string, password: string, address: string): Promise<void> {
    if (
      !user ||
      !password ||
      user.length > limits.nameMax ||
      Buffer.byteLength(password) > limits.passwordMax
    )
      throw authFailed();
    // The backoff comes first: during it even the right password is refused,
    // or the cache below would answer guesses at full speed.
    const wait = this.throttle.waitMs(user, address);
    if (wait > 0)
      throw new ChatError(
        "too_many",
        `too many failed logins: try again in ${Math.ceil(wait / 1000)} s`,
      );
    const digest = createHmac("sha256", this.cacheKey)
      .update(user)
      .update("\0")
      .update(password)
      .digest();
    const known = this.verified.get(user);
    if (known && timingSafeEqual(known, digest)) return;
    const ok = await this.hasher.verify(password, this.store.getPasswordHash(user), address);
    if (!ok) {
      this.throttle.failed(user, address);
      throw authFailed();
    }
    this.throttle.succeeded(user, address);
    this.verified.set(user, digest);
  }
}
