/**
 * Client commands, from a text line (`/send general hello there`, the
 * leading slash optional in scripts) or a JSON object
 * (`{"op":"send","channel":"general","text":"hello there"}`).
 */
import { ChatError } from "../errors.ts";

export type ClientCommand =
  | { op: "register" | "login"; user: string; password: string }
  | { op: "createChannel" | "subscribe" | "unsubscribe" | "accept" | "decline"; channel: string }
  | { op: "invite"; channel: string; user: string }
  | { op: "send"; channel: string; text: string }
  | { op: "read"; channel: string; msgId: number }
  | { op: "history"; channel: string; limit?: number; before?: number }
  | { op: "channels" | "invitations" | "ping" | "quit" | "help" }
  | { op: "wait"; ms: number }
  | { op: "waitPush"; channel: string; count: number; timeoutMs: number };

/** Text command names (and aliases) to ops. */
const aliases: Record<string, ClientCommand["op"]> = {
  register: "register",
  login: "login",
  create: "createChannel",
  createchannel: "createChannel",
  invite: "invite",
  add: "invite",
  accept: "accept",
  decline: "decline",
  invitations: "invitations",
  send: "send",
  read: "read",
  history: "history",
  join: "subscribe",
  subscribe: "subscribe",
  leave: "unsubscribe",
  unsubscribe: "unsubscribe",
  channels: "channels",
  ping: "ping",
  wait: "wait",
  waitfor: "waitPush",
  waitpush: "waitPush",
  quit: "quit",
  exit: "quit",
  help: "help",
};

export const commandHelp = `commands (a leading / is optional in scripts):
  /register USER PASSWORD      create an account
  /login USER PASSWORD         log in (once per connection)
  /create CHANNEL              create a channel (you become its first member)
  /invite CHANNEL USER         invite a user (members may invite; classic mode adds directly)
  /invitations                 your pending invitations
  /accept CHANNEL | /decline CHANNEL   answer an invitation
  /join CHANNEL                receive the channel's new messages live
  /leave CHANNEL               stop receiving them
  /send CHANNEL TEXT...        send a message
  /read CHANNEL N              read message number N (from 0)
  /history CHANNEL [N [BEFORE]]  the last N messages (before id BEFORE)
  /channels                    your channels and their last message ids
  /ping | /help | /quit
  /wait MS                     (scripts) pause
  /waitfor CHANNEL COUNT [MS]  (scripts) wait until COUNT pushed messages arrived
In the interactive client a line without / is sent to the last joined channel.`;

function int(s: string | undefined, what: string): number {
  const n = Number(s);
  if (s === undefined || s === "" || !Number.isSafeInteger(n))
    throw new ChatError("bad_request", `${what} must be an integer`);
  return n;
}

function need(words: string[], n: number, usage: string): void {
  if (words.length < n) throw new ChatError("bad_request", `usage: ${usage}`);
}

/** Parses one line; blank lines and # comments give undefined. */
export function parseCommand(line: string): ClientCommand | undefined {
  const t = line.trim();
  if (!t || t.startsWith("#")) return undefined;
  if (t.startsWith("{")) return parseJsonCommand(t);
  const body = t.startsWith("/") ? t.slice(1) : t;
  const words = body.split(/\s+/);
  const name = (words.shift() ?? "").toLowerCase();
  const op = aliases[name];
  if (!op) throw new ChatError("unknown_op", `unknown command '${name}' (try /help)`);
  switch (op) {
    case "register":
    case "login":
      need(words, 2, `${name} USER PASSWORD`);
      return { op, user: words[0]!, password: words[1]! };
    case "createChannel":
    case "subscribe":
    case "unsubscribe":
    case "accept":
    case "decline":
      need(words, 1, `${name} CHANNEL`);
      return { op, channel: words[0]! };
    case "invite":
      need(words, 2, "invite CHANNEL USER");
      return { op, channel: words[0]!, user: words[1]! };
    case "send": {
      need(words, 1, "send CHANNEL TEXT");
      // Keep the text's own spacing: everything after the channel word.
      const m = /^\S+\s+\S+\s?(.*)$/s.exec(body);
      return { op, channel: words[0]!, text: m?.[1] ?? "" };
    }
    case "read":
      need(words, 2, "read CHANNEL N");
      return { op, channel: words[0]!, msgId: int(words[1], "N") };
    case "history":
      need(words, 1, "history CHANNEL [N [BEFORE]]");
      return {
        op,
        channel: words[0]!,
        ...(words[1] !== undefined ? { limit: int(words[1], "N") } : {}),
        ...(words[2] !== undefined ? { before: int(words[2], "BEFORE") } : {}),
      };
    case "wait":
      need(words, 1, "wait MS");
      return { op, ms: int(words[0], "MS") };
    case "waitPush":
      need(words, 2, "waitfor CHANNEL COUNT [MS]");
      return {
        op,
        channel: words[0]!,
        count: int(words[1], "COUNT"),
        timeoutMs: words[2] !== undefined ? int(words[2], "MS") : 10_000,
      };
    default:
      return { op } as ClientCommand;
  }
}

function parseJsonCommand(t: string): ClientCommand {
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw new ChatError("bad_request", "line is not valid JSON");
  }
  if (typeof v !== "object" || v === null || typeof (v as { op?: unknown }).op !== "string")
    throw new ChatError("bad_request", 'a JSON command needs an "op"');
  const o = v as Record<string, unknown>;
  const op = Object.values(aliases).find((x) => x === o.op);
  if (!op) throw new ChatError("unknown_op", `unknown op ${JSON.stringify(o.op)}`);
  if (op === "waitPush" && o.timeoutMs === undefined) o.timeoutMs = 10_000;
  // Field types are checked by the server (secure) or the classic adapter.
  return o as unknown as ClientCommand;
}
