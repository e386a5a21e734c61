/**
 * The scripted client: commands from a file or stdin, one per line (text or
 * JSON), run in order, each awaited; every result and every pushed message
 * is one JSON line on stdout:
 *
 *   {"type":"result","n":3,"op":"send","ok":true,"msgId":0}
 *   {"type":"result","n":4,"op":"read","ok":false,"error":{"code":"not_member","message":"..."}}
 *   {"type":"push","channel":"general","message":{"id":0,"user":"bob","text":"hi","ts":...}}
 *   {"type":"closed","error":{"code":"bad_mac","message":"..."}}   (server closed the connection)
 *
 * The JSON escapes DEL, C1 and bidi controls too (display.ts), which a
 * terminal showing it would otherwise act on.
 *
 * Exit code: 0 when every command succeeded, 1 when one failed, 3 when the
 * connection failed or was closed by the server.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { safeJson } from "../display.ts";
import { ChatError } from "../errors.ts";
import type { ClientBackend, Result } from "./backends.ts";
import { errorResult } from "./backends.ts";
import { parseCommand, type ClientCommand } from "./commands.ts";

export interface ScriptOptions {
  /** A file path, or "-" for stdin. */
  source: string;
  write?: (line: string) => void;
  /** After the last command, keep printing pushes for this long. */
  lingerMs?: number;
}

/** Counts pushed messages per channel and wakes waiters. */
class PushCounter {
  private counts = new Map<string, number>();
  private waiters: { channel: string; count: number; wake: () => void }[] = [];

  add(channel: string): void {
    this.counts.set(channel, (this.counts.get(channel) ?? 0) + 1);
    this.waiters = this.waiters.filter((w) => {
      if ((this.counts.get(w.channel) ?? 0) < w.count) return true;
      w.wake();
      return false;
    });
  }

  wait(channel: string, count: number, timeoutMs: number): Promise<boolean> {
    if ((this.counts.get(channel) ?? 0) >= count) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.wake !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push({ channel, count, wake });
    });
  }

  get(channel: string): number {
    return this.counts.get(channel) ?? 0;
  }
}

export async function runScript(backend: ClientBackend, opts: ScriptOptions): Promise<number> {
  const write = opts.write ?? ((l: string) => process.stdout.write(l + "\n"));
  const pushes = new PushCounter();
  backend.onPush((p) => {
    if (p.push === "message") {
      write(safeJson({ type: "push", channel: p.channel, message: p.message }));
      pushes.add(p.channel);
    } else {
      write(safeJson({ type: "push", push: p.push }));
    }
  });
  let lost: Error | undefined | null = null;
  void backend.closed().then((e) => {
    lost = e;
  });

  const input = opts.source === "-" ? process.stdin : createReadStream(opts.source);
  const rl = createInterface({ input, crlfDelay: Infinity });
  let failed = false;
  let n = 0;
  for await (const line of rl) {
    n++;
    let cmd: ClientCommand | undefined;
    let result: Result;
    try {
      cmd = parseCommand(line);
      if (!cmd) continue;
      if (cmd.op === "quit") break;
      result = await execLocal(backend, cmd, pushes);
    } catch (e) {
      result = errorResult(e);
    }
    if (!result.ok) failed = true;
    write(safeJson({ type: "result", n, op: cmd?.op ?? null, ...result }));
    if (lost !== null) break;
  }
  rl.close();
  if (opts.lingerMs) await new Promise((r) => setTimeout(r, opts.lingerMs));
  if (lost !== null) {
    const e = lost as Error | undefined;
    write(
      safeJson({
        type: "closed",
        ...(e
          ? errorResult(e)
          : { ok: false, error: { code: "closed", message: "server closed the connection" } }),
      }),
    );
    return 3;
  }
  await backend.close();
  return failed ? 1 : 0;
}

/** Client-side commands (wait, waitPush, help), else the backend. */
export async function execLocal(
  backend: ClientBackend,
  cmd: ClientCommand,
  pushes: {
    wait(channel: string, count: number, timeoutMs: number): Promise<boolean>;
    get(channel: string): number;
  },
): Promise<Result> {
  switch (cmd.op) {
    case "wait":
      await new Promise((r) => setTimeout(r, cmd.ms));
      return { ok: true };
    case "waitPush": {
      const got = await pushes.wait(cmd.channel, cmd.count, cmd.timeoutMs);
      if (!got)
        throw new ChatError(
          "timeout",
          `${pushes.get(cmd.channel)} of ${cmd.count} messages pushed on ${cmd.channel} in ${cmd.timeoutMs} ms`,
        );
      return { ok: true, count: pushes.get(cmd.channel) };
    }
    case "help":
    case "quit":
      return { ok: true };
    default:
      return backend.exec(cmd);
  }
}

export { PushCounter };
