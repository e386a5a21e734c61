/**
 * The chat model both wire modes share: users with passwords, channels with
 * member lists (the creator is a member, members add members), messages
 * numbered per channel from 0. Errors are ChatErrors with stable codes.
 *
 * Sends are batched: the ones arriving in the same event-loop turn go to the
 * store in one transaction (group commit); each send's promise resolves only
 * after that commit returned, i.e. once the message is durable.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { ChatError } from "../errors.ts";
import type { ChatMessage } from "../protocol/messages.ts";
import type { ChatStore, NewMessage } from "../store/store.ts";
import { hashPassword, verifyPassword } from "./password.ts";

export const limits = {
  nameMax: 32,
  passwordMax: 256,
  textMax: 4096,
  historyMax: 200,
} as const;

const namePattern = /^[A-Za-z0-9_.-]+$/;

export function checkName(kind: "user" | "channel", name: string): void {
  if (!name) throw new ChatError("bad_request", `empty ${kind} name`);
  if (name.length > limits.nameMax)
    throw new ChatError("too_large", `${kind} name over ${limits.nameMax} characters`);
  if (!namePattern.test(name))
    throw new ChatError("bad_request", `${kind} name may hold only A-Z a-z 0-9 _ . -`);
}

function checkPassword(pw: string): void {
  if (!pw) throw new ChatError("bad_request", "empty password");
  if (Buffer.byteLength(pw) > limits.passwordMax)
    throw new ChatError("too_large", `password over ${limits.passwordMax} bytes`);
}

interface Pending {
  msg: NewMessage;
  resolve: (m: ChatMessage) => void;
  reject: (e: unknown) => void;
}

export type MessageListener = (channel: string, message: ChatMessage) => void;

export class ChatModel {
  private pending: Pending[] = [];
  private flushScheduled = false;
  private listeners = new Set<MessageListener>();
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Map<string, Buffer>();

  constructor(private readonly store: ChatStore) {}

  /** Called after each durable message, in id order per channel. */
  onMessage(l: MessageListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async register(user: string, password: string): Promise<void> {
    checkName("user", user);
    checkPassword(password);
    if (this.store.getPasswordHash(user) !== undefined)
      throw new ChatError("user_exists", `user ${user} already exists`);
    const hash = await hashPassword(password);
    if (!this.store.createUser(user, hash))
      throw new ChatError("user_exists", `user ${user} already exists`);
  }

  /**
   * Throws auth_failed for a wrong password or an unknown user alike.
   * Classic mode sends the password with every packet; so that each packet
   * does not cost a scrypt, a successful check is remembered as a keyed
   * digest (HMAC with a per-process random key, never the password).
   */
  async authenticate(user: string, password: string): Promise<void> {
    if (
      !user ||
      !password ||
      user.length > limits.nameMax ||
      Buffer.byteLength(password) > limits.passwordMax
    )
      throw new ChatError("auth_failed", "wrong user or password");
    const digest = createHmac("sha256", this.cacheKey)
      .update(user)
      .update("\0")
      .update(password)
      .digest();
    const known = this.verified.get(user);
    if (known && timingSafeEqual(known, digest)) return;
    const ok = await verifyPassword(password, this.store.getPasswordHash(user));
    if (!ok) throw new ChatError("auth_failed", "wrong user or password");
    if (this.verified.size >= 10_000) this.verified.clear();
    this.verified.set(user, digest);
  }

  userExists(user: string): boolean {
    return this.store.getPasswordHash(user) !== undefined;
  }

  createChannel(creator: string, channel: string): void {
    checkName("channel", channel);
    if (!this.userExists(creator)) throw new ChatError("no_such_user", `no user ${creator}`);
    if (!this.store.createChannel(channel, creator))
      throw new ChatError("channel_exists", `channel ${channel} already exists`);
  }

  /** Throws no_such_channel / not_member unless `user` may use `channel`. */
  checkMember(user: string, channel: string): void {
    if (!this.store.channelExists(channel))
      throw new ChatError("no_such_channel", `no channel ${channel}`);
    if (!this.store.isMember(channel, user))
      throw new ChatError("not_member", `${user} is not a member of ${channel}`);
  }

  isMember(user: string, channel: string): boolean {
    return this.store.isMember(channel, user);
  }

  addMember(by: string, channel: string, user: string): void {
    this.checkMember(by, channel);
    if (!this.userExists(user)) throw new ChatError("no_such_user", `no user ${user}`);
    if (!this.store.addMember(channel, user))
      throw new ChatError("already_member", `${user} is already a member of ${channel}`);
  }

  /** Resolves once the message is durable, with the id it was given. */
  send(user: string, channel: string, text: string): Promise<ChatMessage> {
    try {
      this.checkMember(user, channel);
      if (Buffer.byteLength(text) > limits.textMax)
        throw new ChatError("too_large", `message over ${limits.textMax} bytes`);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ msg: { channel, user, text, ts: Date.now() }, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits every queued send now (also used at shutdown). */
  flush(): void {
    this.flushScheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (!batch.length) return;
    let ids: number[];
    try {
      ids = this.store.appendMessages(batch.map((p) => p.msg));
    } catch (e) {
      for (const p of batch) p.reject(new ChatError("internal", `store: ${(e as Error).message}`));
      return;
    }
    batch.forEach((p, i) => {
      const m: ChatMessage = { id: ids[i]!, user: p.msg.user, text: p.msg.text, ts: p.msg.ts };
      p.resolve(m);
      for (const l of this.listeners) l(p.msg.channel, m);
    });
  }

  read(user: string, channel: string, id: number): { message: ChatMessage; lastId: number } {
    this.checkMember(user, channel);
    const lastId = this.store.lastMessageId(channel);
    const message = this.store.getMessage(channel, id);
    if (!message)
      throw new ChatError("no_such_message", `no message ${id} in ${channel} (last is ${lastId})`);
    return { message, lastId };
  }

  lastId(channel: string): number {
    return this.store.lastMessageId(channel);
  }

  history(
    user: string,
    channel: string,
    before: number | undefined,
    limit: number | undefined,
  ): { messages: ChatMessage[]; lastId: number } {
    this.checkMember(user, channel);
    const n = Math.min(Math.max(limit ?? 50, 1), limits.historyMax);
    const lastId = this.store.lastMessageId(channel);
    return { messages: this.store.history(channel, before ?? lastId + 1, n), lastId };
  }

  channelsOf(user: string): { name: string; lastId: number }[] {
    return this.store
      .channelsOf(user)
      .map((name) => ({ name, lastId: this.store.lastMessageId(name) }));
  }
}
