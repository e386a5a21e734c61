/**
 * The interactive terminal client: /commands (see /help), plain lines go to
 * the current channel (the last one joined or created), pushed messages are
 * printed as they arrive, errors in words.
 */
import { createInterface } from "node:readline";
import type { ChatMessage } from "../protocol/messages.ts";
import { errorResult, type ClientBackend, type Result } from "./backends.ts";
import { commandHelp, parseCommand, type ClientCommand } from "./commands.ts";
import { PushCounter, execLocal } from "./scripted.ts";

function show(channel: string, m: ChatMessage): string {
  const t = new Date(m.ts).toISOString().slice(11, 19);
  return `[${channel} #${m.id} ${t}] ${m.user}: ${m.text}`;
}

function describe(cmd: ClientCommand, r: Result): string {
  if (!r.ok) return `error (${r.error.code}): ${r.error.message}`;
  switch (cmd.op) {
    case "read": {
      const m = r.message as ChatMessage;
      return `${show(cmd.channel, m)}   (last id ${String(r.lastId)})`;
    }
    case "history": {
      const ms = (r.messages as ChatMessage[]) ?? [];
      return ms.length ? ms.map((m) => show(cmd.channel, m)).join("\n") : "(no messages)";
    }
    case "channels": {
      const cs = (r.channels as { name: string; lastId: number }[]) ?? [];
      return cs.length
        ? cs.map((c) => `${c.name} (last id ${c.lastId})`).join("\n")
        : "(no channels)";
    }
    case "send":
      return `sent #${String(r.msgId)}`;
    case "subscribe":
      return `joined ${cmd.channel}; new messages appear as they arrive`;
    case "register":
      return typeof r.text === "string"
        ? r.text
        : `registered ${cmd.user}; now /login ${cmd.user} PASSWORD`;
    case "login":
      return `logged in as ${cmd.user}`;
    case "createChannel":
      return typeof r.text === "string"
        ? r.text
        : `created ${cmd.channel}; you are its first member`;
    case "addMember":
      return typeof r.text === "string" ? r.text : `added ${cmd.user} to ${cmd.channel}`;
    default:
      return typeof r.text === "string" ? r.text : "ok";
  }
}

export async function runInteractive(backend: ClientBackend, banner: string): Promise<number> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "> " });
  const print = (s: string) => {
    process.stdout.write(`\r\x1b[K${s}\n`);
    rl.prompt(true);
  };
  const pushes = new PushCounter();
  backend.onPush((p) => {
    if (p.push === "message") {
      pushes.add(p.channel);
      print(show(p.channel, p.message));
    } else print("* the server is shutting down");
  });
  let current: string | undefined;
  let lost = false;
  let quitting = false;
  void backend.closed().then((e) => {
    if (quitting) return;
    lost = true;
    print(`* connection closed${e ? `: ${e.message}` : ""}`);
    rl.close();
  });
  const keepalive =
    backend.mode === "secure"
      ? setInterval(() => void backend.exec({ op: "ping" }).catch(() => {}), 60_000)
      : undefined;
  keepalive?.unref();

  print(`${banner}\n/help lists the commands.`);
  for await (const line of rl) {
    let cmd: ClientCommand | undefined;
    try {
      const t = line.trim();
      if (t && !t.startsWith("/") && !t.startsWith("{")) {
        if (!current) {
          print("no current channel: /join CHANNEL first (or /send CHANNEL TEXT)");
          continue;
        }
        cmd = { op: "send", channel: current, text: line };
      } else cmd = parseCommand(line);
      if (!cmd) {
        rl.prompt();
        continue;
      }
      if (cmd.op === "quit") break;
      if (cmd.op === "help") {
        print(commandHelp);
        continue;
      }
      const r = await execLocal(backend, cmd, pushes);
      if (r.ok && (cmd.op === "subscribe" || cmd.op === "createChannel")) current = cmd.channel;
      print(describe(cmd, r));
    } catch (e) {
      if (cmd) print(describe(cmd, errorResult(e)));
      else print(describe({ op: "ping" }, errorResult(e)));
    }
    if (lost) break;
  }
  clearInterval(keepalive);
  quitting = true;
  rl.close();
  if (!lost) await backend.close();
  return lost ? 3 : 0;
}
