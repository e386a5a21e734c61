import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChatModel } from "../src/model/chat.ts";
import { hashPassword, verifyPassword } from "../src/model/password.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";

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

  it("model rules: creator is a member, members add members, non-members refused", async () => {
    const m = new ChatModel(openSqliteStore(":memory:"));
    await m.register("ann", "pw");
    await m.register("ben", "pw");
    await m.register("cat", "pw");
    await expect(m.register("ann", "x")).rejects.toMatchObject({ code: "user_exists" });
    await expect(m.register("bad name", "x")).rejects.toMatchObject({ code: "bad_request" });
    await expect(m.register("a".repeat(33), "x")).rejects.toMatchObject({ code: "too_large" });
    m.createChannel("ann", "c");
    expect(() => m.addMember("ben", "c", "cat")).toThrow(
      expect.objectContaining({ code: "not_member" }),
    );
    m.addMember("ann", "c", "ben");
    m.addMember("ben", "c", "cat"); // members add members
    expect(() => m.addMember("ben", "c", "cat")).toThrow(
      expect.objectContaining({ code: "already_member" }),
    );
    await expect(m.send("nobody", "c", "x")).rejects.toMatchObject({ code: "not_member" });
    await expect(m.send("ann", "c", "x".repeat(4097))).rejects.toMatchObject({ code: "too_large" });
    const [a, b] = await Promise.all([m.send("ann", "c", "one"), m.send("cat", "c", "two")]);
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(m.read("ben", "c", 1).message).toMatchObject({ user: "cat", text: "two" });
    expect(m.history("ann", "c", undefined, 500).messages).toHaveLength(2);
    await expect(m.authenticate("ann", "wrong")).rejects.toMatchObject({ code: "auth_failed" });
    await expect(m.authenticate("nobody", "pw")).rejects.toMatchObject({ code: "auth_failed" });
    await m.authenticate("ann", "pw");
    await m.authenticate("ann", "pw"); // remembered
    await expect(m.authenticate("ann", "pw2")).rejects.toMatchObject({ code: "auth_failed" });
  });

  it("stores salted scrypt hashes, never the password", async () => {
    const h1 = await hashPassword("secret");
    const h2 = await hashPassword("secret");
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain("secret");
    expect(h1).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword("secret", h1)).toBe(true);
    expect(await verifyPassword("Secret", h1)).toBe(false);
    expect(await verifyPassword("secret", undefined)).toBe(false);
    expect(await verifyPassword("secret", "garbage")).toBe(false);
  });
});
