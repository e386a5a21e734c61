/**
 * The two wire modes behind one interface for the interactive and scripted
 * clients: a command in, a result object out ({ok: true, ...} or
 * {ok: false, error: {code, message}}).
 */
import { ChatError } from "../errors.ts";
import type { CryptoProvider } from "../crypto/provider.ts";
import { Command, FIELD_SIZE } from "../protocol/classic.ts";
import type { Push } from "../protocol/messages.ts";
import type { Suite } from "../protocol/secure.ts";
import { ClassicClient } from "./classic-client.ts";
import type { ClientCommand } from "./commands.ts";
import type { HostKeyPolicy } from "./host-keys.ts";
import { SecureClient } from "./secure-client.ts";

export type Result =
  | ({ ok: true } & Record<string, unknown>)
  | { ok: false; error: { code: string; message: string } };

export interface ClientBackend {
  readonly mode: "secure" | "classic";
  exec(cmd: ClientCommand): Promise<Result>;
  onPush(fn: (p: Push) => void): void;
  /** Resolves when the server closed the connection (with the cause if any). */
  closed(): Promise<Error | undefined>;
  close(): Promise<void>;
}

export function errorResult(e: unknown): Result {
  if (e instanceof ChatError) return { ok: false, error: { code: e.code, message: e.message } };
  const err = e as NodeJS.ErrnoException;
  return { ok: false, error: { code: err.code ?? "internal", message: err.message ?? String(e) } };
}

export async function connectSecure(opts: {
  host: string;
  port: number;
  provider: CryptoProvider;
  hostKeys: HostKeyPolicy;
  suites?: Suite[];
}): Promise<ClientBackend & { serverKey: string }> {
  const c = await SecureClient.connect(opts);
  return {
    mode: "secure",
    serverKey: c.serverKey,
    async exec(cmd) {
      const { op, ...params } = cmd;
      const r = await c.request(op, params);
      const { id: _id, ...rest } = r;
      return rest as Result;
    },
    onPush(fn) {
      c.onPush = fn;
    },
    closed: () => c.closed(),
    close: () => c.close(),
  };
}

function field(name: string, v: string): string {
  if (Buffer.byteLength(v) > FIELD_SIZE)
    throw new ChatError("too_large", `${name} '${v}' does not fit classic mode's 8-byte field`);
  return v;
}

/**
 * Classic mode has no login: credentials are kept by the client and sent in
 * every packet, as the seed's protocol requires. No live pushes either, and
 * no invitations: ADD_USER adds a member directly. A connection the server
 * closed (its login deadline, or one request per connection as in the seed)
 * is opened again for the next request.
 */
export async function connectClassic(opts: {
  host: string;
  port: number;
  provider: CryptoProvider;
  key: Buffer;
  iv: Buffer;
}): Promise<ClientBackend> {
  let c = await ClassicClient.connect(opts);
  let user = "";
  let password = "";
  let closedCause: Promise<Error | undefined> | undefined;
  let closeWaiter = () => {};
  const creds = () => {
    if (!user)
      throw new ChatError(
        "not_logged_in",
        "log in first (classic mode sends credentials with each request)",
      );
    return { arg1: user, arg2: password };
  };
  const answer = async (
    f: Parameters<ClassicClient["request"]>[0],
    extra?: (id: number, text: string) => Record<string, unknown>,
  ) => {
    if (c.isClosed) c = await ClassicClient.connect(opts);
    const a = await c.request(f);
    if (!a.ok) return { ok: false, error: { code: "server_failure", message: a.text } } as Result;
    return { ok: true, text: a.text, ...(extra ? extra(a.id, a.text) : {}) } as Result;
  };
  return {
    mode: "classic",
    async exec(cmd) {
      switch (cmd.op) {
        case "register":
          return answer({
            command: Command.CREATE_USER,
            arg1: field("user", cmd.user),
            arg2: field("password", cmd.password),
          });
        case "login":
          user = field("user", cmd.user);
          password = field("password", cmd.password);
          return { ok: true, user };
        case "createChannel":
          return answer({
            command: Command.CREATE_CHANNEL,
            ...creds(),
            arg3: field("channel", cmd.channel),
          });
        case "invite":
          return answer({
            command: Command.ADD_USER,
            ...creds(),
            arg3: field("channel", cmd.channel),
            arg4: field("user", cmd.user),
          });
        case "send": {
          const body = Buffer.from(cmd.text, "utf8");
          if (body.length > 259)
            throw new ChatError("too_large", "classic mode messages hold at most 259 bytes");
          return answer(
            { command: Command.SEND, ...creds(), arg3: field("channel", cmd.channel), body },
            (id) => ({ msgId: id }),
          );
        }
        case "read":
          return answer(
            {
              command: Command.READ,
              ...creds(),
              arg3: field("channel", cmd.channel),
              id: cmd.msgId,
            },
            (lastId, text) => {
              const m = /^\[([^\]]*)\]\t (.*)$/s.exec(text);
              return {
                lastId,
                message: { id: cmd.msgId, user: m?.[1] ?? "", text: m?.[2] ?? text },
              };
            },
          );
        case "accept":
        case "decline":
        case "invitations":
          throw new ChatError(
            "unknown_op",
            `${cmd.op}: classic mode has no invitations (invite adds the member directly)`,
          );
        default:
          throw new ChatError("unknown_op", `${cmd.op} is not available in classic mode`);
      }
    },
    onPush() {},
    closed() {
      // The server closing an idle classic connection is not the end: the
      // next request reconnects. Resolves only when this side closes.
      closedCause ??= new Promise<undefined>((r) => (closeWaiter = () => r(undefined)));
      return closedCause;
    },
    close: async () => {
      await c.close();
      closeWaiter();
    },
  };
}
