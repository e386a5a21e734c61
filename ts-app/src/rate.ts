/**
 * Rate and size bounds for keys an outsider may choose (addresses, user
 * names): token buckets, and a map that forgets its oldest entries.
 */

/** A token bucket's shape: `burst` at once, refilled at `perMinute`. */
export interface Rate {
  burst: number;
  perMinute: number;
}

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
