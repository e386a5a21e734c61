import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { type Server, type Socket, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { resolveAccel } from "./accel.ts";
import { LabError } from "./errors.ts";
import { commandFrame, dataFrames, eofFrame, parseStatusLine, type ExitStatus } from "./frames.ts";
import { initramfsCurrent, initramfsPath, nodeImagePath } from "./guest.ts";
import { kernelPresent, kernelVmlinuxPath } from "./kernel.ts";
import { debug } from "./log.ts";
import { guestRepoPath, patchedQemuPath, repoRoot } from "./paths.ts";
import { type Accel, type Share, buildQemuArgs, kernelCmdline } from "./qemu.ts";
import { selectQemu } from "./qemu-binary.ts";
import { Qmp } from "./qmp.ts";
import type { VmArgs } from "./run-args.ts";

/**
 * Running the guest: `runInGuest` (lab run) and `bootGuest` (lab boot).
 * QEMU connects to unix sockets this process listens on, in a private
 * temporary folder: the serial console, QMP, and the virtio-serial ports
 * of vm/guest/labexec.c.
 */

export interface RunIo {
  stdin: Readable | null;
  stdout: Writable;
  stderr: Writable;
  /** Aborting kills QEMU; the run resolves with 130 (lab run's SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export interface RunResult {
  code: number;
  /** One line saying why, when the run did not end with the command's own status. */
  reason?: string;
  accel: Accel;
  /** Milliseconds from QEMU's start to: the command starting to run (status port connected), and the end. */
  timings: { qemuStartMs: number; statusMs?: number; endMs: number };
}

const consoleKeep = 400;
const explainMax = 60;
const setpriv = "/usr/bin/setpriv";

/**
 * Makes sure the guest is built and current: missing parts are built, and
 * a stale initramfs (vm/init or labexec.c edited, pins changed) rebuilt.
 */
export async function ensureGuestBuilt(): Promise<void> {
  const missing =
    !kernelPresent() || [initramfsPath(), nodeImagePath()].some((p) => !existsSync(p));
  if (!missing && (await initramfsCurrent())) return;
  const { buildTargets } = await import("./build-runner.ts");
  await buildTargets(["guest"], { force: false });
}

/** Default device count: 1 when the patched QEMU exists, else 0. */
export function defaultDevices(): number {
  return existsSync(patchedQemuPath()) ? 1 : 0;
}

function shareList(args: VmArgs): Share[] {
  const shares: Share[] = [
    { tag: "lab", hostPath: repoRoot, guestPath: guestRepoPath, readonly: false },
  ];
  args.shares.forEach((s, i) => {
    const hostPath = resolve(s.hostPath);
    if (!existsSync(hostPath) || !statSync(hostPath).isDirectory())
      throw new LabError(`--share: ${hostPath} is not a folder`);
    shares.push({ tag: `share${i}`, hostPath, guestPath: s.guestPath, readonly: false });
  });
  return shares;
}

/**
 * Listens on every socket of `p` (resolves once all listen) and gives the
 * promise of their first connections, by name.
 */
async function listenAll(p: Prepared): Promise<{ conns: Promise<Map<string, Socket>> }> {
  const conns = [...p.servers].map(
    ([name, { server }]) =>
      new Promise<[string, Socket]>((res, rej) => {
        server.once("connection", (sock) => {
          server.close();
          res([name, sock]);
        });
        server.once("error", rej);
      }),
  );
  await Promise.all(
    [...p.servers.values()].map(
      ({ server, path }) =>
        new Promise<void>((res, rej) => {
          server.once("error", rej);
          server.listen(path, () => res());
        }),
    ),
  );
  const all = Promise.all(conns).then((e) => new Map(e));
  void all.catch(() => {});
  // Wrapped: an async function returning a promise would wait for it.
  return { conns: all };
}

/** Keeps the last lines of the serial console (and optionally the whole log in a file). */
export class ConsoleTail {
  lines: string[] = [];
  private partial = "";
  panicLine?: string;
  constructor(private readonly file?: Writable) {}
  push(d: Buffer): void {
    this.file?.write(d);
    const text = this.partial + d.toString("utf8");
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const l of parts) this.add(l);
  }
  private add(l: string): void {
    const line = l.replace(/\r/g, "");
    if (!this.panicLine && /Kernel panic - not syncing/.test(line)) this.panicLine = line.trim();
    this.lines.push(line);
    if (this.lines.length > consoleKeep) this.lines.shift();
  }
  finish(): void {
    if (this.partial) this.add(this.partial);
    this.partial = "";
  }
  /** The lines that explain a crash: from the first oops/panic marker kept, else the last 25. */
  explain(): string[] {
    const i = this.lines.findIndex((l) =>
      /(BUG:|Oops|Kernel panic|general protection fault|RIP:|Call Trace)/.test(l),
    );
    const from = i >= 0 ? Math.max(0, i - 2) : Math.max(0, this.lines.length - 25);
    const lines = this.lines.slice(from).filter((l) => l.trim() !== "");
    // A long trace: its start (what happened) and its end (the panic line).
    if (lines.length <= explainMax) return lines;
    const skipped = lines.length - explainMax;
    return [
      ...lines.slice(0, explainMax - 20),
      `  ... (${skipped} lines; --console FILE keeps them all)`,
      ...lines.slice(-20),
    ];
  }
}

interface Prepared {
  dir: string;
  qemuPath: string;
  args: string[];
  accel: Accel;
  servers: Map<string, { server: Server; path: string }>;
}

async function prepare(
  args: VmArgs,
  mode: "run" | "boot",
  verboseConsole: boolean,
): Promise<Prepared> {
  const devices = args.devices ?? defaultDevices();
  const qemu = selectQemu(devices);
  await ensureGuestBuilt();
  const accel = await resolveAccel(args.accel, qemu);
  const shares = shareList(args);
  const dir = await mkdtemp(join(tmpdir(), "lab-vm-"));
  const names =
    mode === "run"
      ? ["console", "qmp", "lab.cmd", "lab.out", "lab.err", "lab.status", "lab.ctl"]
      : ["qmp", "lab.ctl"];
  const servers = new Map<string, { server: Server; path: string }>();
  for (const n of names) servers.set(n, { server: createServer(), path: join(dir, `${n}.sock`) });
  const ports: Record<string, string> = {};
  for (const n of names) if (n.startsWith("lab.")) ports[n] = join(dir, `${n}.sock`);
  const cmdline = kernelCmdline({
    mode,
    shares,
    devices,
    net: args.net,
    node: true,
    verbose: verboseConsole,
    trace: process.env.LAB_TRACE_BOOT === "1",
  });
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
    kernel: kernelVmlinuxPath(),
    initrd: initramfsPath(),
    cmdline,
    nodeImage: nodeImagePath(),
    shares,
    devices,
    deviceOpts: args.deviceOpts,
    net: args.net ? { forwards: args.forwards } : null,
    sockets: {
      console: mode === "run" ? join(dir, "console.sock") : undefined,
      qmp: join(dir, "qmp.sock"),
      ports,
    },
    stdioConsole: mode === "boot",
  });
  debug(`${qemu.path} ${qemuArgs.join(" ")}`);
  return { dir, qemuPath: qemu.path, args: qemuArgs, accel, servers };
}

/** Serves the lab.ctl port: `device_del <id>` → QMP → "ok" / "error: ...". */
function serveCtl(sock: Socket, qmp: Promise<Qmp>): void {
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
  sock.on("error", () => {});
}

/**
 * Starts QEMU. Through `setpriv --pdeathsig KILL` when available, so QEMU
 * dies with this process even when it is SIGKILLed (a grader's timeout):
 * no orphaned guests.
 */
function startQemu(p: Prepared, stdio: "inherit" | "pipe"): ChildProcess {
  const [cmd, args] = existsSync(setpriv)
    ? [setpriv, ["--pdeathsig", "KILL", "--", p.qemuPath, ...p.args]]
    : [p.qemuPath, p.args];
  return spawn(cmd, args, {
    stdio: stdio === "inherit" ? "inherit" : ["ignore", "pipe", "pipe"],
    // lab run: its own process group, so a terminal's Ctrl-C reaches lab
    // (which kills QEMU and exits 130) rather than racing QEMU to the exit.
    detached: stdio === "pipe",
  });
}

/**
 * Boots the guest, runs `args.command` as root, streams its output, and
 * resolves with its exit code (124 on timeout, 255 when the guest or QEMU
 * dies first).
 */
export async function runInGuest(args: VmArgs, io: RunIo): Promise<RunResult> {
  const p = await prepare(args, "run", !!args.console);
  const consoleFile = args.console ? createWriteStream(args.console) : undefined;
  const tail = new ConsoleTail(consoleFile);
  let qemuStderr = "";
  // Listen before starting QEMU: it connects to each socket at startup.
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const { conns: sockets } = await listenAll(p);
  const qemu = startQemu(p, "pipe");
  // QEMU's own messages (kept short: only the last lines are ever shown).
  const keepQemu = (d: Buffer) => (qemuStderr = (qemuStderr + d.toString()).slice(-8192));
  qemu.stderr?.on("data", keepQemu);
  qemu.stdout?.on("data", keepQemu);
  const qemuExit = new Promise<{ code: number | null; signal: string | null }>((res) => {
    qemu.once("exit", (code, signal) => res({ code, signal }));
    qemu.once("error", (e) => {
      qemuStderr += `cannot start ${p.qemuPath}: ${e.message}\n`;
      res({ code: -1, signal: null });
    });
  });

  let timer: NodeJS.Timeout | undefined;
  let status: ExitStatus | undefined;
  let statusMs: number | undefined;
  const counts = { out: 0, err: 0 };
  let countsChanged = () => {};
  const cleanup = async () => {
    if (timer) clearTimeout(timer);
    if (qemu.exitCode === null && qemu.signalCode === null) qemu.kill("SIGKILL");
    await qemuExit;
    for (const { server } of p.servers.values()) server.close();
    await new Promise<void>((r) => (consoleFile ? consoleFile.end(r) : r()));
    await rm(p.dir, { recursive: true, force: true });
  };

  try {
    // Ends the run early: --timeout, or the caller's abort signal.
    const timedOut = new Promise<"timeout" | "interrupt">((res) => {
      if (args.timeoutS !== undefined)
        timer = setTimeout(() => res("timeout"), args.timeoutS * 1000);
      if (io.signal?.aborted) res("interrupt");
      io.signal?.addEventListener("abort", () => res("interrupt"), { once: true });
    });
    const conns = await Promise.race([
      sockets,
      qemuExit.then(() => undefined),
      timedOut.then(() => undefined),
    ]);
    if (!conns) {
      const result = await Promise.race([qemuExit.then(() => "exit" as const), timedOut]);
      const reason =
        result === "timeout"
          ? `timeout: QEMU did not start within ${args.timeoutS} s`
          : result === "interrupt"
            ? "interrupted; QEMU killed"
            : `QEMU exited before the guest started: ${qemuStderr.trim().split("\n").slice(-3).join(" | ")}`;
      return {
        code: result === "timeout" ? 124 : result === "interrupt" ? 130 : 255,
        reason,
        accel: p.accel,
        timings: { qemuStartMs: ms(), endMs: ms() },
      };
    }
    const qemuStartMs = ms();
    const get = (n: string) => conns.get(n) as Socket;
    for (const s of conns.values()) s.on("error", () => {});

    const consoleEnded = new Promise<void>((res) => {
      get("console").on("data", (d: Buffer) => tail.push(d));
      get("console").on("close", () => res());
    });
    const qmpReady = (async () => {
      const q = new Qmp(get("qmp"));
      await q.start();
      return q;
    })();
    void qmpReady.catch(() => {});
    serveCtl(get("lab.ctl"), qmpReady);

    // Output: copy to our stdout/stderr, with backpressure, counting bytes.
    const pipeOut = (sock: Socket, dest: Writable, key: "out" | "err") => {
      // A reader that went away (`lab run ... | head -1`, EPIPE): the rest
      // is counted and dropped, the run goes on to its exit status.
      let broken = false;
      dest.on("error", () => {
        broken = true;
        sock.resume();
      });
      sock.on("data", (d: Buffer) => {
        counts[key] += d.length;
        if (broken || dest.destroyed) {
          countsChanged();
          return;
        }
        if (!dest.write(d)) {
          sock.pause();
          dest.once("drain", () => sock.resume());
        }
        countsChanged();
      });
    };
    pipeOut(get("lab.out"), io.stdout, "out");
    pipeOut(get("lab.err"), io.stderr, "err");

    // The command, then stdin frames and EOF.
    const cmd = get("lab.cmd");
    cmd.write(commandFrame(args.cwd, args.command));
    if (io.stdin) {
      const stdin = io.stdin;
      stdin.on("data", (d: Buffer) => {
        for (const f of dataFrames(d)) if (!cmd.write(f)) stdin.pause();
      });
      cmd.on("drain", () => stdin.resume());
      stdin.on("end", () => cmd.write(eofFrame));
      stdin.on("error", () => cmd.write(eofFrame));
    } else {
      cmd.write(eofFrame);
    }

    const gotStatus = new Promise<void>((res) => {
      let buf = "";
      get("lab.status").on("data", (d: Buffer) => {
        buf += d.toString("utf8");
        const nl = buf.indexOf("\n");
        if (nl >= 0 && !status) {
          status = parseStatusLine(buf.slice(0, nl));
          statusMs = ms();
          res();
        }
      });
    });

    const first = await Promise.race([
      gotStatus.then(() => "status" as const),
      qemuExit.then(() => "exit" as const),
      timedOut,
    ]);
    if (first === "status" && status) {
      // Everything the command wrote is on its way: wait for the counted bytes.
      const st = status;
      await Promise.race([
        new Promise<void>((res) => {
          countsChanged = () => {
            if (counts.out >= st.outBytes && counts.err >= st.errBytes) res();
          };
          countsChanged();
        }),
        qemuExit,
        timedOut,
      ]);
      if (counts.out < st.outBytes || counts.err < st.errBytes)
        io.stderr.write(
          `lab: warning: output cut short (${counts.out}/${st.outBytes} stdout, ${counts.err}/${st.errBytes} stderr bytes)\n`,
        );
      await new Promise<void>((res) =>
        io.stdout.writableNeedDrain ? io.stdout.once("drain", res) : res(),
      );
      return { code: st.code, accel: p.accel, timings: { qemuStartMs, statusMs, endMs: ms() } };
    }
    if (first === "interrupt")
      return {
        code: 130,
        reason: "interrupted; QEMU killed",
        accel: p.accel,
        timings: { qemuStartMs, endMs: ms() },
      };
    if (first === "timeout") {
      return {
        code: 124,
        reason: `timeout: the run exceeded ${args.timeoutS} s; QEMU killed`,
        accel: p.accel,
        timings: { qemuStartMs, endMs: ms() },
      };
    }
    // QEMU died first: a panic (an oops too: oops=panic) or a QEMU crash.
    const ex = await qemuExit;
    await Promise.race([consoleEnded, new Promise((r) => setTimeout(r, 500))]);
    tail.finish();
    const why = tail.panicLine
      ? `guest kernel panic: ${tail.panicLine.replace(/^\[[^\]]*\]\s*/, "")}`
      : `QEMU exited (${ex.signal ?? `status ${ex.code}`}) before the command finished${
          qemuStderr.trim() ? `: ${qemuStderr.trim().split("\n").slice(-2).join(" | ")}` : ""
        }`;
    const lines = tail.explain();
    if (lines.length)
      io.stderr.write(`lab: last console lines:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
    return { code: 255, reason: why, accel: p.accel, timings: { qemuStartMs, endMs: ms() } };
  } finally {
    await cleanup();
  }
}

/** Interactive guest on this terminal (serial console; Ctrl-A X quits). Resolves QEMU's exit code. */
export async function bootGuest(args: VmArgs): Promise<number> {
  const p = await prepare(args, "boot", true);
  const { conns: sockets } = await listenAll(p);
  const qemu = startQemu(p, "inherit");
  const exit = new Promise<number>((res) => {
    qemu.once("exit", (code, sig) => res(code ?? (sig ? 128 : 1)));
    qemu.once("error", () => res(255));
  });
  const conns = await Promise.race([sockets, exit.then(() => undefined)]);
  if (conns) {
    for (const s of conns.values()) s.on("error", () => {});
    const qmpReady = (async () => {
      const q = new Qmp(conns.get("qmp") as Socket);
      await q.start();
      return q;
    })();
    void qmpReady.catch(() => {});
    serveCtl(conns.get("lab.ctl") as Socket, qmpReady);
  }
  const code = await exit;
  for (const { server } of p.servers.values()) server.close();
  await rm(p.dir, { recursive: true, force: true });
  return code;
}
