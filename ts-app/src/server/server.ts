/**
 * The chat server: a node:net listener, a registry of connections by a
 * never-reused numeric id, one protocol session per connection, admission
 * by per-address caps, a server-wide output budget, password hashing on
 * threads of its own, and a clean stop (no new connections, answer what is
 * queued, commit pending sends, tell secure clients, close).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { CryptoProvider } from "../crypto/provider.ts";
import type { Logger } from "../log.ts";
import { ChatModel } from "../model/chat.ts";
import { PasswordHasher } from "../model/password.ts";
import { HostKey } from "../protocol/keys.ts";
import { encodeClearAlert, type Suite } from "../protocol/secure.ts";
import type { ChatStore } from "../store/store.ts";
import { Admission } from "./admission.ts";
import { Authenticator } from "./auth.ts";
import { ClassicSession } from "./classic-session.ts";
import { Connection, OutputBudget, defaultLimits, type ConnectionLimits } from "./connection.ts";
import type { ServerContext, Session } from "./context.ts";
import { Hub } from "./hub.ts";
import { addressGroup, defaultServerLimits, type ServerLimits } from "./limits.ts";
import { SecureSession } from "./secure-session.ts";

export type Mode = "secure" | "classic";
export type Limits = ConnectionLimits & ServerLimits;

export interface ServerOptions {
  mode: Mode;
  host: string;
  port: number;
  store: ChatStore;
  provider: CryptoProvider;
  log: Logger;
  /** Secure mode: the Ed25519 host key; by default the store's (made on first use). */
  hostKey?: HostKey;
  /** Classic mode: AES-128 key and IV, 16 bytes each. */
  classicKey?: Buffer;
  classicIv?: Buffer;
  /** Secure mode: the suites accepted (default: every one implemented). */
  suites?: Suite[];
  limits?: Partial<Limits>;
  /** Password hashing; by default one of the server's own, closed by stop(). */
  hasher?: PasswordHasher;
}

const hostKeyMeta = "host_key_ed25519_pkcs8";

/** The store's host key, generated and saved on first use. */
export function storedHostKey(store: ChatStore): HostKey {
  const saved = store.getMeta(hostKeyMeta);
  if (saved) return HostKey.fromPkcs8(Buffer.from(saved, "base64"));
  const key = HostKey.generate();
  store.setMeta(hostKeyMeta, key.pkcs8().toString("base64"));
  return key;
}

export class ChatServer {
  private readonly server: Server;
  private readonly conns = new Map<number, { conn: Connection; session: Session }>();
  private readonly authenticated = new Set<number>();
  private nextId = 1;
  private readonly ctx: ServerContext;
  private readonly limits: Limits;
  private readonly admission: Admission;
  private readonly budget: OutputBudget;
  private readonly hasher: PasswordHasher;
  private stopping: Promise<void> | undefined;
  readonly model: ChatModel;
  /** Secure mode: the server's identity, which clients pin. */
  readonly hostKey: HostKey | undefined;

  constructor(private readonly opts: ServerOptions) {
    if (
      opts.mode === "classic" &&
      (opts.classicKey?.length !== 16 || opts.classicIv?.length !== 16)
    )
      throw new Error("classic mode needs a 16-byte key and IV");
    this.limits = { ...defaultLimits, ...defaultServerLimits, ...opts.limits };
    this.hostKey = opts.mode === "secure" ? (opts.hostKey ?? storedHostKey(opts.store)) : undefined;
    this.model = new ChatModel(opts.store, this.limits);
    this.hasher =
      opts.hasher ??
      new PasswordHasher({
        threads: this.limits.hashThreads,
        queuePerKey: this.limits.hashQueuePerAddress,
        queue: this.limits.hashQueue,
      });
    this.admission = new Admission(this.limits);
    this.budget = new OutputBudget(this.limits.outputBudget, this.limits.outputMinShare);
    const hub = new Hub();
    this.model.onMessage((channel, m) => hub.publish(channel, m));
    this.ctx = {
      model: this.model,
      auth: new Authenticator(opts.store, this.hasher, this.limits),
      provider: opts.provider,
      hub,
      log: opts.log,
      limits: this.limits,
      hostKey: this.hostKey,
      classicKey: opts.classicKey,
      classicIv: opts.classicIv,
      suites: opts.suites,
      loggedIn: (conn) => {
        if (this.authenticated.has(conn.id)) return;
        this.authenticated.add(conn.id);
        this.admission.authenticated(conn.address);
      },
    };
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => this.accept(s));
  }

  /** Listens; resolves with the bound address once connections are accepted. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off("error", reject);
        const a = this.server.address();
        if (!a || typeof a === "string") return reject(new Error("no TCP address"));
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  /** Bytes waiting to be sealed or sent, over every connection. */
  get outputBytes(): number {
    return this.budget.used;
  }

  private accept(socket: Socket): void {
    const id = this.nextId++;
    const log = this.opts.log.child(`conn#${id}`);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const address = addressGroup(socket.remoteAddress);
    const refused = this.admission.admit(address);
    if (refused) {
      log.warn(`refused ${address}: ${refused}`);
      if (this.opts.mode === "secure") socket.end(encodeClearAlert("too_many", refused));
      else socket.destroy();
      // Read (and drop) until the peer closes, so its FIN is seen; never linger.
      socket.on("error", () => {});
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    log.debug(`accepted from ${socket.remoteAddress}:${socket.remotePort}`);
    const conn = new Connection(id, socket, this.limits, log, this.budget);
    const session: Session =
      this.opts.mode === "secure"
        ? new SecureSession(conn, this.ctx)
        : new ClassicSession(conn, this.ctx);
    this.conns.set(id, { conn, session });
    conn.onClose(() => {
      this.conns.delete(id);
      this.admission.release(address, this.authenticated.delete(id));
      log.debug("closed");
    });
    socket.on("data", (chunk: Buffer) => session.onData(chunk));
    socket.on("end", () => session.onEnd());
  }

  /**
   * Stops: closes the listener, stops reading, commits queued sends,
   * answers what is queued, ends every connection (destroyed after
   * `graceMs`), then closes the store.
   */
  stop(graceMs = 3000): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((r) => this.server.close(() => r()));
      for (const { conn } of this.conns.values()) conn.stopReading();
      this.model.flush();
      await new Promise((r) => setImmediate(r));
      for (const { session } of this.conns.values()) session.shutdown();
      const deadline = Date.now() + graceMs;
      while (this.conns.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const { conn } of this.conns.values()) conn.destroy();
      await closed;
      this.model.flush();
      if (!this.opts.hasher) await this.hasher.close();
      this.opts.store.close();
    })();
    return this.stopping;
  }
}
