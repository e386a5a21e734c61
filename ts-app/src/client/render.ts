/**
 * What the interactive client prints for results, pushes and errors. Every
 * string that came from the network (names, message texts, error messages)
 * goes through display.ts, so none can act on the terminal or forge a line.
 */
import { displayText, escapeControls as esc } from "../display.ts";
import type { Invitation } from "../store/store.ts";
import type { ChatMessage } from "../protocol/messages.ts";
import type { Result } from "./backends.ts";
import type { ClientCommand } from "./commands.ts";

export function renderMessage(channel: string, m: ChatMessage): string {
  const t = Number.isFinite(m.ts) ? new Date(m.ts).toISOString().slice(11, 19) : "??:??:??";
  return `[${esc(channel)} #${Number(m.id)} ${t}] ${esc(String(m.user))}: ${displayText(String(m.text))}`;
}

export function renderError(e: { code?: unknown; message?: unknown }): string {
  return `${esc(String(e.code ?? "error"))}: ${esc(String(e.message ?? ""))}`;
}

export function describeResult(cmd: ClientCommand, r: Result): string {
  if (!r.ok) return `error (${renderError(r.error)})`;
  const text = typeof r.text === "string" ? esc(r.text) : undefined;
  switch (cmd.op) {
    case "read": {
      const m = r.message as ChatMessage;
      return `${renderMessage(cmd.channel, m)}   (last id ${Number(r.lastId)})`;
    }
    case "history": {
      const ms = (r.messages as ChatMessage[]) ?? [];
      return ms.length ? ms.map((m) => renderMessage(cmd.channel, m)).join("\n") : "(no messages)";
    }
    case "channels": {
      const cs = (r.channels as { name: string; lastId: number }[]) ?? [];
      return cs.length
        ? cs.map((c) => `${esc(String(c.name))} (last id ${Number(c.lastId)})`).join("\n")
        : "(no channels)";
    }
    case "invitations": {
      const is = (r.invitations as Invitation[]) ?? [];
      return is.length
        ? is
            .map(
              (i) => `${esc(String(i.channel))} from ${esc(String(i.from))}: /accept or /decline`,
            )
            .join("\n")
        : "(no invitations)";
    }
    case "send":
      return `sent #${Number(r.msgId)}`;
    case "subscribe":
      return `joined ${esc(cmd.channel)}; new messages appear as they arrive`;
    case "register":
      return text ?? `registered ${esc(cmd.user)}; now /login ${esc(cmd.user)} PASSWORD`;
    case "login":
      return `logged in as ${esc(cmd.user)}`;
    case "createChannel":
      return text ?? `created ${esc(cmd.channel)}; you are its first member`;
    case "invite":
      return text ?? `invited ${esc(cmd.user)} to ${esc(cmd.channel)} (if that user exists)`;
    case "accept":
      return `joined ${esc(cmd.channel)} as a member; /join ${esc(cmd.channel)} to follow it`;
    default:
      return text ?? "ok";
  }
}
