import type { ChatMessage } from "../protocol/messages.ts";

/** A message to append; the store numbers it (per channel, from 0). */
export interface NewMessage {
  channel: string;
  user: string;
  text: string;
  ts: number;
}

/** A pending invitation to a channel. */
export interface Invitation {
  channel: string;
  from: string;
  ts: number;
}

/** The wire mode a database belongs to: the two never share accounts. */
export type StoreMode = "secure" | "classic";

/**
 * What the chat model needs from persistence. Every mutating call is durable
 * when it returns, to the store's durability level (sqlite.ts: a process
 * crash by default, a power cut with "power").
 */
export interface ChatStore {
  getPasswordHash(user: string): string | undefined;
  /** false when the user exists. */
  createUser(user: string, passwordHash: string): boolean;
  /** Creates the channel with its creator as first member; false when it exists. */
  createChannel(channel: string, creator: string): boolean;
  isMember(channel: string, user: string): boolean;
  /** false when already a member. */
  addMember(channel: string, user: string): boolean;
  /** How many channels the user is a member of. */
  countChannelsOf(user: string): number;
  /** Records an invitation; false when one to that channel is already pending. */
  addInvitation(channel: string, user: string, from: string, ts: number): boolean;
  /** Pending invitations to `user`, oldest first. */
  invitationsOf(user: string): Invitation[];
  countInvitationsTo(user: string): number;
  countInvitationsFrom(user: string): number;
  /** Removes a pending invitation; false when there was none. */
  removeInvitation(channel: string, user: string): boolean;
  /** Removes the invitation and adds the member in one transaction; false without one. */
  acceptInvitation(channel: string, user: string): boolean;
  /** Appends a batch in one transaction; returns the ids given, in order. */
  appendMessages(batch: NewMessage[]): number[];
  getMessage(channel: string, id: number): ChatMessage | undefined;
  /** Highest message id of the channel, -1 when it has none. */
  lastMessageId(channel: string): number;
  /** Up to `limit` messages with id < before, ascending. */
  history(channel: string, before: number, limit: number): ChatMessage[];
  /** Channels the user is a member of, by name. */
  channelsOf(user: string): string[];
  /** Small named values: the database's mode, the server's host key. */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** The commit's sync level as the database reports it (SQLite: NORMAL or FULL). */
  syncLevel(): string;
  close(): void;
}
