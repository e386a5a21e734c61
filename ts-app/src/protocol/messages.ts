/**
 * Secure mode, application messages: the JSON carried in sealed DATA records.
 *
 * Request  {"id": 7, "op": "send", "channel": "general", "text": "hi"}
 * Response {"id": 7, "ok": true, "msgId": 0}
 *          {"id": 7, "ok": false, "error": {"code": "not_member", "message": "..."}}
 * Push     {"push": "message", "channel": "general", "message": {id, user, text, ts}}
 * The client reports the server's authenticated `shutdown` alert as the push
 * {"push": "shutdown"}.
 */
import { ChatError, type ErrorCode } from "../errors.ts";

export interface ChatMessage {
  id: number;
  user: string;
  text: string;
  /** Milliseconds since the epoch, set by the server. */
  ts: number;
}

export type Request =
  | { id: number; op: "register"; user: string; password: string }
  | { id: number; op: "login"; user: string; password: string }
  | { id: number; op: "createChannel"; channel: string }
  | { id: number; op: "invite"; channel: string; user: string }
  | { id: number; op: "accept"; channel: string }
  | { id: number; op: "decline"; channel: string }
  | { id: number; op: "invitations" }
  | { id: number; op: "send"; channel: string; text: string }
  | { id: number; op: "read"; channel: string; msgId: number }
  | { id: number; op: "history"; channel: string; before?: number; limit?: number }
  | { id: number; op: "subscribe"; channel: string }
  | { id: number; op: "unsubscribe"; channel: string }
  | { id: number; op: "channels" }
  | { id: number; op: "ping" };

export type Op = Request["op"];
export const ops: readonly Op[] = [
  "register",
  "login",
  "createChannel",
  "invite",
  "accept",
  "decline",
  "invitations",
  "send",
  "read",
  "history",
  "subscribe",
  "unsubscribe",
  "channels",
  "ping",
];

export type Response =
  | ({ id: number; ok: true } & Record<string, unknown>)
  | { id: number; ok: false; error: { code: ErrorCode; message: string } };

export type Push =
  { push: "message"; channel: string; message: ChatMessage } | { push: "shutdown" };

/** Field rules per op: name of field -> type. */
const fields: Record<Op, Record<string, "string" | "int" | "int?">> = {
  register: { user: "string", password: "string" },
  login: { user: "string", password: "string" },
  createChannel: { channel: "string" },
  invite: { channel: "string", user: "string" },
  accept: { channel: "string" },
  decline: { channel: "string" },
  invitations: {},
  send: { channel: "string", text: "string" },
  read: { channel: "string", msgId: "int" },
  history: { channel: "string", before: "int?", limit: "int?" },
  subscribe: { channel: "string" },
  unsubscribe: { channel: "string" },
  channels: {},
  ping: {},
};

/**
 * Parses and type-checks a request. Throws ChatError("bad_request" or
 * "unknown_op"); `partialId` gets the id when one could be read, so the
 * error can still be answered.
 */
export function parseRequest(text: string, partialId: { id?: number } = {}): Request {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ChatError("bad_request", "request is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new ChatError("bad_request", "request is not an object");
  const o = v as Record<string, unknown>;
  if (!Number.isSafeInteger(o.id) || (o.id as number) < 0)
    throw new ChatError("bad_request", "request needs a non-negative integer id");
  partialId.id = o.id as number;
  const op = o.op;
  if (typeof op !== "string" || !(ops as readonly string[]).includes(op))
    throw new ChatError("unknown_op", `unknown op ${JSON.stringify(op)}`);
  const rules = fields[op as Op];
  const out: Record<string, unknown> = { id: o.id, op };
  for (const [name, type] of Object.entries(rules)) {
    const val = o[name];
    if (type === "string") {
      if (typeof val !== "string")
        throw new ChatError("bad_request", `${op}: '${name}' must be a string`);
    } else if (type === "int") {
      if (!Number.isSafeInteger(val))
        throw new ChatError("bad_request", `${op}: '${name}' must be an integer`);
    } else if (val !== undefined && !Number.isSafeInteger(val)) {
      throw new ChatError("bad_request", `${op}: '${name}' must be an integer`);
    }
    if (val !== undefined) out[name] = val;
  }
  return out as unknown as Request;
}

export function okResponse(id: number, result: Record<string, unknown> = {}): Response {
  return { ...result, id, ok: true };
}

export function errorResponse(id: number, code: ErrorCode, message: string): Response {
  return { id, ok: false, error: { code, message } };
}
