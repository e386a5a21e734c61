/**
 * The real `lab chat` processes: SIGKILL-and-restart durability, clean
 * SIGTERM, the scripted client's JSON lines and exit codes, and the
 * command-line checks.
 */
import { execa, type ResultPromise } from "execa";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { pinnedHostKey } from "../src/client/host-keys.ts";
import type { ChatMessage } from "../src/protocol/messages.ts";
import { loggedIn } from "./helpers.ts";

const repo = resolve(import.meta.dirname, "..", "..");
const lab = join(repo, "bin", "lab.mjs");
const dir = mkdtempSync(join(tmpdir(), "chat-proc-"));
const procs: ResultPromise[] = [];
/** Every process's data directory (the client's known_hosts): inside the test's folder. */
const env = { XDG_DATA_HOME: join(dir, "data"), CHAT_PASSWORD: "" };

afterEach(() => {
  for (const p of procs.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Starts `lab chat server`; resolves with its port and host key once it
 * printed `host key SHA256:...` and `listening on`.
 */
async function server(db: string, extra: string[] = []) {
  const p = execa(
    "node",
    [lab, "chat", "server", "--port", "0", "--db", db, "--crypto", "node", ...extra],
    { env, reject: false, buffer: { stdout: false, stderr: true } },
  );
  procs.push(p);
  const [port, fingerprint] = await new Promise<[number, string]>((res, rej) => {
    let out = "";
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^host key (SHA256:\S+)\nlistening on 127\.0\.0\.1:(\d+)\n/.exec(out);
      if (m) res([Number(m[2]), m[1]!]);
    });
    void p.then((r) => rej(new Error(`server exited ${r.exitCode}: ${String(r.stderr)}`)));
  });
  return { p, port, fingerprint, pin: pinnedHostKey(fingerprint) };
}

describe("lab chat processes", () => {
  // What the ack promises at each --durability level: both survive the
  // process being killed (the WAL is written before COMMIT returns; "power"
  // fsyncs it too, which only a power cut, not SIGKILL, could tell apart).
  it.each(["process", "power"])(
    "keeps every acknowledged message across SIGKILL and restart (--durability %s)",
    async (durability) => {
      const db = join(dir, `kill-${durability}.db`);
      const first = await server(db, ["--msg-rate", "0", "--durability", durability]);
      const c = await loggedIn(first.port, "alice", "pw-alice", first.pin);
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
      expect(second.fingerprint).toBe(first.fingerprint); // the host key lives in the database
      const d = await loggedIn(second.port, "alice", "pw-alice", second.pin);
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
    },
  );

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
      { input: script, env, reject: false },
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

    // The first connection recorded the server's key (trust on first use), privately.
    const knownHosts = join(env.XDG_DATA_HOME, "cryptodev-lab", "known_hosts");
    expect(readFileSync(knownHosts, "utf8")).toContain(`127.0.0.1:${port} ed25519 `);
    expect(statSync(knownHosts).mode & 0o777).toBe(0o600);
    expect(r.stderr).toMatch(/new server 127\.0\.0\.1:\d+: host key SHA256:\S+ recorded/);

    const pinnedWrong = await execa(
      "node",
      [lab, "chat", "client", "--port", String(port), "--crypto", "node", "--script", "-"],
      {
        input: "/ping\n",
        env: { ...env, CHAT_HOST_KEY: `SHA256:${"A".repeat(43)}` },
        reject: false,
      },
    );
    expect(pinnedWrong.exitCode).toBe(3);
    expect(pinnedWrong.stderr).toMatch(/host_key_mismatch: the server at 127\.0\.0\.1:\d+/);

    p.kill("SIGTERM");
    const done = await p;
    expect(done.exitCode).toBe(0);
    expect(String(done.stderr)).toMatch(/closed cleanly/);
    expect(String(done.stderr)).not.toContain("pw");

    // Another server (another database, another key) on the same port: refused.
    const other = await server(join(dir, "other.db"), ["--port", String(port)]);
    expect(other.fingerprint).not.toBe(fingerprintOf(knownHosts, port));
    const mitm = await execa(
      "node",
      [lab, "chat", "client", "--port", String(port), "--crypto", "node", "--script", "-"],
      { input: "/ping\n", env, reject: false },
    );
    expect(mitm.exitCode).toBe(3);
    expect(mitm.stderr).toMatch(
      /host_key_mismatch: .* not the one recorded in .*known_hosts line 1/,
    );
    other.p.kill("SIGTERM");
    await other.p;
  });

  it("refuses classic mode without a key and IV, a shared passphrase, a password in argv", async () => {
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
    const s = await execa(
      "node",
      [lab, "chat", "server", "--db", ":memory:", "--passphrase", "correct horse"],
      { reject: false },
    );
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toMatch(/--passphrase is gone: secure mode v2 needs no shared secret/);
    const pw = await execa(
      "node",
      [lab, "chat", "client", "--user", "alice", "--password", "secret"],
      { reject: false },
    );
    expect(pw.exitCode).toBe(2);
    expect(pw.stderr).toMatch(/--password would show in ps/);
  });
});

/** The key recorded for 127.0.0.1:port, as a fingerprint. */
function fingerprintOf(knownHosts: string, port: number): string | undefined {
  const line = readFileSync(knownHosts, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`127.0.0.1:${port} `));
  if (!line) return undefined;
  const raw = Buffer.from(line.split(" ")[2]!, "base64");
  return `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}
