import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Mode } from "../../ts-app/e2e/scenario.ts";
import { LabError } from "../lib/errors.ts";
import { OutputWatch } from "../lib/output-watch.ts";
import { chatBundle, demoIv, demoKey } from "./config.ts";

/** A chat server running somewhere, reachable on 127.0.0.1:port. */
export interface RunningChat {
  port: number;
  where: "host" | "guest";
  /** Stops it (SIGTERM, then by force); resolves to extra output (guest counters). */
  stop(): Promise<string>;
}

export interface ServerOptions {
  mode: Mode;
  /** What an ack survives (the server's --durability; its default: process). */
  durability?: "process" | "power";
  /** Runs the server with node's --cpu-prof; its profile lands in this host folder. */
  cpuProfDir?: string;
}

/** node's flags for a CPU profile written to dir (on the server's exit). */
export function cpuProfArgs(dir: string | undefined): string[] {
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`] : [];
}

/** The server's secret options for the mode. */
export function secretArgs(o: ServerOptions): string[] {
  return o.mode === "secure" ? [] : ["--key", demoKey, "--iv", demoIv];
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** The chat server on the host (the bundle, node provider, a fresh database). */
export async function startHostChat(o: ServerOptions): Promise<RunningChat> {
  const dir = await mkdtemp(join(tmpdir(), "lab-chat-"));
  const child = spawn(
    process.execPath,
    [
      ...cpuProfArgs(o.cpuProfDir),
      chatBundle,
      "server",
      "--mode",
      o.mode,
      "--port",
      "0",
      "--crypto",
      "node",
      "--db",
      join(dir, "chat.db"),
      "--log-level",
      "warn",
      ...(o.durability ? ["--durability", o.durability] : []),
      ...secretArgs(o),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const out = new OutputWatch();
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const m = await Promise.race([
    out.match(/listening on [^\s:]+:(\d+)/),
    exitOf(child).then((c) => {
      throw new LabError(`the host chat server exited (${c}):\n${out.tail()}`);
    }),
  ]);
  return {
    port: Number(m[1]),
    where: "host",
    async stop() {
      const done = exitOf(child);
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(t);
      await rm(dir, { recursive: true, force: true });
      return "";
    },
  };
}
