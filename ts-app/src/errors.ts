/**
 * Typed errors of the chat. `ChatError` carries a stable machine-readable
 * code that travels on the wire (secure mode) and in the scripted client's
 * JSON output; the message is for humans.
 */
export const errorCodes = [
  "bad_request", // malformed request (missing or wrong-typed field, bad name or text)
  "unknown_op", // no such operation
  "not_logged_in", // the operation needs a login on this connection
  "already_logged_in", // login twice on one connection
  "auth_failed", // wrong user or password (the same answer for an unknown user)
  "user_exists",
  "channel_exists",
  "not_member", // no such channel, or the user is not a member: one answer for both
  "no_invitation", // accept without a pending invitation to that channel
  "no_such_message",
  "too_large", // a field or message over its limit
  "too_many", // a limit or quota: connections, failed logins, rate, channels, subscriptions
  "busy", // the server's password-hashing queue is full: try again later
  "bad_frame", // framing error: length out of range, unknown kind
  "bad_mac", // frame authentication failed (tampering, or not the session's keys)
  "replay", // sequence number not the expected one
  "bad_hello", // handshake malformed, wrong version or mode, no common suite
  "bad_signature", // the server's handshake signature does not verify
  "host_key_mismatch", // the server's key is not the one pinned or recorded for it
  "unknown_host_key", // no key known for the server and first use is not trusted
  "timeout", // idle, handshake/login or slow-peer timeout
  "slow_consumer", // the peer does not read what it is sent
  "truncated", // the peer closed without an authenticated close
  "close", // an orderly close (authenticated), not an error
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

/** A file or directory for secrets that is not safe to use (owner, symlink, permissions). */
export class UnsafePathError extends Error {
  override readonly name = "UnsafePathError";
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

/** The command line was wrong: exit code 2. */
export class ChatUsageError extends Error {
  override readonly name = "ChatUsageError";
}

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === "string" && (errorCodes as readonly string[]).includes(s);
}

/**
 * Thrown by the stubs of the student's starter kit (`lab handout`): the code
 * of task `task` (Z1, Z2...) that `what` names is not written yet.
 */
export class NotImplementedError extends Error {
  override readonly name = "NotImplementedError";
  constructor(
    readonly task: string,
    readonly what: string,
  ) {
    super(`not implemented: ${task} ${what} (see STUDENT.md)`);
  }
}
