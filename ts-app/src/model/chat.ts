/**
 * The chat model both wire modes share: channels with member lists (the
 * creator is a member; others join by accepting an invitation, or, in
 * classic mode, are added by a member), messages numbered per channel from
 * 0, and the quotas on each (message size, rate and characters; channels
 * per user; pending invitations). Errors are ChatErrors with stable codes;
 * where existence is not meant to be public they are one answer: a channel
 * that does not exist and one the user is not a member of both give
 * `not_member`, and an invitation is answered the same whether or not the
 * invitee exists. Accounts and passwords are server/auth.ts's.
 *
 * Sends are batched: the ones arriving in the same event-loop turn go to the
 * store in one transaction (group commit); each send's promise resolves only
 * after that commit returned, i.e. once the message is durable.
 */
import { ChatError } from "../errors.ts";
import type { ChatMessage } from "../protocol/messages.ts";
import { KeyedBuckets, type Rate } from "../rate.ts";
import type { ChatStore, Invitation, NewMessage } from "../store/store.ts";

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

export function checkPassword(pw: string): void {
  if (!pw) throw new ChatError("bad_request", "empty password");
  if (Buffer.byteLength(pw) > limits.passwordMax)
    throw new ChatError("too_large", `password over ${limits.passwordMax} bytes`);
}

/**
 * C0 controls but tab and newline, DEL, C1 controls, and lone surrogates:
 * never part of a chat message (and each costs up to 6 bytes in JSON).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const forbiddenInText = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]|\p{Cs}/u;

export function checkText(text: string): void {
  if (Buffer.byteLength(text) > limits.textMax)
    throw new ChatError("too_large", `message over ${limits.textMax} bytes`);
  if (forbiddenInText.test(text))
    throw new ChatError("bad_request", "message text may not hold control characters");
}

/** What one account may do (defaults in server/limits.ts). */
export interface ModelQuotas {
  /** Messages sent per user. */
  messages: Rate;
  /** Channel creations tried per user (each may reveal whether a name is taken). */
  channelCreations: Rate;
  /** Channels a user may be a member of (created or accepted). */
  maxChannelsPerUser: number;
  /** Pending invitations to one user (more are dropped silently) and from one user. */
  maxInvitationsTo: number;
  maxInvitationsFrom: number;
}

const notMember = (user: string, channel: string) =>
  new ChatError("not_member", `${user} is not a member of any channel named ${channel}`);

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
  private readonly sendRate: KeyedBuckets;
  private readonly createRate: KeyedBuckets;

  constructor(
    private readonly store: ChatStore,
    private readonly quotas: ModelQuotas,
  ) {
    this.sendRate = new KeyedBuckets(quotas.messages);
    this.createRate = new KeyedBuckets(quotas.channelCreations);
  }

  /** Called after each durable message, in id order per channel. */
  onMessage(l: MessageListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  userExists(user: string): boolean {
    return this.store.getPasswordHash(user) !== undefined;
  }

  createChannel(creator: string, channel: string): void {
    checkName("channel", channel);
    if (!this.createRate.take(creator))
      throw new ChatError("too_many", "too many channels created: try again later");
    if (!this.userExists(creator)) throw new ChatError("auth_failed", "wrong user or password");
    this.checkChannelQuota(creator);
    if (!this.store.createChannel(channel, creator))
      throw new ChatError("channel_exists", `channel ${channel} already exists`);
  }

  /** Throws not_member unless `user` may use `channel` (also when it does not exist). */
  checkMember(user: string, channel: string): void {
    if (!this.store.isMember(channel, user)) throw notMember(user, channel);
  }

  isMember(user: string, channel: string): boolean {
    return this.store.isMember(channel, user);
  }

  /**
   * Invites `user` to `channel` (the inviter must be a member). The answer
   * is the same whether the invitee exists, is already a member or invited,
   * or has a full list of pending invitations: nothing is revealed.
   */
  invite(by: string, channel: string, user: string): void {
    this.checkMember(by, channel);
    checkName("user", user);
    if (this.store.countInvitationsFrom(by) >= this.quotas.maxInvitationsFrom)
      throw new ChatError(
        "too_many",
        `${by} has ${this.quotas.maxInvitationsFrom} invitations pending: wait for answers`,
      );
    if (
      !this.userExists(user) ||
      this.store.isMember(channel, user) ||
      this.store.countInvitationsTo(user) >= this.quotas.maxInvitationsTo
    )
      return;
    this.store.addInvitation(channel, user, by, Date.now());
  }

  invitations(user: string): Invitation[] {
    return this.store.invitationsOf(user);
  }

  accept(user: string, channel: string): void {
    this.checkChannelQuota(user);
    if (!this.store.acceptInvitation(channel, user))
      throw new ChatError("no_invitation", `no pending invitation to ${channel}`);
  }

  decline(user: string, channel: string): void {
    this.store.removeInvitation(channel, user);
  }

  /** Classic mode's ADD_USER (the seed's protocol has no invitations): a member adds a user. */
  addMember(by: string, channel: string, user: string): void {
    this.checkMember(by, channel);
    if (!this.userExists(user) || this.store.isMember(channel, user))
      throw new ChatError("bad_request", `cannot add ${user} to ${channel}`);
    this.checkChannelQuota(user);
    this.store.addMember(channel, user);
  }

  private checkChannelQuota(user: string): void {
    if (this.store.countChannelsOf(user) >= this.quotas.maxChannelsPerUser)
      throw new ChatError(
        "too_many",
        `${user} is in ${this.quotas.maxChannelsPerUser} channels, the most allowed`,
      );
  }

  /** Resolves once the message is durable, with the id it was given. */
  send(user: string, channel: string, text: string): Promise<ChatMessage> {
    try {
      this.checkMember(user, channel);
      checkText(text);
      if (!this.sendRate.take(user))
        throw new ChatError(
          "too_many",
          `over ${this.quotas.messages.perMinute} messages a minute: wait ${Math.ceil(
            this.sendRate.waitMs(user) / 1000,
          )} s`,
        );
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
