/** Test helpers: an in-process server on a free port, raw sockets, clients. */
import { connect, type Socket } from "node:net";
import { createNodeProvider } from "../src/crypto/node.ts";
import { silentLogger } from "../src/log.ts";
import { deriveMaster } from "../src/protocol/secure.ts";
import { ChatServer, type Mode } from "../src/server/server.ts";
import type { ConnectionLimits } from "../src/server/connection.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";
import { SecureClient } from "../src/client/secure-client.ts";

export const passphrase = "correct horse battery staple";
export const classicKey = Buffer.from("000102030405060708090a0b0c0d0e0f", "hex");
export const classicIv = Buffer.from("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf", "hex");

const masters = new Map<string, Promise<Buffer>>();
export function master(pp = passphrase): Promise<Buffer> {
  let m = masters.get(pp);
  if (!m) masters.set(pp, (m = deriveMaster(pp)));
  return m;
}

export interface Running {
  server: ChatServer;
  port: number;
  stop(): Promise<void>;
}

export async function startServer(
  opts: {
    mode?: Mode;
    db?: string;
    limits?: Partial<ConnectionLimits>;
    maxConnections?: number;
  } = {},
): Promise<Running> {
  const mode = opts.mode ?? "secure";
  const provider = createNodeProvider();
  const server = new ChatServer({
    mode,
    host: "127.0.0.1",
    port: 0,
    store: openSqliteStore(opts.db ?? ":memory:"),
    provider,
    log: process.env.CHAT_TEST_LOG
      ? (await import("../src/log.ts")).createLogger("test", "debug")
      : silentLogger,
    master: mode === "secure" ? await master() : undefined,
    classicKey: mode === "classic" ? classicKey : undefined,
    classicIv: mode === "classic" ? classicIv : undefined,
    limits: opts.limits,
    maxConnections: opts.maxConnections,
  });
  const { port } = await server.listen();
  return { server, port, stop: () => server.stop() };
}

export async function client(port: number, pp = passphrase): Promise<SecureClient> {
  return SecureClient.connect({
    host: "127.0.0.1",
    port,
    provider: createNodeProvider(),
    master: await master(pp),
  });
}

/** A client registered and logged in as `user`. */
export async function loggedIn(
  port: number,
  user: string,
  password = `pw-${user}`,
): Promise<SecureClient> {
  const c = await client(port);
  const r = await c.request("register", { user, password });
  if (!r.ok && r.error.code !== "user_exists") throw new Error(r.error.message);
  await c.call("login", { user, password });
  return c;
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
  const sec = await import("../src/protocol/secure.ts");
  const p = createNodeProvider();
  const s = await rawSocket(port);
  const nonce = sec.newNonce();
  s.write(sec.encodeClientHello(nonce));
  const hello = await new Promise<Buffer>((r) => s.once("data", (d: Buffer) => r(d)));
  const sh = sec.parseServerHello(new FrameReader().push(hello)[0]!);
  const keys = await sec.deriveSessionKeys(p, await master(), nonce, sh.nonce);
  let seq = 0;
  return {
    socket: s,
    /** Seals one request (next sequence number). */
    seal: (req: Record<string, unknown>) =>
      sec.seal(p, keys.c2s, seq++, Buffer.from(JSON.stringify(req))),
    /** Opens every frame of what the server sent. */
    async openAll(bytes: Buffer): Promise<Record<string, unknown>[]> {
      const out: Record<string, unknown>[] = [];
      let rseq = 0;
      for (const f of new FrameReader().push(bytes))
        if (f.kind === 2)
          out.push(
            JSON.parse((await sec.open(p, keys.s2c, rseq++, f)).toString()) as Record<
              string,
              unknown
            >,
          );
      return out;
    },
  };
}
