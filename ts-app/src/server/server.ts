/**
 * The chat server: a node:net listener, a registry of connections by a
 * never-reused numeric id, one protocol session per connection, and a clean
 * stop (no new connections, answer what is queued, commit pending sends,
 * tell secure clients, close).
 */
import { createServer, type Server, type Socket } from "node:net";
import type { CryptoProvider } from "../crypto/provider.ts";
import type { Logger } from "../log.ts";
import { ChatModel } from "../model/chat.ts";
import { encodeAlert } from "../protocol/secure.ts";
import type { ChatStore } from "../store/store.ts";
import { ClassicSession } from "./classic-session.ts";
import { Connection, defaultLimits, type ConnectionLimits } from "./connection.ts";
import type { ServerContext, Session } from "./context.ts";
import { Hub } from "./hub.ts";
import { SecureSession } from "./secure-session.ts";

export type Mode = "secure" | "classic";

export interface ServerOptions {
  mode: Mode;
  host: string;
  port: number;
  store: ChatStore;
  provider: CryptoProvider;
  log: Logger;
  /** Secure mode: the scrypt-derived master secret (see protocol/secure.ts). */
  master?: Buffer;
  /** Classic mode: AES-128 key and IV, 16 bytes each. */
  classicKey?: Buffer;
  classicIv?: Buffer;
  limits?: Partial<ConnectionLimits>;
  maxConnections?: number;
  maxSubscriptions?: number;
}

export class ChatServer {
  private readonly server: Server;
  private readonly conns = new Map<number, { conn: Connection; session: Session }>();
  private nextId = 1;
  private readonly ctx: ServerContext;
  private readonly limits: ConnectionLimits;
  private stopping: Promise<void> | undefined;
  readonly model: ChatModel;

  constructor(private readonly opts: ServerOptions) {
    if (opts.mode === "secure" && !opts.master) throw new Error("secure mode needs a master key");
    if (
      opts.mode === "classic" &&
      (opts.classicKey?.length !== 16 || opts.classicIv?.length !== 16)
    )
      throw new Error("classic mode needs a 16-byte key and IV");
    this.limits = { ...defaultLimits, ...opts.limits };
    this.model = new ChatModel(opts.store);
    const hub = new Hub();
    this.model.onMessage((channel, m) => hub.publish(channel, m));
    this.ctx = {
      model: this.model,
      provider: opts.provider,
      hub,
      log: opts.log,
      master: opts.master,
      classicKey: opts.classicKey,
      classicIv: opts.classicIv,
      maxSubscriptions: opts.maxSubscriptions ?? 64,
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

  private accept(socket: Socket): void {
    const id = this.nextId++;
    const log = this.opts.log.child(`conn#${id}`);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= (this.opts.maxConnections ?? 1024)) {
      log.warn("too many connections: refused");
      if (this.opts.mode === "secure") socket.end(encodeAlert("too_many", "server is full"));
      else socket.destroy();
      // Read (and drop) until the peer closes, so its FIN is seen; never linger.
      socket.on("error", () => {});
      socket.resume();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    log.debug(`accepted from ${socket.remoteAddress}:${socket.remotePort}`);
    const conn = new Connection(id, socket, this.limits, log);
    const session: Session =
      this.opts.mode === "secure"
        ? new SecureSession(conn, this.ctx)
        : new ClassicSession(conn, this.ctx);
    this.conns.set(id, { conn, session });
    conn.onClose(() => {
      this.conns.delete(id);
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
      this.opts.store.close();
    })();
    return this.stopping;
  }
}
