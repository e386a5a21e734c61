/**
 * Typed errors of the chat. `ChatError` carries a stable machine-readable
 * code that travels on the wire (secure mode) and in the scripted client's
 * JSON output; the message is for humans.
 */
export const errorCodes = [
  "bad_request", // malformed request (missing or wrong-typed field, bad name)
  "unknown_op", // no such operation
  "not_logged_in", // the operation needs a login on this connection
  "already_logged_in", // login twice on one connection
  "auth_failed", // wrong user or password
  "user_exists",
  "no_such_user",
  "channel_exists",
  "no_such_channel",
  "not_member", // the logged-in user is not a member of the channel
  "already_member",
  "no_such_message",
  "too_large", // a field or message over its limit
  "too_many", // a per-connection limit (in-flight requests, subscriptions)
  "bad_frame", // framing error: length out of range, unknown kind
  "bad_mac", // frame authentication failed (wrong passphrase or tampering)
  "replay", // sequence number not the expected one
  "bad_hello", // handshake malformed or wrong version
  "timeout", // idle, handshake or slow-peer timeout
  "slow_consumer", // the peer does not read what it is sent
  "shutdown", // the server is stopping
  "internal", // a bug or an I/O failure on the server
] as const;
export type ErrorCode = (typeof errorCodes)[number];

export class ChatError extends Error {
  override readonly name = "ChatError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A failure of a crypto provider, with the errno when one is known. */
export class CryptoProviderError extends Error {
  override readonly name = "CryptoProviderError";
  constructor(
    message: string,
    readonly errno?: number,
  ) {
    super(message);
  }
}

/** The command line was wrong: exit code 2. */
export class ChatUsageError extends Error {
  override readonly name = "ChatUsageError";
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && (errorCodes as readonly string[]).includes(s);
}
