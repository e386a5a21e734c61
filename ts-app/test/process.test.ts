/**
 * The real `lab chat` processes: SIGKILL-and-restart durability, clean
 * SIGTERM, the scripted client's JSON lines and exit codes, and the
 * command-line checks.
 */
import { execa, type ResultPromise } from "execa";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ChatMessage } from "../src/protocol/messages.ts";
import { loggedIn, passphrase } from "./helpers.ts";

const repo = resolve(import.meta.dirname, "..", "..");
const lab = join(repo, "bin", "lab.mjs");
const dir = mkdtempSync(join(tmpdir(), "chat-proc-"));
const procs: ResultPromise[] = [];

afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `lab chat server` and resolves with its port once it prints `listening on`. */
async function server(db: string, extra: string[] = []) {
  const p = execa(
    "node",
    [lab, "chat", "server", "--port", "0", "--db", db, "--crypto", "node", ...extra],
    {
      env: { CHAT_PASSPHRASE: passphrase },
      reject: false,
      buffer: { stdout: false, stderr: true },
    },
  );
  procs.push(p);
  const port = await new Promise<number>((res, rej) => {
    let out = "";
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)\n/.exec(out);
      if (m) res(Number(m[1]));
    });
    void p.then((r) => rej(new Error(`server exited ${r.exitCode}: ${String(r.stderr)}`)));
  });
  return { p, port };
}

describe("lab chat processes", () => {
  it("keeps every acknowledged message across SIGKILL and restart", async () => {
    const db = join(dir, "kill.db");
    const first = await server(db);
    const c = await loggedIn(first.port, "alice");
    await c.call("createChannel", { channel: "log" });
    const acked = new Map<number, string>();
    let killed = false;
    const total = 1000;
    const sends = Array.from({ length: total }, (_, i) => {
      const text = `message ${i}`;
      return c.call("send", { channel: "log", text }).then(
        (r) => {
          acked.set(r.msgId as number, text);
          // Kill in the middle of the stream, with sends still in flight.
          if (acked.size === 150 && !killed) {
            killed = true;
            first.p.kill("SIGKILL");
          }
        },
        () => undefined,
      );
    });
    await Promise.all(sends);
    const r = await first.p;
    expect(r.signal).toBe("SIGKILL");
    expect(acked.size).toBeGreaterThanOrEqual(150);
    expect(acked.size).toBeLessThan(total); // the kill really cut the stream

    const second = await server(db);
    const d = await loggedIn(second.port, "alice");
    const stored = new Map<number, string>();
    let before: number | undefined;
    for (;;) {
      const h = await d.call("history", {
        channel: "log",
        limit: 200,
        ...(before !== undefined ? { before } : {}),
      });
      const ms = h.messages as ChatMessage[];
      if (!ms.length) break;
      for (const m of ms) stored.set(m.id, m.text);
      before = ms[0]!.id;
    }
    for (const [id, text] of acked) expect(stored.get(id)).toBe(text);
    await d.close();
    second.p.kill("SIGTERM");
    expect((await second.p).exitCode).toBe(0);
  });

  it("scripted client: JSON lines, pushes, exit codes; SIGTERM closes the server cleanly", async () => {
    const { p, port } = await server(join(dir, "script.db"));
    const script = [
      "/register alice pw",
      "/login alice pw",
      "/create general",
      "/join general",
      '{"op":"send","channel":"general","text":"hello  there"}',
      "/read general 0",
      "/waitfor general 1 5000",
      "/read general 7",
    ].join("\n");
    const r = await execa(
      "node",
      [lab, "chat", "client", "--port", String(port), "--crypto", "node", "--script", "-"],
      {
        input: script,
        env: { CHAT_PASSPHRASE: passphrase },
        reject: false,
      },
    );
    const lines = r.stdout.split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const results = lines.filter((l) => l.type === "result");
    expect(results.map((l) => [l.op, l.ok])).toEqual([
      ["register", true],
      ["login", true],
      ["createChannel", true],
      ["subscribe", true],
      ["send", true],
      ["read", true],
      ["waitPush", true],
      ["read", false],
    ]);
    expect(results[5]).toMatchObject({ message: { id: 0, user: "alice", text: "hello  there" } });
    expect(lines.find((l) => l.type === "push")).toMatchObject({
      channel: "general",
      message: { id: 0 },
    });
    expect(r.exitCode).toBe(1); // one command failed

    const wrong = await execa(
      "node",
      [lab, "chat", "client", "--port", String(port), "--crypto", "node", "--script", "-"],
      {
        input: "/ping\n",
        env: { CHAT_PASSPHRASE: "not it" },
        reject: false,
      },
    );
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toMatch(/auth_failed: .*wrong passphrase/);

    p.kill("SIGTERM");
    const done = await p;
    expect(done.exitCode).toBe(0);
    expect(String(done.stderr)).toMatch(/closed cleanly/);
    expect(String(done.stderr)).not.toContain(passphrase);
  });

  it("refuses classic mode without a key and IV, and secure mode without a passphrase", async () => {
    const c = await execa(
      "node",
      [lab, "chat", "server", "--mode", "classic", "--db", ":memory:"],
      {
        reject: false,
        env: { CHAT_KEY: "", CHAT_IV: "" },
      },
    );
    expect(c.exitCode).toBe(2);
    expect(c.stderr).toMatch(/--key/);
    const s = await execa("node", [lab, "chat", "server", "--db", ":memory:"], {
      reject: false,
      env: { CHAT_PASSPHRASE: "" },
    });
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toMatch(/--passphrase/);
  });
});
