/**
 * Password hashing off libuv's thread pool, in a bounded queue served
 * round-robin by address (model/password.ts): a login flood from one
 * address neither stalls the cryptodev provider's work (which uses libuv's
 * pool) nor makes other addresses wait behind it.
 */
import { pbkdf2 } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PasswordHasher } from "../src/model/password.ts";

describe("password hasher", () => {
  it("hashes while libuv's thread pool is saturated (it does not use it)", async () => {
    const h = new PasswordHasher({ threads: 1, queuePerKey: 8, queue: 8 });
    const order: string[] = [];
    const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    // Each of these holds a libuv thread for seconds; a hash there would wait.
    const blockers = Array.from(
      { length: size },
      () =>
        new Promise<void>((r) =>
          pbkdf2("x", "salt", 1_500_000, 32, "sha256", () => {
            order.push("libuv");
            r();
          }),
        ),
    );
    await h.hash("pw", "a").then(() => order.push("hash"));
    await Promise.all(blockers);
    expect(order[0]).toBe("hash");
    await h.close();
  });

  it("serves addresses round-robin: a flood from one does not queue another behind it", async () => {
    const h = new PasswordHasher({ threads: 1, queuePerKey: 64, queue: 1024 });
    const done: string[] = [];
    const flood = Array.from({ length: 12 }, () =>
      h.verify("guess", undefined, "attacker").then(() => done.push("attacker")),
    );
    const legit = h.verify("pw", undefined, "alice").then(() => done.push("alice"));
    await Promise.all([...flood, legit]);
    // One attacker job was already running, one more at most before alice's turn.
    expect(done.indexOf("alice")).toBeLessThanOrEqual(2);
    await h.close();
  });

  it("bounds the queue: per address (too_many) and in all (busy), before any hashing", async () => {
    const h = new PasswordHasher({ threads: 1, queuePerKey: 3, queue: 5 });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => h.verify("x", undefined, "one")),
    );
    const codes = results.map((r) =>
      r.status === "fulfilled" ? "done" : (r.reason as { code: string }).code,
    );
    // One runs at once, three wait: the next two are refused.
    expect(codes.filter((c) => c === "too_many")).toHaveLength(2);
    const many = await Promise.allSettled(
      ["a", "b", "c", "d", "e", "f", "g", "h"].map((k) => h.verify("x", undefined, k)),
    );
    expect(many.some((r) => r.status === "rejected" && r.reason.code === "busy")).toBe(true);
    await h.close();
  });
});
