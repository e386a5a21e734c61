import type { CryptoProvider } from "../crypto/provider.ts";
import type { Logger } from "../log.ts";
import type { ChatModel } from "../model/chat.ts";
import type { Hub } from "./hub.ts";

/** What a protocol session gets from the server. */
export interface ServerContext {
  model: ChatModel;
  provider: CryptoProvider;
  hub: Hub;
  log: Logger;
  /** Secure mode: scrypt(passphrase). */
  master?: Buffer;
  /** Classic mode: AES-128 key and IV. */
  classicKey?: Buffer;
  classicIv?: Buffer;
  /** Per-connection cap on channel subscriptions. */
  maxSubscriptions: number;
}

/** A wire protocol bound to one connection. */
export interface Session {
  onData(chunk: Buffer): void;
  /** The peer half-closed: answer what is queued, then close. */
  onEnd(): void;
  /** The server stops: tell the peer (if the protocol can), then close. */
  shutdown(): void;
}
