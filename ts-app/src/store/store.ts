import type { ChatMessage } from "../protocol/messages.ts";

/** A message to append; the store numbers it (per channel, from 0). */
export interface NewMessage {
  channel: string;
  user: string;
  text: string;
  ts: number;
}

/**
 * What the chat model needs from persistence. Every mutating call is durable
 * when it returns (the SQLite store commits with synchronous=FULL).
 */
export interface ChatStore {
  getPasswordHash(user: string): string | undefined;
  /** false when the user exists. */
  createUser(user: string, passwordHash: string): boolean;
  channelExists(channel: string): boolean;
  /** Creates the channel with its creator as first member; false when it exists. */
  createChannel(channel: string, creator: string): boolean;
  isMember(channel: string, user: string): boolean;
  /** false when already a member. */
  addMember(channel: string, user: string): boolean;
  /** Appends a batch in one transaction; returns the ids given, in order. */
  appendMessages(batch: NewMessage[]): number[];
  getMessage(channel: string, id: number): ChatMessage | undefined;
  /** Highest message id of the channel, -1 when it has none. */
  lastMessageId(channel: string): number;
  /** Up to `limit` messages with id < before, ascending. */
  history(channel: string, before: number, limit: number): ChatMessage[];
  /** Channels the user is a member of, by name. */
  channelsOf(user: string): string[];
  close(): void;
}
