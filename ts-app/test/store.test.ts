import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChatModel } from "../src/model/chat.ts";
import { PasswordHasher } from "../src/model/password.ts";
import { Authenticator } from "../src/server/auth.ts";
import { defaultServerLimits } from "../src/server/limits.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";

const hasher = () => new PasswordHasher({ threads: 2, queuePerKey: 64, queue: 1024 });

describe("SQLite store and chat model", () => {
  it("numbers messages per channel from 0, across batches and reopen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chat-store-"));
    const path = join(dir, "chat.db");
    let store = openSqliteStore(path);
    store.createUser("a", "h");
    store.createChannel("x", "a");
    store.createChannel("y", "a");
    const ids = store.appendMessages([
      { channel: "x", user: "a", text: "x0", ts: 1 },
      { channel: "y", user: "a", text: "y0", ts: 2 },
      { channel: "x", user: "a", text: "x1", ts: 3 },
    ]);
    expect(ids).toEqual([0, 0, 1]);
    store.close();
    store = openSqliteStore(path);
    expect(store.appendMessages([{ channel: "x", user: "a", text: "x2", ts: 4 }])).toEqual([2]);
    expect(store.lastMessageId("x")).toBe(2);
    expect(store.lastMessageId("y")).toBe(0);
    expect(store.history("x", 2, 10).map((m) => m.text)).toEqual(["x0", "x1"]);
    expect(store.history("x", 3, 1).map((m) => m.text)).toEqual(["x2"]);
    expect(store.isMember("x", "a")).toBe(true);
    expect(store.channelsOf("a")).toEqual(["x", "y"]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("durability: process commits without fsync (synchronous=NORMAL), power with (FULL)", () => {
    const dir = mkdtempSync(join(tmpdir(), "chat-store-"));
    const seen = (["process", "power", undefined] as const).map((durability) => {
      const store = openSqliteStore(join(dir, `${durability ?? "default"}.db`), { durability });
      try {
        return store.syncLevel();
      } finally {
        store.close();
      }
    });
    expect(seen).toEqual(["NORMAL", "FULL", "NORMAL"]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("model rules: creator is a member, invitations accepted, non-members refused", async () => {
    const store = openSqliteStore(":memory:");
    const h = hasher();
    const auth = new Authenticator(store, h, defaultServerLimits);
    const m = new ChatModel(store, defaultServerLimits);
    await auth.register("ann", "pw", "a");
    await auth.register("ben", "pw", "a");
    await auth.register("cat", "pw", "a");
    await expect(auth.register("ann", "x", "a")).rejects.toMatchObject({ code: "user_exists" });
    await expect(auth.register("bad name", "x", "a")).rejects.toMatchObject({
      code: "bad_request",
    });
    await expect(auth.register("a".repeat(33), "x", "a")).rejects.toMatchObject({
      code: "too_large",
    });
    m.createChannel("ann", "c");
    expect(() => m.invite("ben", "c", "cat")).toThrow(
      expect.objectContaining({ code: "not_member" }),
    );
    m.invite("ann", "c", "ben");
    expect(m.isMember("ben", "c")).toBe(false); // not before accepting
    expect(m.invitations("ben")).toMatchObject([{ channel: "c", from: "ann" }]);
    m.accept("ben", "c");
    expect(() => m.accept("ben", "c")).toThrow(expect.objectContaining({ code: "no_invitation" }));
    m.invite("ben", "c", "cat"); // members invite
    m.decline("cat", "c");
    expect(m.isMember("cat", "c")).toBe(false);
    expect(m.invitations("cat")).toEqual([]);
    m.invite("ben", "c", "cat");
    m.accept("cat", "c");
    await expect(m.send("nobody", "c", "x")).rejects.toMatchObject({ code: "not_member" });
    await expect(m.send("ann", "c", "x".repeat(4097))).rejects.toMatchObject({ code: "too_large" });
    const [a, b] = await Promise.all([m.send("ann", "c", "one"), m.send("cat", "c", "two")]);
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(m.read("ben", "c", 1).message).toMatchObject({ user: "cat", text: "two" });
    expect(m.history("ann", "c", undefined, 500).messages).toHaveLength(2);
    await expect(auth.check("ann", "wrong", "a")).rejects.toMatchObject({ code: "auth_failed" });
    await expect(auth.check("nobody", "pw", "a")).rejects.toMatchObject({ code: "auth_failed" });
    await auth.check("ann", "pw", "a");
    await auth.check("ann", "pw", "a"); // remembered
    await expect(auth.check("ann", "pw2", "a")).rejects.toMatchObject({ code: "auth_failed" });
    await h.close();
  });

  it("stores salted scrypt hashes, never the password", async () => {
    const h = hasher();
    const h1 = await h.hash("secret");
    const h2 = await h.hash("secret");
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain("secret");
    expect(h1).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await h.verify("secret", h1)).toBe(true);
    expect(await h.verify("Secret", h1)).toBe(false);
    expect(await h.verify("secret", undefined)).toBe(false);
    expect(await h.verify("secret", "garbage")).toBe(false);
    await h.close();
  });
});
