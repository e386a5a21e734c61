/**
 * Secure mode on one connection: handshake, then sealed request frames in,
 * sealed responses and pushes out, in sequence. Any framing, MAC or
 * sequence error ends this connection with a clear ALERT; nothing a peer
 * sends can affect another connection.
 */
import { ChatError } from "../errors.ts";
import { FrameKind, FrameReader, type Frame } from "../protocol/frames.ts";
import {
  errorResponse,
  okResponse,
  parseRequest,
  type ChatMessage,
  type Push,
  type Request,
  type Response,
} from "../protocol/messages.ts";
import {
  deriveSessionKeys,
  encodeAlert,
  encodeServerHello,
  newNonce,
  MAX_PLAINTEXT,
  open,
  parseClientHello,
  seal,
  serverConfirm,
  type SessionKeys,
} from "../protocol/secure.ts";
import type { Connection } from "./connection.ts";
import type { ServerContext, Session } from "./context.ts";

/** Room left in a frame for a history page (the rest of the answer is small). */
const responseBudget = MAX_PLAINTEXT - 1024;

/**
 * The newest messages of a page that fit in `budget` bytes of JSON, oldest
 * first: a client pages back with `before` = the first id it got.
 */
export function fitNewest(messages: ChatMessage[], budget: number): ChatMessage[] {
  let used = 0;
  let start = messages.length;
  while (start > 0) {
    const size = Buffer.byteLength(JSON.stringify(messages[start - 1])) + 1;
    if (used + size > budget) break;
    used += size;
    start--;
  }
  return messages.slice(start);
}

/** Failed logins after which the connection is closed. */
export const maxFailedLogins = 5;

export class SecureSession implements Session {
  private readonly reader = new FrameReader();
  private keys: SessionKeys | undefined;
  private recvSeq = 0;
  private sendSeq = 0;
  private out: Promise<void> = Promise.resolve();
  private user: string | undefined;
  private readonly subs = new Set<string>();
  private failed = false;
  private failedLogins = 0;

  constructor(
    private readonly conn: Connection,
    private readonly ctx: ServerContext,
  ) {
    conn.onTimeout = (kind) =>
      this.fail(
        new ChatError("timeout", kind === "idle" ? "idle timeout" : "frame not completed in time"),
      );
    conn.onClose(() => {
      for (const ch of this.subs) ctx.hub.unsubscribe(ch, conn.id);
    });
    conn.expectFrameNow();
  }

  onData(chunk: Buffer): void {
    if (this.failed) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e);
      return;
    }
    for (const f of frames) {
      this.conn.touch();
      this.conn.enqueue(() => this.handle(f));
    }
    if (frames.length) this.conn.frameCompleted(this.reader.pending);
    else this.conn.partial(this.reader.pending);
  }

  onEnd(): void {
    // Answer everything read (sends included, once durable), then close.
    void this.conn.settled().then(() => this.out.then(() => this.conn.end()));
  }

  shutdown(): void {
    void this.conn.settled().then(() => {
      if (this.keys && !this.failed) this.sendPush({ push: "shutdown" });
      return this.out.then(() => this.conn.end());
    });
  }

  private async handle(f: Frame): Promise<void> {
    try {
      if (this.failed) return;
      if (f.kind === FrameKind.ALERT) {
        this.conn.end();
        return;
      }
      if (!this.keys) {
        await this.handshake(f);
        return;
      }
      const keys = this.keys;
      const pt = await open(this.ctx.provider, keys.c2s, this.recvSeq, f);
      this.recvSeq++;
      const partial: { id?: number } = {};
      let req: Request;
      try {
        req = parseRequest(pt.toString("utf8"), partial);
      } catch (e) {
        if (partial.id === undefined) throw e;
        const ce = e as ChatError;
        this.sendResponse(errorResponse(partial.id, ce.code, ce.message));
        return;
      }
      await this.dispatch(req);
    } catch (e) {
      this.fail(e);
    } finally {
      this.conn.done();
    }
  }

  private async handshake(f: Frame): Promise<void> {
    const clientNonce = parseClientHello(f);
    const serverNonce = newNonce();
    const { provider, master } = this.ctx;
    if (!master) throw new ChatError("internal", "secure mode without a master key");
    const keys = await deriveSessionKeys(provider, master, clientNonce, serverNonce);
    const confirm = await serverConfirm(provider, keys, clientNonce, serverNonce);
    this.keys = keys;
    this.conn.write(encodeServerHello(serverNonce, confirm));
    this.conn.log.debug("handshake done");
  }

  /** Runs one request; errors of the chat model become error responses. */
  private async dispatch(req: Request): Promise<void> {
    const { model } = this.ctx;
    const reply = (r: Record<string, unknown> = {}) => this.sendResponse(okResponse(req.id, r));
    try {
      switch (req.op) {
        case "ping":
          return reply();
        case "register":
          await model.register(req.user, req.password);
          this.conn.log.info(`registered user ${req.user}`);
          return reply();
        case "login":
          if (this.user)
            throw new ChatError("already_logged_in", `already logged in as ${this.user}`);
          try {
            await model.authenticate(req.user, req.password);
          } catch (e) {
            // Password guessing costs a connection every few tries.
            if (++this.failedLogins >= maxFailedLogins) {
              this.conn.log.warn(`${this.failedLogins} failed logins: closing`);
              this.sendError(req.id, e);
              this.fail(new ChatError("too_many", "too many failed logins"));
              return;
            }
            throw e;
          }
          this.user = req.user;
          this.conn.log.info(`logged in as ${req.user}`);
          return reply({ user: req.user });
      }
      const user = this.user;
      if (!user) throw new ChatError("not_logged_in", `${req.op} needs a login first`);
      switch (req.op) {
        case "createChannel":
          model.createChannel(user, req.channel);
          return reply({ channel: req.channel });
        case "addMember":
          model.addMember(user, req.channel, req.user);
          return reply();
        case "send": {
          // Not awaited in the queue: later requests go on while the batch
          // commits; the ack leaves only once the message is durable.
          this.conn.enqueueDetached();
          model
            .send(user, req.channel, req.text)
            .then(
              (m) => this.sendResponse(okResponse(req.id, { msgId: m.id })),
              (e: unknown) => this.sendError(req.id, e),
            )
            .finally(() => this.conn.done());
          return;
        }
        case "read":
          return reply(model.read(user, req.channel, req.msgId));
        case "history": {
          const h = model.history(user, req.channel, req.before, req.limit);
          return reply({ ...h, messages: fitNewest(h.messages, responseBudget) });
        }
        case "subscribe": {
          model.checkMember(user, req.channel);
          if (!this.subs.has(req.channel) && this.subs.size >= this.ctx.maxSubscriptions)
            throw new ChatError("too_many", `at most ${this.ctx.maxSubscriptions} subscriptions`);
          this.subs.add(req.channel);
          this.ctx.hub.subscribe(req.channel, this.conn.id, (push) => this.sendBytes(push));
          return reply({ lastId: model.lastId(req.channel) });
        }
        case "unsubscribe":
          this.subs.delete(req.channel);
          this.ctx.hub.unsubscribe(req.channel, this.conn.id);
          return reply();
        case "channels":
          return reply({ channels: model.channelsOf(user) });
      }
    } catch (e) {
      this.sendError(req.id, e);
    }
  }

  private sendError(id: number, e: unknown): void {
    if (e instanceof ChatError) {
      this.sendResponse(errorResponse(id, e.code, e.message));
    } else {
      this.conn.log.error(`request ${id}: ${(e as Error).stack ?? String(e)}`);
      this.sendResponse(errorResponse(id, "internal", "internal server error"));
    }
  }

  private sendResponse(r: Response): void {
    const data = Buffer.from(JSON.stringify(r), "utf8");
    if (data.length > MAX_PLAINTEXT) {
      this.sendSealed(errorResponse(r.id, "too_large", "the answer would not fit in a frame"));
      return;
    }
    this.sendBytes(data);
  }

  private sendPush(p: Push): void {
    this.sendSealed(p);
  }

  /** Seals in order on the output chain; sequence numbers follow write order. */
  private sendSealed(obj: Response | Push): void {
    this.sendBytes(Buffer.from(JSON.stringify(obj), "utf8"));
  }

  private sendBytes(data: Buffer): void {
    const keys = this.keys;
    if (!keys || this.failed || this.conn.closed) return;
    this.out = this.out.then(async () => {
      if (this.conn.closed) return;
      try {
        this.conn.write(await seal(this.ctx.provider, keys.s2c, this.sendSeq++, data));
      } catch (e) {
        this.conn.log.error(`sealing failed: ${(e as Error).message}`);
        this.conn.destroy();
      }
    });
  }

  /** Ends the connection with a clear ALERT naming the error. */
  private fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const ce =
      e instanceof ChatError ? e : new ChatError("internal", (e as Error)?.message ?? String(e));
    if (ce.code === "internal")
      this.conn.log.error(`closing: ${(e as Error)?.stack ?? ce.message}`);
    else this.conn.log.info(`closing: ${ce.code}: ${ce.message}`);
    void this.out.then(() => this.conn.end(encodeAlert(ce.code, ce.message)));
  }
}
