/**
 * Classic mode on one connection: the seed's AN Protocol 2.0. Each request
 * is one 304-byte packet, AES-128-CBC encrypted with the configured key and
 * IV (CBC restarted per packet); each answer likewise. Requests on one
 * connection are answered in order; the peer may send several, or one and
 * close its side.
 *
 * The seed's bugs are fixed: every failure (validation, existing user or
 * channel, non-member, missing message, bad length, unknown command) answers
 * SERVER_FAILURE; 8-byte fields without a NUL are read as 8 characters.
 * There is no integrity in this mode (the seed has none): a wrong key gives
 * garbage requests, which get SERVER_FAILURE answers.
 *
 * Limits as in secure mode: a first successful request within the login
 * deadline (a silent or failing peer is closed), the per-account and
 * per-address login backoff, and the connection closed after a few failed
 * password checks.
 */
import { ChatError } from "../errors.ts";
import {
  Command,
  PacketReader,
  PacketType,
  answerPacket,
  bodyText,
  decodePacket,
  fieldText,
  type ClassicPacket,
} from "../protocol/classic.ts";
import type { Connection } from "./connection.ts";
import type { ServerContext, Session } from "./context.ts";

interface Answer {
  ok: boolean;
  text: string;
  id?: number;
}

export class ClassicSession implements Session {
  private readonly reader = new PacketReader();

  private succeeded = false;
  private failedLogins = 0;
  private closing = false;

  constructor(
    private readonly conn: Connection,
    private readonly ctx: ServerContext,
  ) {
    conn.onTimeout = () => conn.end();
    conn.startLoginDeadline(ctx.limits.loginTimeoutMs);
  }

  onData(chunk: Buffer): void {
    if (this.closing) return;
    const packets = this.reader.push(chunk);
    for (const p of packets) {
      this.conn.touch();
      this.conn.enqueue(() => this.handle(p));
    }
    if (packets.length) this.conn.frameCompleted(this.reader.pending);
    else this.conn.partial(this.reader.pending);
  }

  onEnd(): void {
    // A trailing partial packet cannot be answered: it is dropped.
    void this.conn.idle().then(() => this.conn.end());
  }

  shutdown(): void {
    void this.conn.idle().then(() => this.conn.end());
  }

  private async handle(wire: Buffer): Promise<void> {
    try {
      const { provider, classicKey, classicIv } = this.ctx;
      if (!classicKey || !classicIv) throw new ChatError("internal", "classic mode without key/IV");
      if (this.closing) return;
      const plain = await provider.aesCbcDecrypt(classicKey, classicIv, wire);
      const a = await this.execute(decodePacket(plain));
      this.conn.log.debug(`${a.ok ? "SUCCESS" : "FAILURE"}: ${a.text}`);
      if (a.ok && !this.succeeded) {
        this.succeeded = true;
        this.conn.loggedIn();
        this.ctx.loggedIn(this.conn);
      }
      const answer = answerPacket(a.ok, a.text, a.id ?? 0);
      this.conn.write(await provider.aesCbcEncrypt(classicKey, classicIv, answer));
      if (this.failedLogins >= this.ctx.limits.maxFailedLoginsPerConnection && !this.closing) {
        this.closing = true;
        this.conn.log.warn(`${this.failedLogins} failed password checks: closing`);
        this.conn.end();
      }
    } finally {
      this.conn.done();
    }
  }

  private async execute(p: ClassicPacket): Promise<Answer> {
    if (p.packetType !== PacketType.QUESTION) return { ok: false, text: "Failed Question" };
    const { model, auth } = this.ctx;
    const address = this.conn.address;
    const check = async (user: string, password: string) => {
      try {
        await auth.check(user, password, address);
      } catch (e) {
        if ((e as ChatError).code === "auth_failed") this.failedLogins++;
        throw e;
      }
    };
    const [a1, a2, a3, a4] = [p.arg1, p.arg2, p.arg3, p.arg4].map(fieldText) as [
      string,
      string,
      string,
      string,
    ];
    try {
      switch (p.command) {
        case Command.CREATE_USER:
          await auth.register(a1, a2, address);
          return { ok: true, text: "User created successfully." };
        case Command.CREATE_CHANNEL:
          // The seed asks no password here; the creator must exist, and a
          // password, when given, must be right.
          if (a2) await check(a1, a2);
          model.createChannel(a1, a3);
          return { ok: true, text: `Created channel ${a3}` };
        case Command.ADD_USER:
          await check(a1, a2);
          model.addMember(a1, a3, a4);
          return { ok: true, text: `added user ${a4} to ${a3}` };
        case Command.SEND: {
          await check(a1, a2);
          const text = bodyText(p);
          if (text === undefined) return { ok: false, text: `Bad length ${p.length} (0..260)` };
          const m = await model.send(a1, a3, text);
          return { ok: true, text: "Sent packet successfully", id: m.id };
        }
        case Command.READ: {
          await check(a1, a2);
          model.checkMember(a1, a3);
          const lastId = model.lastId(a3);
          try {
            const { message } = model.read(a1, a3, p.id);
            return { ok: true, text: `[${message.user}]\t ${message.text}`, id: lastId };
          } catch (e) {
            if (e instanceof ChatError) return { ok: false, text: "No such packet", id: lastId };
            throw e;
          }
        }
        default:
          return { ok: false, text: "Failed Question" };
      }
    } catch (e) {
      if (e instanceof ChatError) return { ok: false, text: classicText(e) };
      throw e;
    }
  }
}

/** The seed's answer texts where it had one, else the error's message. */
function classicText(e: ChatError): string {
  switch (e.code) {
    case "auth_failed":
      return "Failed to validate user";
    case "user_exists":
      return "User already exists";
    case "channel_exists":
      return "Channel already exists.";
    case "not_member":
      return "Access denied for that channel";
    default:
      return e.message;
  }
}
