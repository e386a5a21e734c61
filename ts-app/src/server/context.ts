import type { CryptoProvider } from "../crypto/provider.ts";
import type { Logger } from "../log.ts";
import type { ChatModel } from "../model/chat.ts";
import type { HostKey } from "../protocol/keys.ts";
import type { Suite } from "../protocol/secure.ts";
import type { Authenticator } from "./auth.ts";
import type { Connection } from "./connection.ts";
import type { Hub } from "./hub.ts";
import type { ServerLimits } from "./limits.ts";

/** What a protocol session gets from the server. */
export interface ServerContext {
  model: ChatModel;
  auth: Authenticator;
  provider: CryptoProvider;
  hub: Hub;
  log: Logger;
  limits: ServerLimits;
  /** Secure mode: the server's Ed25519 identity. */
  hostKey?: HostKey;
  /** Secure mode: the suites accepted (default: every one implemented). */
  suites?: Suite[];
  /** Classic mode: AES-128 key and IV. */
  classicKey?: Buffer;
  classicIv?: Buffer;
  /** The connection logged in: it leaves the unauthenticated caps. */
  loggedIn(conn: Connection): void;
}

/** A wire protocol bound to one connection. */
export interface Session {
  onData(chunk: Buffer): void;
  /** The peer half-closed: answer what is queued, then close. */
  onEnd(): void;
  /** The server stops: tell the peer (if the protocol can), then close. */
  shutdown(): void;
}
