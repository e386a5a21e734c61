import { createHmac } from "node:crypto";
import { constants } from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { bindingPath, buildBinding } from "../native/build.ts";
import { CryptoProviderError } from "../src/errors.ts";
import {
  CryptodevError,
  deviceMacKey,
  openCryptodevProvider,
  SessionCache,
} from "../src/crypto/cryptodev.ts";

/**
 * Host-side tests of the cryptodev provider. The host has no /dev/crypto,
 * so the ioctls themselves are exercised in the guest
 * (cryptodev.vm.test.ts); here: loading, typed errors from real syscalls
 * (/dev/null answers every ioctl with ENOTTY), argument checks, the
 * session cache.
 */
const key = Buffer.alloc(16, 1);
const iv = Buffer.alloc(16, 2);
const block = Buffer.alloc(32, 3);

describe("cryptodev provider on the host", () => {
  // The addon is built here when missing (node-gyp, offline); `lab build binding` rebuilds a stale one.
  beforeAll(async () => {
    if (!existsSync(bindingPath)) await buildBinding();
  }, 300_000);

  it("rejects a missing device with ENOENT from open()", async () => {
    const err = await openCryptodevProvider("/dev/cryptodev-none").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CryptodevError);
    expect(err).toBeInstanceOf(CryptoProviderError);
    expect(err).toMatchObject({
      code: "ENOENT",
      errno: constants.errno.ENOENT,
      syscall: "open",
      path: "/dev/cryptodev-none",
    });
    expect((err as Error).message).toMatch(
      /^ENOENT: no such file or directory, open '\/dev\/cryptodev-none'/,
    );
  });

  it("turns a failing ioctl into a typed error naming the request", async () => {
    const p = await openCryptodevProvider("/dev/null");
    try {
      const err = await p.aesCbcEncrypt(key, iv, block).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CryptodevError);
      expect(err).toMatchObject({
        code: "ENOTTY",
        errno: constants.errno.ENOTTY,
        syscall: "ioctl",
        ioctl: "CIOCGSESSION",
        path: "/dev/null",
      });
      const mac = await p.hmacSha256(key, block).catch((e: unknown) => e);
      expect(mac).toMatchObject({ code: "ENOTTY", ioctl: "CIOCGSESSION" });
      const gcm = await p
        .aesGcmSeal(key, Buffer.alloc(12), Buffer.alloc(13), block)
        .catch((e: unknown) => e);
      expect(gcm).toMatchObject({ code: "ENOTTY", ioctl: "CIOCGSESSION" });
    } finally {
      await p.close();
    }
  });

  it("keeps many requests in flight and settles every one", async () => {
    const p = await openCryptodevProvider("/dev/null");
    const all = Array.from({ length: 200 }, (_, i) =>
      (i % 2 ? p.aesCbcDecrypt(key, iv, block) : p.hmacSha256(key, block)).then(
        () => "resolved",
        (e: unknown) => (e as CryptodevError).code,
      ),
    );
    const results = await Promise.all(all);
    expect(new Set(results)).toEqual(new Set(["ENOTTY"]));
    expect(p.stats()).toEqual({ sessions: 0, inflight: 0 });
    await p.close();
  });

  it("checks arguments like the node provider, before any syscall", async () => {
    const p = await openCryptodevProvider("/dev/null");
    try {
      await expect(p.aesCbcEncrypt(Buffer.alloc(15), iv, block)).rejects.toThrow(
        /key must be 16, 24 or 32/,
      );
      await expect(p.aesCbcEncrypt(key, Buffer.alloc(8), block)).rejects.toThrow(/IV must be 16/);
      await expect(p.aesCbcDecrypt(key, iv, Buffer.alloc(17))).rejects.toThrow(/multiple of 16/);
      // Zero bytes need no device round trip, as with node:crypto.
      expect((await p.aesCbcEncrypt(key, iv, Buffer.alloc(0))).length).toBe(0);
      const none = Buffer.alloc(0);
      await expect(p.aesGcmSeal(Buffer.alloc(20), iv.subarray(0, 12), none, none)).rejects.toThrow(
        /key must be 16, 24 or 32/,
      );
      await expect(p.aesGcmSeal(key, iv, none, none)).rejects.toThrow(/IV must be 12/);
      await expect(p.aesGcmOpen(key, iv.subarray(0, 12), none, Buffer.alloc(15))).rejects.toThrow(
        /16-byte tag/,
      );
    } finally {
      await p.close();
    }
  });

  it("close() with requests in flight: each settles with the device's answer, none with EBADF", async () => {
    const p = await openCryptodevProvider("/dev/null");
    const work = Array.from({ length: 20 }, () =>
      p.hmacSha256(key, block).then(
        () => "resolved",
        (e: unknown) => (e as CryptodevError).code,
      ),
    );
    await p.close();
    // Each settled with the device's own answer, none with EBADF.
    expect(new Set(await Promise.all(work))).toEqual(new Set(["ENOTTY"]));
  });

  it("is unusable after close(), and close() twice is harmless", async () => {
    const p = await openCryptodevProvider("/dev/null");
    await p.close();
    await p.close();
    await expect(p.hmacSha256(key, block)).rejects.toThrow(/provider is closed/);
  });
});

describe("session cache", () => {
  function fakeDevice() {
    const freed: number[] = [];
    return { freed, dev: { freeSession: async (s: number) => void freed.push(s) } };
  }

  it("creates one session per id and reuses it", async () => {
    const { dev } = fakeDevice();
    const cache = new SessionCache(dev, 4);
    let created = 0;
    const create = async () => ++created;
    const used = await Promise.all([1, 2, 3].map(() => cache.use("a", create, async (s) => s)));
    expect(used).toEqual([1, 1, 1]);
    expect(created).toBe(1);
    expect(cache.size).toBe(1);
  });

  it("does not cache a failed creation", async () => {
    const { dev } = fakeDevice();
    const cache = new SessionCache(dev, 4);
    let n = 0;
    const create = async () => {
      if (++n === 1) throw new Error("EBUSY");
      return 7;
    };
    await expect(cache.use("a", create, async (s) => s)).rejects.toThrow("EBUSY");
    await expect(cache.use("a", create, async (s) => s)).resolves.toBe(7);
  });

  it("frees the idle sessions and retries once when the device has no room (ENOSPC)", async () => {
    const { dev, freed } = fakeDevice();
    const cache = new SessionCache(dev, 8);
    const room = 2;
    let open = 0;
    const create = async () => {
      if (open - freed.length >= room)
        throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
      return ++open;
    };
    await cache.use("a", create, async () => undefined);
    const gates: (() => void)[] = [];
    const hold = (id: string) =>
      cache.use(id, create, (ses) => new Promise<number>((r) => gates.push(() => r(ses))));
    const b = hold("b");
    await new Promise((r) => setImmediate(r));
    // Full: "a" is idle and freed, "b" is busy and kept; "c" gets "a"'s room.
    const c = hold("c");
    await new Promise((r) => setTimeout(r, 10));
    expect(freed).toEqual([1]);
    expect(cache.size).toBe(2);
    // Nothing idle left to free: the device's error reaches the caller.
    await expect(cache.use("d", create, async (s) => s)).rejects.toThrow("ENOSPC");
    for (const g of gates) g();
    await expect(Promise.all([b, c])).resolves.toEqual([2, 3]);
  });

  it("frees the least recently used idle sessions beyond its bound, never a busy one", async () => {
    const { dev, freed } = fakeDevice();
    const cache = new SessionCache(dev, 2);
    let release!: () => void;
    const busy = cache.use(
      "busy",
      async () => 100,
      () => new Promise<void>((r) => (release = r)),
    );
    for (const [i, id] of ["a", "b", "c"].entries())
      await cache.use(
        id,
        async () => i + 1,
        async () => undefined,
      );
    await new Promise((r) => setImmediate(r));
    expect(freed).toEqual([1, 2]); // "a" and "b"; "busy" is in use
    release();
    await busy;
    await new Promise((r) => setImmediate(r));
    expect(cache.size).toBe(2);
    await cache.clear();
    expect(freed.sort()).toEqual([1, 100, 2, 3].sort());
  });
});

describe("HMAC keys handed to the device", () => {
  const hmac = (k: Uint8Array, d: Buffer) => createHmac("sha256", k).update(d).digest("hex");
  const data = Buffer.from("what do ya want for nothing?");

  it("keeps keys the ABI takes (1..512 bytes) as they are", () => {
    for (const n of [1, 32, 64, 65, 131, 512]) {
      const k = Buffer.alloc(n, 0xaa);
      expect(deviceMacKey(k)).toBe(k);
    }
  });

  it("replaces an empty or over-long key by one with the same HMAC (RFC 2104)", () => {
    for (const n of [0, 513, 2000]) {
      const k = Buffer.alloc(n, 0x5c);
      const dk = deviceMacKey(k);
      expect(dk.length).toBeGreaterThan(0);
      expect(dk.length).toBeLessThanOrEqual(512);
      expect(hmac(dk, data)).toBe(hmac(k, data));
    }
  });
});
