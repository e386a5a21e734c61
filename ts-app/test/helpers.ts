/** Test helpers: an in-process server on a free port, raw sockets, clients. */
import { connect, type Socket } from "node:net";
import { createNodeProvider } from "../src/crypto/node.ts";
import { silentLogger } from "../src/log.ts";
import type { HostKey } from "../src/protocol/keys.ts";
import { ChatServer, type Limits, type Mode } from "../src/server/server.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";
import { SecureClient } from "../src/client/secure-client.ts";
import { pinnedHostKey, type HostKeyPolicy } from "../src/client/host-keys.ts";

export const classicKey = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
export const classicIv = Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex");

export interface Running {
  server: ChatServer;
  port: number;
  /** Secure mode: the server's host key fingerprint. */
  fingerprint: string;
  stop(): Promise<void>;
}

/** Host key fingerprints of the servers started here, by port: clients pin them. */
const fingerprints = new Map<number, string>();

export async function startServer(
  opts: {
    mode?: Mode;
    db?: string;
    limits?: Partial<Limits>;
    hostKey?: HostKey;
  } = {},
): Promise<Running> {
  const mode = opts.mode ?? "secure";
  const provider = createNodeProvider();
  const server = new ChatServer({
    mode,
    host: "127.0.0.1",
    port: 0,
    store: openSqliteStore(opts.db ?? ":memory:", { mode }),
    provider,
    log: process.env.CHAT_TEST_LOG
      ? (await import("../src/log.ts")).createLogger("test", "debug")
      : silentLogger,
    hostKey: opts.hostKey,
    classicKey: mode === "classic" ? classicKey : undefined,
    classicIv: mode === "classic" ? classicIv : undefined,
    // The login deadline defends against outsiders; a test that is not about
    // it must not depend on how fast a loaded machine hashes passwords.
    limits: { loginTimeoutMs: 300_000, ...opts.limits },
  });
  const { port } = await server.listen();
  const fingerprint = server.hostKey?.fingerprint ?? "";
  fingerprints.set(port, fingerprint);
  return { server, port, fingerprint, stop: () => server.stop() };
}

/** The pin for a server started by startServer(). */
export function pinFor(port: number): HostKeyPolicy {
  const fp = fingerprints.get(port);
  if (!fp) throw new Error(`no server of this test on port ${port}`);
  return pinnedHostKey(fp);
}

export async function client(
  port: number,
  opts: { hostKeys?: HostKeyPolicy; localAddress?: string } = {},
): Promise<SecureClient> {
  return SecureClient.connect({
    host: "127.0.0.1",
    port,
    provider: createNodeProvider(),
    hostKeys: opts.hostKeys ?? pinFor(port),
    localAddress: opts.localAddress,
  });
}

/** A client registered and logged in as `user`. */
export async function loggedIn(
  port: number,
  user: string,
  password = `pw-${user}`,
  hostKeys?: HostKeyPolicy,
): Promise<SecureClient> {
  const c = await client(port, { hostKeys });
  const r = await c.request("register", { user, password });
  if (!r.ok && r.error.code !== "user_exists") throw new Error(r.error.message);
  await c.call("login", { user, password });
  return c;
}

/** `by` invites `user` to `channel`, and `user` accepts. */
export async function addMember(
  by: SecureClient,
  channel: string,
  user: SecureClient,
  name: string,
): Promise<void> {
  await by.call("invite", { channel, user: name });
  await user.call("accept", { channel });
}

export function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Everything the server sends until it closes the socket. */
export function readUntilClose(s: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on("data", (d: Buffer) => parts.push(d));
    s.on("error", () => {});
    s.on("close", () => resolve(Buffer.concat(parts)));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A hand-driven secure connection: handshake done, frames sealed by the test. */
export async function rawSecure(port: number) {
  const { FrameReader } = await import("../src/protocol/frames.ts");
  const hsm = await import("../src/protocol/handshake.ts");
  const sec = await import("../src/protocol/secure.ts");
  const p = createNodeProvider();
  const s = await rawSocket(port);
  const hs = hsm.startClientHandshake();
  s.write(hs.hello);
  const hello = await new Promise<Buffer>((r) => s.once("data", (d: Buffer) => r(d)));
  const { keys } = await hsm.finishClientHandshake(p, hs, new FrameReader().push(hello)[0]!);
  let seq = 0;
  return {
    socket: s,
    keys,
    /** Seals one request (next sequence number). */
    seal: (req: Record<string, unknown>) =>
      sec.seal(p, keys.c2s, seq++, sec.ContentType.DATA, Buffer.from(JSON.stringify(req))),
    /** Seals an alert (next sequence number). */
    alert: (code: "close", message = "") =>
      sec.seal(p, keys.c2s, seq++, sec.ContentType.ALERT, sec.alertBody(code, message)),
    /** Opens every sealed frame of what the server sent: DATA as JSON, alerts as {alert}. */
    async openAll(bytes: Buffer): Promise<Record<string, unknown>[]> {
      const out: Record<string, unknown>[] = [];
      let rseq = 0;
      for (const f of new FrameReader().push(bytes))
        if (f.kind === 2) {
          const rec = await sec.open(p, keys.s2c, rseq++, f);
          out.push(
            rec.type === sec.ContentType.DATA
              ? (JSON.parse(rec.body.toString()) as Record<string, unknown>)
              : { alert: sec.parseAlertBody(rec.body) },
          );
        }
      return out;
    },
  };
}
