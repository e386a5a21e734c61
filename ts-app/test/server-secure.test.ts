import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteStore } from "../src/store/sqlite.ts";
import { createNodeProvider } from "../src/crypto/node.ts";
import type { ChatMessage } from "../src/protocol/messages.ts";
import { FrameKind, FrameReader, MAX_FRAME, encodeFrame } from "../src/protocol/frames.ts";
import { startClientHandshake } from "../src/protocol/handshake.ts";
import { ContentType, parseClearAlert, seal } from "../src/protocol/secure.ts";
import {
  addMember,
  client,
  loggedIn,
  rawSecure,
  rawSocket,
  readUntilClose,
  sleep,
  startServer,
  type Running,
} from "./helpers.ts";

let srv: Running | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

/** The clear ALERT frame a connection ended with before its handshake, if any. */
function lastAlert(bytes: Buffer): { code: string; message: string } | undefined {
  let frames;
  try {
    frames = new FrameReader().push(bytes);
  } catch {
    return undefined;
  }
  const a = frames.filter((f) => f.kind === FrameKind.ALERT).pop();
  return a && parseClearAlert(a);
}

/** A second client that must keep working while another one misbehaves. */
async function stillServes(port: number): Promise<void> {
  const c = await loggedIn(port, "bystander");
  const r = await c.call("ping");
  expect(r.ok).toBe(true);
  await c.close();
}

describe("secure server", () => {
  it("serves the whole chat: register, login, channels, members, send, read, history, push", async () => {
    srv = await startServer();
    const alice = await loggedIn(srv.port, "alice");
    const bob = await loggedIn(srv.port, "bob");
    await alice.call("createChannel", { channel: "general" });
    expect((await bob.request("subscribe", { channel: "general" })).ok).toBe(false);
    await addMember(alice, "general", bob, "bob");
    const pushed: ChatMessage[] = [];
    const got = new Promise<void>((r) => {
      bob.onPush = (p) => {
        if (p.push === "message") pushed.push(p.message);
        if (pushed.length === 2) r();
      };
    });
    expect(await bob.call("subscribe", { channel: "general" })).toMatchObject({ lastId: -1 });
    expect(await alice.call("send", { channel: "general", text: "hello" })).toMatchObject({
      msgId: 0,
    });
    expect(await bob.call("send", { channel: "general", text: "hi alice" })).toMatchObject({
      msgId: 1,
    });
    await got;
    expect(pushed.map((m) => [m.id, m.user, m.text])).toEqual([
      [0, "alice", "hello"],
      [1, "bob", "hi alice"],
    ]);
    expect(await alice.call("read", { channel: "general", msgId: 1 })).toMatchObject({
      lastId: 1,
      message: { id: 1, user: "bob", text: "hi alice" },
    });
    const h = await alice.call("history", { channel: "general", limit: 1 });
    expect((h.messages as ChatMessage[]).map((m) => m.id)).toEqual([1]);
    const h2 = await alice.call("history", { channel: "general", before: 1 });
    expect((h2.messages as ChatMessage[]).map((m) => m.id)).toEqual([0]);
    // structured errors
    const errs = await Promise.all([
      alice.request("read", { channel: "general", msgId: 9 }),
      alice.request("createChannel", { channel: "general" }),
      alice.request("send", { channel: "nowhere", text: "x" }),
      alice.request("register", { user: "alice", password: "x" }),
      alice.request("login", { user: "alice", password: "pw-alice" }),
      alice.request("bogus", {}),
      alice.request("send", { channel: "general" }),
    ]);
    expect(errs.map((e) => (e.ok ? "ok" : e.error.code))).toEqual([
      "no_such_message",
      "channel_exists",
      "not_member",
      "user_exists",
      "already_logged_in",
      "unknown_op",
      "bad_request",
    ]);
    const anon = await client(srv.port);
    expect(await anon.request("send", { channel: "general", text: "x" })).toMatchObject({
      ok: false,
      error: { code: "not_logged_in" },
    });
    expect(await anon.request("login", { user: "alice", password: "wrong" })).toMatchObject({
      ok: false,
      error: { code: "auth_failed" },
    });
    await Promise.all([alice.close(), bob.close(), anon.close()]);
  });

  it("fans out to many concurrent clients, every message once, in id order", async () => {
    srv = await startServer();
    const n = 40;
    const perClient = 3;
    const admin = await loggedIn(srv.port, "admin");
    await admin.call("createChannel", { channel: "room" });
    const clients = await Promise.all(
      Array.from({ length: n }, (_, i) => loggedIn(srv!.port, `u${i}`)),
    );
    for (let i = 0; i < n; i++) await addMember(admin, "room", clients[i]!, `u${i}`);
    const total = n * perClient;
    const received = clients.map(() => [] as number[]);
    const done = clients.map(
      (c, i) =>
        new Promise<void>((r) => {
          c.onPush = (p) => {
            if (p.push !== "message") return;
            received[i]!.push(p.message.id);
            if (received[i]!.length === total) r();
          };
        }),
    );
    await Promise.all(clients.map((c) => c.call("subscribe", { channel: "room" })));
    const acks = await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: perClient }, (_, k) =>
          c.call("send", { channel: "room", text: `m${i}.${k}` }),
        ),
      ),
    );
    const ids = acks.map((a) => a.msgId as number).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: total }, (_, i) => i));
    await Promise.all(done);
    for (const r of received) expect(r).toEqual(Array.from({ length: total }, (_, i) => i));
    const h = await admin.call("history", { channel: "room", limit: 200 });
    expect((h.messages as ChatMessage[]).length).toBe(total);
    await Promise.all([...clients, admin].map((c) => c.close()));
  });

  it("pages long histories within the frame limit", async () => {
    srv = await startServer();
    const c = await loggedIn(srv.port, "alice");
    await c.call("createChannel", { channel: "big" });
    const text = "é".repeat(2000); // 4000 bytes, the limit is 4096
    await Promise.all(Array.from({ length: 60 }, () => c.call("send", { channel: "big", text })));
    const seen: number[] = [];
    let before: number | undefined;
    for (;;) {
      const h = await c.call("history", {
        channel: "big",
        limit: 200,
        ...(before !== undefined ? { before } : {}),
      });
      const ms = h.messages as ChatMessage[];
      if (!ms.length) break;
      expect(ms.length).toBeLessThan(60); // one frame cannot hold them all
      seen.unshift(...ms.map((m) => m.id));
      before = ms[0]!.id;
    }
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
    await c.close();
  });

  it("a frame under keys of no session gets bad_mac, sealed; the others unaffected", async () => {
    srv = await startServer();
    const good = await loggedIn(srv.port, "alice");
    const r = await rawSecure(srv.port);
    const closed = readUntilClose(r.socket);
    const p = createNodeProvider();
    const wrong = { enc: Buffer.alloc(16, 7), mac: Buffer.alloc(32, 7) };
    r.socket.write(await seal(p, wrong, 0, ContentType.DATA, Buffer.from('{"id":1,"op":"ping"}')));
    expect(await r.openAll(await closed)).toEqual([
      { alert: { code: "bad_mac", message: expect.any(String) } },
    ]);
    expect(await good.call("ping")).toMatchObject({ ok: true });
    await stillServes(srv.port);
    await good.close();
  });

  it("a replayed frame is refused and ends that connection", async () => {
    srv = await startServer();
    const r = await rawSecure(srv.port);
    const closed = readUntilClose(r.socket);
    const f = await r.seal({ id: 1, op: "ping" });
    r.socket.write(Buffer.concat([f, f]));
    const got = await r.openAll(await closed);
    expect(got[0]).toMatchObject({ id: 1, ok: true });
    expect(got[1]).toMatchObject({ alert: { code: "replay" } });
  });

  it("an oversize frame length gets bad_frame and a close; others unaffected", async () => {
    srv = await startServer();
    const s = await rawSocket(srv.port);
    const closed = readUntilClose(s);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME + 1);
    s.write(head);
    expect(lastAlert(await closed)).toMatchObject({ code: "bad_frame" });
    await stillServes(srv.port);
  });

  it("garbage before the handshake gets bad_hello; a truncated frame then EOF just closes", async () => {
    srv = await startServer();
    const s = await rawSocket(srv.port);
    const closed = readUntilClose(s);
    s.write(encodeFrame(FrameKind.HELLO, Buffer.from("not a hello")));
    expect(lastAlert(await closed)).toMatchObject({ code: "bad_hello" });

    const t = await rawSocket(srv.port);
    const tClosed = readUntilClose(t);
    const hello = startClientHandshake().hello;
    t.end(hello.subarray(0, 10)); // half a frame, then FIN
    expect((await tClosed).length).toBe(0);
    await stillServes(srv.port);
  });

  it("drops a slowloris peer that never completes its frame; others unaffected", async () => {
    srv = await startServer({ limits: { frameTimeoutMs: 1000 } });
    // Connected before the attack, so its own handshake is not at the mercy of the short limit.
    const bystander = await loggedIn(srv.port, "bystander");
    const s = await rawSocket(srv.port);
    const closed = readUntilClose(s);
    const hello = startClientHandshake().hello;
    let stop = false;
    void (async () => {
      // One byte at a time: the 104-byte hello would take 31 s, the limit is 1 s.
      for (let i = 0; i < hello.length - 1 && !stop && !s.destroyed; i++) {
        s.write(hello.subarray(i, i + 1));
        await sleep(300);
      }
    })();
    const got = await closed;
    stop = true;
    expect(lastAlert(got)).toMatchObject({ code: "timeout" });
    expect(await bystander.call("ping")).toMatchObject({ ok: true });
    await bystander.close();
  });

  it("closes a connection that sends nothing", async () => {
    srv = await startServer({ limits: { frameTimeoutMs: 300 } });
    const silent = await rawSocket(srv.port);
    expect(lastAlert(await readUntilClose(silent))).toMatchObject({ code: "timeout" });
  });

  it("closes a connection idle after its last frame", async () => {
    srv = await startServer({ limits: { idleTimeoutMs: 1000 } });
    const c = await client(srv.port);
    expect(await c.call("ping")).toMatchObject({ ok: true });
    const err = await c.closed();
    expect(err).toMatchObject({ code: "timeout" });
  });

  it("refuses connections over the limit with too_many", async () => {
    srv = await startServer({ limits: { maxConnections: 1 } });
    const a = await client(srv.port);
    await expect(client(srv.port)).rejects.toMatchObject({ code: "too_many" });
    await a.close();
  });

  it("a late reply never reaches a newer client (connection ids, not fds)", async () => {
    srv = await startServer();
    const owner = await loggedIn(srv.port, "owner");
    await owner.call("createChannel", { channel: "busy" });
    for (let round = 0; round < 10; round++) {
      const a = await loggedIn(srv.port, "owner");
      await a.call("subscribe", { channel: "busy" });
      // Requests in flight, then gone: their answers and pushes are orphaned.
      for (let k = 0; k < 5; k++)
        void a.request("send", { channel: "busy", text: `r${round}` }).catch(() => {});
      void owner.request("send", { channel: "busy", text: `o${round}` });
      (a as unknown as { socket: { destroy(): void } }).socket.destroy();
      // A newcomer likely gets the same fd on the server; it must see nothing of a's.
      const b = await loggedIn(srv.port, `new${round}`);
      let pushes = 0;
      b.onPush = () => pushes++;
      expect(await b.call("ping")).toMatchObject({ ok: true });
      expect(await b.call("channels")).toMatchObject({ channels: [] });
      expect(pushes).toBe(0);
      await b.close();
    }
    await owner.close();
  });

  it("closes a connection after repeated failed logins", async () => {
    srv = await startServer();
    await (await loggedIn(srv.port, "alice")).close();
    const c = await client(srv.port);
    const tries = await Promise.all(
      Array.from({ length: 3 }, () =>
        c.request("login", { user: "alice", password: "guess" }).catch((e: Error) => e),
      ),
    );
    expect(tries[0]).toMatchObject({ ok: false, error: { code: "auth_failed" } });
    expect(await c.closed()).toMatchObject({ code: "too_many" });
  });

  it("a client that half-closes still gets every answer, sends once durable", async () => {
    srv = await startServer();
    await (await loggedIn(srv.port, "alice")).close();
    const r = await rawSecure(srv.port);
    const frames = [
      await r.seal({ id: 1, op: "login", user: "alice", password: "pw-alice" }),
      await r.seal({ id: 2, op: "createChannel", channel: "c" }),
      // A slow request (scrypt): the FIN is seen while the queue still runs.
      await r.seal({ id: 3, op: "register", user: "bob", password: "pw" }),
    ];
    for (let i = 0; i < 20; i++)
      frames.push(await r.seal({ id: 10 + i, op: "send", channel: "c", text: `${i}` }));
    const all = readUntilClose(r.socket);
    r.socket.end(Buffer.concat(frames)); // every request and the FIN in one go
    const records = await r.openAll(await all);
    expect(records.pop()).toEqual({ alert: { code: "close", message: expect.any(String) } });
    const answers = records;
    expect(answers).toHaveLength(23);
    expect(answers.every((a) => a.ok === true)).toBe(true);
    const ids = answers.filter((a) => Number(a.id) >= 10).map((a) => a.msgId as number);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("stops cleanly: clients told, and every acknowledged send is in the store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "chat-stop-"));
    const db = join(dir, "chat.db");
    srv = await startServer({ db });
    const c = await loggedIn(srv.port, "alice");
    await c.call("createChannel", { channel: "c" });
    const shutdown = new Promise<void>((r) => {
      c.onPush = (p) => p.push === "shutdown" && r();
    });
    const sends = Array.from({ length: 30 }, (_, i) =>
      c.call("send", { channel: "c", text: `m${i}` }).then(
        (r) => r.msgId as number,
        () => undefined,
      ),
    );
    await sends[0];
    await srv.stop();
    srv = undefined;
    const acked = (await Promise.all(sends)).filter((x) => x !== undefined);
    expect(acked.length).toBeGreaterThan(0);
    await shutdown;
    expect(await c.closed()).toBeUndefined();
    const store = openSqliteStore(db);
    for (const id of acked) expect(store.getMessage("c", id)?.text).toMatch(/^m\d+$/);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
