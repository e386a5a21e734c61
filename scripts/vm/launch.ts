import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { type Server, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LabError } from "../lib/errors.ts";
import { debug } from "../lib/log.ts";
import { guestPathOf, guestRepoPath, patchedQemuPath, repoRoot } from "../lib/paths.ts";
import { nodeImagePath } from "../guest/artifacts.ts";
import { buildrootRootfsPath } from "../guest/buildroot.ts";
import { type GuestKernel, kernelArtifacts } from "../guest/flavour.ts";
import { resolveAccel } from "./accel.ts";
import { selectQemu } from "./binary.ts";
import { qemuFirmwareArgs } from "./firmware.ts";
import type { Rootfs, VmArgs } from "./options.ts";
import { type Accel, type Share, buildQemuArgs, kernelCmdline } from "./qemu-args.ts";
import { Qmp } from "./qmp.ts";

/**
 * Starting one guest: its QEMU command line, the unix sockets QEMU
 * connects to (in a private temporary folder: serial console, QMP, the
 * virtio-serial ports of vm/guest/labexec.c), the QEMU process itself, and
 * its teardown. `runGuest` and `bootGuest` are built on this.
 */

const setpriv = "/usr/bin/setpriv";

/**
 * Makes sure the guest is built and current: missing parts are built, and
 * a stale initramfs (vm/init or labexec.c edited, pins changed) rebuilt.
 * The Buildroot rootfs is built when missing; bringing it up to date after
 * an edit is `lab build rootfs-buildroot` (minutes, not a run's business).
 */
export async function ensureGuestBuilt(
  kernel: GuestKernel = "default",
  rootfs: Rootfs = "initramfs",
): Promise<void> {
  const k = kernelArtifacts(kernel);
  const targets = (await k.current()) ? [] : [...k.guestTargets];
  if (rootfs === "buildroot" && !existsSync(buildrootRootfsPath()))
    targets.push("noderoot", "rootfs-buildroot");
  if (!targets.length) return;
  const { buildTargets } = await import("../build/runner.ts");
  await buildTargets(targets, { force: false });
}

/** The initrd the guest boots: the kernel's initramfs, or the Buildroot rootfs. */
export function rootfsImage(rootfs: Rootfs, kernelInitrd: string): string {
  return rootfs === "buildroot" ? buildrootRootfsPath() : kernelInitrd;
}

/** Default device count: 1 when the patched QEMU exists, else 0. */
export function defaultDevices(): number {
  return existsSync(patchedQemuPath()) ? 1 : 0;
}

function shareList(args: VmArgs): Share[] {
  const lab = args.labShare ?? { hostPath: repoRoot, readonly: false };
  const shares: Share[] = [
    { tag: "lab", hostPath: lab.hostPath, guestPath: guestRepoPath, readonly: lab.readonly },
  ];
  args.shares.forEach((s, i) => {
    const hostPath = resolve(s.hostPath);
    if (!existsSync(hostPath) || !statSync(hostPath).isDirectory())
      throw new LabError(`--share: ${hostPath} is not a folder`);
    shares.push({ tag: `share${i}`, hostPath, guestPath: s.guestPath, readonly: false });
  });
  return shares;
}

export type Mode = "run" | "boot";

/** The sockets QEMU connects to, by name: console, qmp, and the lab.* ports. */
const socketNames: Record<Mode, string[]> = {
  run: ["console", "qmp", "lab.cmd", "lab.out", "lab.err", "lab.status", "lab.ctl"],
  boot: ["qmp", "lab.ctl"],
};

/** A started guest: QEMU running, its sockets connected (or QEMU gone first). */
export interface Launched {
  accel: Accel;
  qemu: ChildProcess;
  /** QEMU's exit; `code` -1 when it could not be started. */
  exit: Promise<{ code: number | null; signal: string | null }>;
  /** The first connection on each socket, once all are connected. */
  sockets: Promise<Map<string, Socket>>;
  /** QEMU's own stderr/stdout (last 8 KiB; empty in boot mode). */
  messages(): string;
  /** Kills QEMU (if running), closes the sockets, removes the folder. */
  dispose(): Promise<void>;
}

/**
 * Prepares the command line, listens on every socket, then starts QEMU
 * (through `setpriv --pdeathsig KILL` when available, so QEMU dies with
 * this process even when it is SIGKILLed: no orphaned guests).
 */
export async function launch(args: VmArgs, mode: Mode, verboseConsole: boolean): Promise<Launched> {
  const devices = args.devices ?? defaultDevices();
  const qemu = args.qemu?.binary
    ? { path: args.qemu.binary, firmwareArgs: qemuFirmwareArgs(), patched: true }
    : selectQemu(devices);
  await ensureGuestBuilt(args.kernel, args.rootfs);
  const k = kernelArtifacts(args.kernel);
  const accel = await resolveAccel(args.accel, qemu);
  const shares = shareList(args);
  const dir = await mkdtemp(join(tmpdir(), "lab-vm-"));
  const sock = (n: string) => join(dir, `${n}.sock`);
  const names = socketNames[mode];
  const ports = Object.fromEntries(
    names.filter((n) => n.startsWith("lab.")).map((n) => [n, sock(n)]),
  );
  const qemuArgs = buildQemuArgs({
    binary: qemu.path,
    firmwareArgs: qemu.firmwareArgs,
    accel,
    // LAB_BIOS=qboot.rom tries qboot instead of SeaBIOS (measured: no clear gain here).
    bios: process.env.LAB_BIOS || undefined,
    machine: args.machine,
    cpu: args.cpu ?? "max",
    smp: args.smp,
    memMiB: args.memMiB,
    kernel: k.image,
    initrd: rootfsImage(args.rootfs, k.initrd),
    cmdline: kernelCmdline({
      mode,
      shares,
      devices,
      net: args.net,
      node: true,
      verbose: verboseConsole,
      trace: process.env.LAB_TRACE_BOOT === "1",
      profiling: process.env.LAB_KERNEL_ARGS,
      ...(args.kernel === "default"
        ? {}
        : { driver: guestPathOf(k.driverModule), extra: k.cmdline }),
    }),
    nodeImage: nodeImagePath(),
    shares,
    devices,
    deviceOpts: args.deviceOpts,
    net: args.net ? { forwards: args.forwards } : null,
    sockets: { console: mode === "run" ? sock("console") : undefined, qmp: sock("qmp"), ports },
    stdioConsole: mode === "boot",
  });
  debug(`${qemu.path} ${qemuArgs.join(" ")}`);

  // Listen before starting QEMU: it connects to each socket at startup.
  const servers = new Map<string, Server>(names.map((n) => [n, createServer()]));
  const sockets = Promise.all(
    [...servers].map(
      ([name, server]) =>
        new Promise<[string, Socket]>((res, rej) => {
          server.once("connection", (s) => {
            server.close();
            s.on("error", () => {});
            res([name, s]);
          });
          server.once("error", rej);
        }),
    ),
  ).then((e) => new Map(e));
  void sockets.catch(() => {});
  await Promise.all(
    [...servers].map(
      ([name, server]) =>
        new Promise<void>((res, rej) => {
          server.once("error", rej);
          server.listen(sock(name), () => res());
        }),
    ),
  );

  const ro = [k.image, k.initrd, nodeImagePath(), qemu.path];
  const full = args.qemu?.wrap
    ? args.qemu.wrap([qemu.path, ...qemuArgs], {
        rw: [dir, ...shares.filter((s) => !s.readonly).map((s) => s.hostPath)],
        ro: [...ro, ...shares.filter((s) => s.readonly).map((s) => s.hostPath)],
      })
    : [qemu.path, ...qemuArgs];
  const [cmd, argv] = existsSync(setpriv)
    ? [setpriv, ["--pdeathsig", "KILL", "--", ...full]]
    : [full[0] as string, full.slice(1)];
  const child = spawn(cmd, argv, {
    stdio: mode === "boot" ? "inherit" : ["ignore", "pipe", "pipe"],
    // lab run: its own process group, so a terminal's Ctrl-C reaches lab
    // (which kills QEMU and exits 130) rather than racing QEMU to the exit.
    detached: mode === "run",
  });
  let messages = "";
  const keep = (d: Buffer) => (messages = (messages + d.toString()).slice(-8192));
  child.stderr?.on("data", keep);
  child.stdout?.on("data", keep);
  const exit = new Promise<{ code: number | null; signal: string | null }>((res) => {
    child.once("exit", (code, signal) => res({ code, signal }));
    child.once("error", (e) => {
      messages += `cannot start ${qemu.path}: ${e.message}\n`;
      res({ code: -1, signal: null });
    });
  });
  return {
    accel,
    qemu: child,
    exit,
    sockets,
    messages: () => messages,
    async dispose() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exit;
      for (const s of servers.values()) s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts QMP on its socket (the handshake runs in the background). */
export function startQmp(sock: Socket): Promise<Qmp> {
  const ready = (async () => {
    const q = new Qmp(sock);
    await q.start();
    return q;
  })();
  void ready.catch(() => {});
  return ready;
}

/** Serves the lab.ctl port: `device_del <id>` → QMP → "ok" / "error: ...". */
export function serveCtl(sock: Socket, qmp: Promise<Qmp>): void {
  let buf = "";
  let chain = Promise.resolve();
  sock.on("data", (d: Buffer) => {
    buf += d.toString("utf8");
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      chain = chain.then(async () => {
        const m = /^device_del\s+([A-Za-z0-9_.-]+)$/.exec(line);
        const reply = m
          ? await (await qmp).deviceDel(m[1] as string)
          : `error: unknown request '${line.slice(0, 60)}' (known: device_del <id>)`;
        if (!sock.destroyed) sock.write(reply + "\n");
      });
    }
  });
}
