/**
 * Secure mode on one connection: the handshake (protocol/handshake.ts),
 * then sealed records both ways: requests in; responses, pushes and a
 * final alert out, in sequence. Until the handshake is done only a hello
 * of at most MAX_HELLO_FRAME bytes is read; until a login, frames of at
 * most PREAUTH_MAX_FRAME and only register, login and ping; the whole must
 * happen within the login deadline. Every error after the handshake ends
 * the connection with an authenticated alert, an orderly end with the
 * `close` alert; nothing a peer sends can affect another connection.
 */
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { ChatError } from "../errors.ts";
import { FrameKind, FrameReader, MAX_FRAME, type Frame } from "../protocol/frames.ts";
import { MAX_HELLO_FRAME, serverHandshake } from "../protocol/handshake.ts";
import {
  errorResponse,
  okResponse,
  parseRequest,
  type ChatMessage,
  type Request,
  type Response,
} from "../protocol/messages.ts";
import {
  ContentType,
  MAX_PLAINTEXT,
  alertBody,
  encodeClearAlert,
  open,
  parseAlertBody,
  seal,
  type SessionKeys,
} from "../protocol/secure.ts";
import type { Connection, TimeoutKind } from "./connection.ts";
import type { ServerContext, Session } from "./context.ts";

/** Records the output chain seals before it lets the event loop run (I/O) again. */
const SEALS_PER_TURN = 32;

/** Largest frame before a login: a register or login request with its longest fields. */
export const PREAUTH_MAX_FRAME = 2048;

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

const timeoutText: Record<TimeoutKind, string> = {
  idle: "idle timeout",
  frame: "frame not completed in time",
  login: "no handshake and login in time",
};

export class SecureSession implements Session {
  private readonly reader = new FrameReader(MAX_HELLO_FRAME);
  private keys: SessionKeys | undefined;
  private recvSeq = 0;
  private sendSeq = 0;
  private out: Promise<void> = Promise.resolve();
  private user: string | undefined;
  private readonly subs = new Set<string>();
  /** No more input is handled (an error, or the peer's close). */
  private inputEnded = false;
  /** The final alert is queued: nothing more is sent. */
  private finalQueued = false;
  private failedLogins = 0;
  /** Records queued on the output chain and not yet sealed. */
  private pendingRecords = 0;
  /** Records sealed since the output chain last let the event loop run. */
  private sealedSinceYield = 0;

  constructor(
    private readonly conn: Connection,
    private readonly ctx: ServerContext,
  ) {
    conn.onTimeout = (kind) => this.fail(new ChatError("timeout", timeoutText[kind]));
    conn.onClose(() => {
      for (const ch of this.subs) ctx.hub.unsubscribe(ch, conn.id);
    });
    conn.expectFrameNow();
    conn.startLoginDeadline(ctx.limits.loginTimeoutMs);
  }

  onData(chunk: Buffer): void {
    if (this.inputEnded) return;
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
    void this.conn.settled().then(() => this.close("close", "end of session"));
  }

  shutdown(): void {
    void this.conn.settled().then(() => this.close("shutdown", "the server is stopping"));
  }

  private async handle(f: Frame): Promise<void> {
    try {
      if (this.inputEnded) return;
      if (!this.keys) {
        await this.handshake(f);
        return;
      }
      const rec = await open(this.ctx.provider, this.keys.c2s, this.recvSeq, f);
      this.recvSeq++;
      if (rec.type === ContentType.ALERT) {
        const a = parseAlertBody(rec.body);
        if (a.code !== "close") this.conn.log.info(`peer closed with ${a.code}`);
        this.inputEnded = true;
        this.onEnd();
        return;
      }
      const partial: { id?: number } = {};
      let req: Request;
      try {
        req = parseRequest(rec.body.toString("utf8"), partial);
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
    if (f.kind === FrameKind.ALERT) {
      this.inputEnded = true;
      this.conn.end();
      return;
    }
    if (f.kind !== FrameKind.HELLO) throw new ChatError("bad_hello", "expected a client hello");
    const { provider, hostKey } = this.ctx;
    if (!hostKey) throw new ChatError("internal", "secure mode without a host key");
    const hs = await serverHandshake(provider, hostKey, f, this.ctx.suites);
    this.keys = hs.keys;
    this.reader.setMaxFrame(PREAUTH_MAX_FRAME);
    this.conn.write(hs.reply);
    this.conn.log.debug(`handshake done, suite ${hs.suite}`);
  }

  /** Runs one request; errors of the chat model become error responses. */
  private async dispatch(req: Request): Promise<void> {
    const { model, auth } = this.ctx;
    const reply = (r: Record<string, unknown> = {}) => this.sendResponse(okResponse(req.id, r));
    try {
      switch (req.op) {
        case "ping":
          return reply();
        case "register":
          await auth.register(req.user, req.password, this.conn.address);
          this.conn.log.info(`registered user ${req.user}`);
          return reply();
        case "login":
          return await this.login(req.id, req.user, req.password);
      }
      const user = this.user;
      if (!user) throw new ChatError("not_logged_in", `${req.op} needs a login first`);
      switch (req.op) {
        case "createChannel":
          model.createChannel(user, req.channel);
          return reply({ channel: req.channel });
        case "invite":
          model.invite(user, req.channel, req.user);
          return reply();
        case "invitations":
          return reply({ invitations: model.invitations(user) });
        case "accept":
          model.accept(user, req.channel);
          return reply({ channel: req.channel, lastId: model.lastId(req.channel) });
        case "decline":
          model.decline(user, req.channel);
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
          const max = this.ctx.limits.maxSubscriptions;
          if (!this.subs.has(req.channel) && this.subs.size >= max)
            throw new ChatError("too_many", `at most ${max} subscriptions`);
          this.subs.add(req.channel);
          this.ctx.hub.subscribe(req.channel, this.conn.id, (push) =>
            this.sendRecord(ContentType.DATA, push),
          );
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

  private async login(id: number, user: string, password: string): Promise<void> {
    if (this.user) throw new ChatError("already_logged_in", `already logged in as ${this.user}`);
    try {
      await this.ctx.auth.check(user, password, this.conn.address);
    } catch (e) {
      const max = this.ctx.limits.maxFailedLoginsPerConnection;
      if ((e as ChatError).code === "auth_failed" && ++this.failedLogins >= max) {
        this.conn.log.warn(`${this.failedLogins} failed logins: closing`);
        this.sendError(id, e);
        this.fail(new ChatError("too_many", "too many failed logins"));
        return;
      }
      throw e;
    }
    this.user = user;
    this.conn.loggedIn();
    this.ctx.loggedIn(this.conn);
    this.reader.setMaxFrame(MAX_FRAME);
    this.conn.log.info(`logged in as ${user}`);
    this.sendResponse(okResponse(id, { user }));
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
    let data = Buffer.from(JSON.stringify(r), "utf8");
    if (data.length > MAX_PLAINTEXT)
      data = Buffer.from(
        JSON.stringify(errorResponse(r.id, "too_large", "the answer would not fit in a frame")),
      );
    this.sendRecord(ContentType.DATA, data);
  }

  /** Queues one record (a response or a push); nothing after the final alert. */
  private sendRecord(type: ContentType, data: Buffer): void {
    if (this.finalQueued) return;
    this.queueSeal(type, data);
  }

  /**
   * Seals in order on the output chain (sequence numbers follow write
   * order). A peer whose records pile up faster than they are sealed
   * (pushes outrunning the cipher) is dropped; written frames count in the
   * connection's and the server's output limits (connection.ts).
   */
  private queueSeal(type: ContentType, data: Buffer): Promise<void> {
    const keys = this.keys;
    if (!keys || this.conn.closed) return this.out;
    if (++this.pendingRecords > this.ctx.limits.maxPendingRecords) {
      this.conn.log.warn(`${this.pendingRecords} records waiting to be sealed: dropping the peer`);
      this.conn.destroy();
      return this.out;
    }
    this.out = this.out.then(async () => {
      try {
        if (!this.conn.closed)
          this.conn.write(await seal(this.ctx.provider, keys.s2c, this.sendSeq++, type, data));
        // A provider that answers at once (node:crypto) would seal a whole
        // burst (a group commit's pushes) in one turn of the event loop,
        // with no chance for the socket to drain: every few records the
        // chain lets I/O run, so a peer that reads keeps within its share
        // of the output budget.
        if (++this.sealedSinceYield >= SEALS_PER_TURN) {
          this.sealedSinceYield = 0;
          await yieldToLoop();
        }
      } catch (e) {
        this.conn.log.error(`sealing failed: ${(e as Error).message}`);
        this.conn.destroy();
      } finally {
        this.pendingRecords--;
      }
    });
    return this.out;
  }

  /** Ends the connection: after what is queued, the alert (sealed once keys exist), then FIN. */
  private close(code: ChatError["code"], message: string): void {
    if (this.finalQueued) return;
    this.finalQueued = true;
    this.inputEnded = true;
    if (!this.keys) {
      this.conn.end(code === "close" ? undefined : encodeClearAlert(code, message));
      return;
    }
    void this.queueSeal(ContentType.ALERT, alertBody(code, message)).then(() => this.conn.end());
  }

  /** Ends the connection with an alert naming the error. */
  private fail(e: unknown): void {
    if (this.finalQueued) return;
    const ce =
      e instanceof ChatError ? e : new ChatError("internal", (e as Error)?.message ?? String(e));
    if (ce.code === "internal")
      this.conn.log.error(`closing: ${(e as Error)?.stack ?? ce.message}`);
    else this.conn.log.info(`closing: ${ce.code}: ${ce.message}`);
    this.close(ce.code, ce.code === "internal" ? "internal server error" : ce.message);
  }
}
