/**
 * The interactive terminal client: /commands (see /help), plain lines go to
 * the current channel (the last one joined or created), pushed messages are
 * printed as they arrive, errors in words; everything from the network is
 * escaped for the terminal (render.ts).
 */
import { createInterface } from "node:readline";
import { errorResult, type ClientBackend } from "./backends.ts";
import { commandHelp, parseCommand, type ClientCommand } from "./commands.ts";
import { describeResult, renderError, renderMessage } from "./render.ts";
import { PushCounter, execLocal } from "./scripted.ts";

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
      print(renderMessage(p.channel, p.message));
    } else print("* the server is shutting down");
  });
  let current: string | undefined;
  let lost = false;
  let quitting = false;
  void backend.closed().then((e) => {
    if (quitting) return;
    lost = true;
    print(`* connection closed${e ? `: ${renderError(e)}` : ""}`);
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
      print(describeResult(cmd, r));
    } catch (e) {
      print(describeResult(cmd ?? { op: "ping" }, errorResult(e)));
    }
    if (lost) break;
  }
  clearInterval(keepalive);
  quitting = true;
  rl.close();
  if (!lost) await backend.close();
  return lost ? 3 : 0;
}
