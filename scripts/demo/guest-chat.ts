import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "../lib/net.ts";
import { repoRoot } from "../lib/paths.ts";
import { guestArgs, startGuest } from "../vm/index.ts";
import { chatBundle, guestPort, inGuest } from "./config.ts";
import { type RunningChat, type ServerOptions, cpuProfArgs, secretArgs } from "./host-chat.ts";

export interface GuestChatOptions extends ServerOptions {
  /** Devices attached (default 1). */
  devices?: number;
  /** Seconds the VM may live at most (default 900). */
  timeoutS?: number;
  /** vCPUs of the guest. */
  smp?: number;
  /** The server's provider in the guest (default cryptodev on /dev/cryptodev0). */
  crypto?: "cryptodev" | "node";
  /** Secure mode: the only suites the server accepts (`--suites`; default all). */
  suites?: number[];
}

/** A folder under the repository (so the guest sees it at /lab/...), for run control files. */
async function runDir(): Promise<string> {
  const base = join(repoRoot, ".cache", "chat-runs");
  await mkdir(base, { recursive: true });
  return mkdtemp(join(base, "run-"));
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The chat server in the guest (on /dev/cryptodev0 unless crypto: node),
 * its port forwarded to a free 127.0.0.1 port on the host. stop() asks the
 * guest to stop it (a file the guest polls on the share) and returns the
 * guest's device counters (/sys/class/cryptodev/*), read after the server
 * closed.
 */
export async function startGuestChat(o: GuestChatOptions): Promise<RunningChat> {
  const port = await freePort();
  const dir = await runDir();
  const stopFile = join(dir, "stop");
  // The profile goes to the share first (the guest's disk is gone after).
  const profDir = join(dir, "prof");
  if (o.cpuProfDir) await mkdir(profDir);
  const server = [
    "node",
    ...cpuProfArgs(o.cpuProfDir && inGuest(profDir)),
    inGuest(chatBundle),
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
    // An emulated guest on a busy host: no 15 s login deadline for the
    // benchmark's many clients (it defends against outsiders, not measured).
    "--login-timeout",
    "600",
    ...(o.suites ? ["--suites", o.suites.join(",")] : []),
    ...secretArgs(o),
  ];
  const guestScript = [
    `${server.map(quote).join(" ")} &`,
    "S=$!",
    `while [ ! -e ${quote(inGuest(stopFile))} ] && kill -0 $S 2>/dev/null; do sleep 0.3; done`,
    "kill -TERM $S 2>/dev/null; wait $S; rc=$?",
    'for d in /sys/class/cryptodev/*; do [ -e "$d/requests" ] && echo "counters $(basename $d) requests=$(cat $d/requests) errors=$(cat $d/errors) bytes=$(cat $d/bytes)"; done',
    "exit $rc",
  ].join("\n");
  const guest = startGuest(
    guestArgs({
      devices: o.devices ?? 1,
      forwards: [{ hostPort: port, guestPort }],
      timeoutS: o.timeoutS ?? 900,
      ...(o.smp ? { smp: o.smp } : {}),
      command: ["sh", "-c", guestScript],
    }),
  );
  try {
    await guest.waitFor(/listening on /, 600_000, "the guest chat server did not start");
  } catch (e) {
    await guest.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    where: "guest",
    async stop() {
      await writeFile(stopFile, "stop\n");
      const late = await Promise.race([
        guest.done.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), 60_000).unref()),
      ]);
      if (late) await guest.stop();
      if (o.cpuProfDir) await cp(profDir, o.cpuProfDir, { recursive: true });
      await rm(dir, { recursive: true, force: true });
      return guest.stdout.text
        .split("\n")
        .filter((l) => l.startsWith("counters "))
        .join("\n");
    },
  };
}
