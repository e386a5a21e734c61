/**
 * Running the chat for the demo, the end-to-end test and the benchmark:
 * a server on the host (ts-app/dist/chat.mjs, node provider), a server in
 * the guest reached through a 127.0.0.1 forward, and the whole end-to-end
 * scenario (scenario.ts) with its guest half in the VM.
 *
 * Everything in the guest goes through `node bin/lab.mjs run` (the VM
 * helper's contract); the bundles come from `lab build app`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createNodeProvider } from "../../ts-app/src/crypto/node.ts";
import { trustOnFirstUse } from "../../ts-app/src/client/host-keys.ts";
import { LabError } from "../lib/errors.ts";
import { guestRepoPath, repoRoot } from "../lib/paths.ts";
import { playHost, type ClientView, type Connection, type Mode } from "./scenario.ts";

export const bundle = join(repoRoot, "ts-app", "dist", "chat.mjs");
export const scenarioBundle = join(repoRoot, "ts-app", "dist", "chat-scenario.mjs");
const labCli = join(repoRoot, "bin", "lab.mjs");

/** The guest's view of a repository path (the repo is shared at /lab). */
export function inGuest(hostPath: string): string {
  return `${guestRepoPath}/${relative(repoRoot, hostPath)}`;
}

/** Fixed demo secrets (classic mode): the demo and the tests need no user input. */
export const demoKey = "000102030405060708090a0b0c0d0e0f";
export const demoIv = "f0e1d2c3b4a5968778695a4b3c2d1e0f";

/** The port the chat listens on inside the guest. */
export const guestPort = 7777;

/** The guest port on which the host says "hana is done" (see guest-main.ts). */
export const guestDonePort = 7778;

/**
 * Tells the guest half that the host client is done: connects through the
 * forward until the guest acknowledges, the guest half exits, or 60 s pass.
 */
async function signalDone(hostPort: number, guestExited: Promise<unknown>): Promise<void> {
  const { connect } = await import("node:net");
  let over = false;
  void guestExited.then(() => (over = true));
  const deadline = Date.now() + 60_000;
  while (!over && Date.now() < deadline) {
    const acked = await new Promise<boolean>((resolve) => {
      const sock = connect(hostPort, "127.0.0.1");
      sock.once("data", () => {
        sock.destroy();
        resolve(true);
      });
      sock.once("error", () => resolve(false));
      sock.once("close", () => resolve(false));
    });
    if (acked) return;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A free TCP port on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      s.close(() =>
        typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port")),
      );
    });
  });
}

/** Collects a child's output; resolves `waitLine` when a line matches. */
class Output {
  text = "";
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  add(chunk: Buffer | string): void {
    this.text += chunk.toString();
    this.waiters = this.waiters.filter((w) => {
      const m = this.text.match(w.re);
      if (m) w.resolve(m);
      return !m;
    });
  }

  waitLine(re: RegExp): Promise<RegExpMatchArray> {
    const m = this.text.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve) => this.waiters.push({ re, resolve }));
  }

  tail(n = 30): string {
    return this.text.trimEnd().split("\n").slice(-n).join("\n");
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** `lab run ARGS`, its stdout and stderr collected (and never on a TTY). */
function spawnLabRun(args: string[]): { child: ChildProcess; out: Output; err: Output } {
  const child = spawn(process.execPath, [labCli, "run", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: process.env.CI ?? "true" },
  });
  const out = new Output();
  const err = new Output();
  child.stdout.on("data", (d: Buffer) => out.add(d));
  child.stderr.on("data", (d: Buffer) => err.add(d));
  return { child, out, err };
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<number | null> {
  const done = exitOf(child);
  const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await done;
  clearTimeout(t);
  return code;
}

/** A chat server running somewhere, reachable on 127.0.0.1:port. */
export interface RunningChat {
  port: number;
  where: "host" | "guest";
  /** Stops it (SIGTERM, then by force); resolves to extra output (guest counters). */
  stop(): Promise<string>;
}

export interface ServerOptions {
  mode: Mode;
}

function secretArgs(o: ServerOptions): string[] {
  return o.mode === "secure" ? [] : ["--key", demoKey, "--iv", demoIv];
}

/** The chat server on the host, node provider, a fresh database. */
export async function startHostChat(o: ServerOptions): Promise<RunningChat> {
  const dir = await mkdtemp(join(tmpdir(), "lab-chat-"));
  const child = spawn(
    process.execPath,
    [
      bundle,
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
      ...secretArgs(o),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const out = new Output();
  child.stdout.on("data", (d: Buffer) => out.add(d));
  child.stderr.on("data", (d: Buffer) => out.add(d));
  const m = await Promise.race([
    out.waitLine(/listening on [^\s:]+:(\d+)/),
    exitOf(child).then((c) => {
      throw new LabError(`the host chat server exited (${c}):\n${out.tail()}`);
    }),
  ]);
  return {
    port: Number(m[1]),
    where: "host",
    async stop() {
      child.kill("SIGTERM");
      await stopChild(child, 10_000);
      await rm(dir, { recursive: true, force: true });
      return "";
    },
  };
}

/** A folder under the repository (so the guest sees it at /lab/...), for run control files. */
async function runDir(): Promise<string> {
  const base = join(repoRoot, ".cache", "chat-runs");
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, "run-"));
}

export interface GuestOptions extends ServerOptions {
  /** Devices attached (default 1). */
  devices?: number;
  /** Seconds the VM may live at most. */
  timeoutS?: number;
  /** Extra `lab run` options (--accel, --smp...). */
  runArgs?: string[];
  /** The server's provider in the guest (default cryptodev on /dev/cryptodev0). */
  crypto?: "cryptodev" | "node";
}

/**
 * The chat server in the guest on /dev/cryptodev0, its port forwarded to a
 * free 127.0.0.1 port on the host. stop() asks the guest to stop it
 * (a file the guest polls on the share), and returns the guest's device
 * counters (/sys/class/cryptodev/*), printed after the server closed.
 */
export async function startGuestChat(o: GuestOptions): Promise<RunningChat> {
  const port = await freePort();
  const dir = await runDir();
  const stopFile = join(dir, "stop");
  const server = [
    "node",
    inGuest(bundle),
    "server",
    "--mode",
    o.mode,
    "--host",
    "0.0.0.0",
    "--port",
    String(guestPort),
    ...(o.crypto === "node"
      ? ["--crypto", "node"]
      : ["--crypto", "cryptodev", "--device", "/dev/cryptodev0"]),
    "--db",
    "/tmp/chat.db",
    "--log-level",
    "warn",
    ...secretArgs(o),
  ];
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const guestScript = [
    `${server.map(quote).join(" ")} &`,
    "S=$!",
    `while [ ! -e ${quote(inGuest(stopFile))} ] && kill -0 $S 2>/dev/null; do sleep 0.3; done`,
    "kill -TERM $S 2>/dev/null; wait $S; rc=$?",
    'for d in /sys/class/cryptodev/*; do [ -e "$d/requests" ] && echo "counters $(basename $d) requests=$(cat $d/requests) errors=$(cat $d/errors) bytes=$(cat $d/bytes)"; done',
    "exit $rc",
  ].join("\n");
  const timeoutS = o.timeoutS ?? 900;
  const { child, out, err } = spawnLabRun([
    "--devices",
    String(o.devices ?? 1),
    "--forward",
    `${port}:${guestPort}`,
    "--timeout",
    String(timeoutS),
    ...(o.runArgs ?? []),
    "--",
    "sh",
    "-c",
    guestScript,
  ]);
  await Promise.race([
    out.waitLine(/listening on /),
    exitOf(child).then((c) => {
      throw new LabError(
        `the guest chat server did not start (lab run exited ${c}):\n${err.tail()}\n${out.tail()}`,
      );
    }),
  ]);
  return {
    port,
    where: "guest",
    async stop() {
      await writeFile(stopFile, "stop\n");
      const code = await Promise.race([
        exitOf(child),
        new Promise<"late">((r) => setTimeout(() => r("late"), 60_000).unref()),
      ]);
      if (code === "late") {
        child.kill("SIGTERM");
        await stopChild(child, 15_000);
      }
      await rm(dir, { recursive: true, force: true });
      return out.text
        .split("\n")
        .filter((l) => l.startsWith("counters "))
        .join("\n");
    },
  };
}

/** What the guest half reports (guest-main.ts). */
export interface GuestReport {
  type: "guest-report";
  mode: Mode;
  views?: ClientView[];
  failure?: string;
  counters: {
    before: Record<string, Record<string, string>>;
    after: Record<string, Record<string, string>>;
  };
  serverExit: number | null;
}

export interface ScenarioResult {
  mode: Mode;
  guest?: GuestReport;
  host?: ClientView;
  hostError?: string;
  /** lab run's exit code (the guest half's). */
  exitCode: number | null;
  guestStderr: string;
}

/**
 * The end-to-end scenario: a VM with `devices` devices runs the server and
 * alice and bob (chat-scenario.mjs); hana plays from the host with the node
 * provider through the forward. Resolves when both halves are done.
 */
export async function runChatScenario(o: {
  mode: Mode;
  devices?: number;
  timeoutS?: number;
  runArgs?: string[];
}): Promise<ScenarioResult> {
  const port = await freePort();
  const donePort = await freePort();
  const timeoutS = o.timeoutS ?? 600;
  const secrets = o.mode === "secure" ? [] : ["--key", demoKey, "--iv", demoIv];
  const { child, out, err } = spawnLabRun([
    "--devices",
    String(o.devices ?? 2),
    "--forward",
    `${port}:${guestPort}`,
    "--forward",
    `${donePort}:${guestDonePort}`,
    "--timeout",
    String(timeoutS),
    ...(o.runArgs ?? []),
    "--",
    "node",
    inGuest(scenarioBundle),
    "--mode",
    o.mode,
    "--port",
    String(guestPort),
    "--timeout",
    String(Math.max(60, timeoutS - 60)),
    "--done-port",
    String(guestDonePort),
    ...secrets,
  ]);
  const exited = exitOf(child);

  const conn: Connection = {
    host: "127.0.0.1",
    port,
    mode: o.mode,
    ...(o.mode === "secure"
      ? { hostKeys: trustOnFirstUse() }
      : { key: Buffer.from(demoKey, "hex"), iv: Buffer.from(demoIv, "hex") }),
  };
  const provider = createNodeProvider();
  // Play hana until done, or until the guest side ended without her.
  let hostError: string | undefined;
  const host = await Promise.race([
    playHost(conn, provider, (timeoutS - 30) * 1000),
    exited.then(() => {
      throw new Error("the guest side ended before hana finished");
    }),
  ]).catch((e: unknown) => {
    hostError = (e as Error).message;
    return undefined;
  });
  await provider.close();
  // Tell the guest hana is done, so it may stop its server now.
  await signalDone(donePort, exited);
  const exitCode = await exited;
  let guest: GuestReport | undefined;
  for (const line of out.text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as { type?: string };
      if (j.type === "guest-report") guest = j as GuestReport;
    } catch {
      // not ours
    }
  }
  return { mode: o.mode, guest, host, hostError, exitCode, guestStderr: err.tail(60) };
}

/** Checks a scenario result; returns the problems (none: the chat went through). */
export function scenarioProblems(r: ScenarioResult): string[] {
  const p: string[] = [];
  if (r.hostError) p.push(`host client: ${r.hostError}`);
  if (!r.guest) p.push(`no report from the guest (lab run exited ${r.exitCode})`);
  else {
    if (r.guest.failure) p.push(`guest clients: ${r.guest.failure}`);
    if (r.guest.serverExit !== 0)
      p.push(`the guest's chat server exited ${r.guest.serverExit} on SIGTERM`);
  }
  if (r.exitCode !== 0) p.push(`lab run exited ${r.exitCode}`);
  return p;
}
