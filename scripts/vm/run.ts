import { createWriteStream } from "node:fs";
import type { Socket } from "node:net";
import { type Readable, Writable } from "node:stream";
import { ConsoleTail } from "./console.ts";
import type { Splat } from "./splat.ts";
import {
  type ExitStatus,
  ackFrame,
  commandFrame,
  dataFrames,
  eofFrame,
  parseStatusLine,
} from "./frames.ts";
import { type Launched, launch, serveCtl, startQmp } from "./launch.ts";
import type { VmArgs } from "./options.ts";
import type { Accel } from "./qemu-args.ts";

/**
 * `runGuest`: boots the guest, runs one command as root in it, streams or
 * collects its stdout and stderr, and resolves with its exit code (124 on
 * timeout, 130 when aborted, 255 when the guest kernel or QEMU dies first).
 * The one way to run the guest from code: `lab run`, the benchmarks, the
 * demo and every VM test use it.
 */

export interface GuestIo {
  /** Passed to the command; none: the command's stdin is at EOF at once. */
  stdin?: Readable | null;
  /** Where the command's output goes; none: collected into the result. */
  stdout?: Writable;
  stderr?: Writable;
  /** Aborting kills QEMU; the run resolves with 130. */
  signal?: AbortSignal;
}

export interface RunResult {
  code: number;
  /** One line saying why, when the run did not end with the command's own status. */
  reason?: string;
  accel: Accel;
  /** The command's output, when `io` gave no stream for it (else ""). */
  stdout: string;
  stderr: string;
  /** The last lines of the guest's serial console. */
  console: ConsoleTail;
  /**
   * Kernel checker reports seen on the console (lockdep, KASAN, KFENCE,
   * UBSAN, atomic sleep, hung tasks...). Any makes the run fail: `code` is
   * then the command's own when non-zero, else 1, and `reason` names the
   * first report and the test it happened in.
   */
  splats: readonly SplatReport[];
  /** Milliseconds from QEMU's start to: its sockets connected, the command's status, the end. */
  timings: { qemuStartMs: number; statusMs?: number; endMs: number };
}

/** A checker report and the test it is charged to. */
export interface SplatReport extends Splat {
  /** The `lab-test:` marker before it, else the command with the last stdout line before it. */
  during: string;
}

/** Output kept when collecting (beyond it, counted and dropped, with a note). */
const collectMax = 64 * 1024 * 1024;

class Collector extends Writable {
  chunks: Buffer[] = [];
  size = 0;
  dropped = 0;
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    if (this.size + c.length <= collectMax) {
      this.chunks.push(c);
      this.size += c.length;
    } else this.dropped += c.length;
    cb();
  }
  text(): string {
    const t = Buffer.concat(this.chunks).toString("utf8");
    return this.dropped ? `${t}\n[lab: ${this.dropped} more bytes of output dropped]\n` : t;
  }
}

/** Copies a port's data to `dest` with backpressure, counting bytes. */
function pipeOutput(sock: Socket, dest: Writable, counted: (n: number) => void): void {
  // A reader that went away (`lab run ... | head -1`, EPIPE): the rest is
  // counted and dropped, the run goes on to its exit status.
  let broken = false;
  dest.on("error", () => {
    broken = true;
    sock.resume();
  });
  sock.on("data", (d: Buffer) => {
    if (!broken && !dest.destroyed && !dest.write(d)) {
      sock.pause();
      dest.once("drain", () => sock.resume());
    }
    counted(d.length);
  });
}

/**
 * Sends the command frame, then stdin as data frames and EOF; the function
 * returned stops forwarding stdin (the command has exited).
 */
function feedCommand(cmd: Socket, args: VmArgs, stdin: Readable | null | undefined): () => void {
  cmd.write(commandFrame(args.cwd, args.command));
  if (!stdin) {
    cmd.write(eofFrame);
    return () => {};
  }
  let stopped = false;
  const onData = (d: Buffer) => {
    for (const f of dataFrames(d)) if (!cmd.write(f)) stdin.pause();
  };
  const onDrain = () => stdin.resume();
  const eof = () => {
    if (!stopped) cmd.write(eofFrame);
  };
  stdin.on("data", onData);
  cmd.on("drain", onDrain);
  stdin.on("end", eof);
  stdin.on("error", eof);
  return () => {
    stopped = true;
    stdin.off("data", onData);
    cmd.off("drain", onDrain);
    stdin.pause();
  };
}

/** The first status line on lab.status (a malformed one reads as status 255). */
function readStatus(sock: Socket, err: Writable): Promise<ExitStatus> {
  return new Promise((res) => {
    let buf = "";
    let done = false;
    sock.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl < 0 || done) return;
      done = true;
      const line = buf.slice(0, nl);
      const st = parseStatusLine(line);
      if (!st) err.write(`lab: malformed status line from the guest: ${line.slice(0, 80)}\n`);
      res(st ?? { code: 255, outBytes: 0, errBytes: 0 });
    });
  });
}

/** Resolves "timeout" after `timeoutS`, "interrupt" when `signal` aborts. */
function deadline(
  timeoutS: number | undefined,
  signal: AbortSignal | undefined,
): { ended: Promise<"timeout" | "interrupt">; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<"timeout" | "interrupt">((res) => {
    if (timeoutS !== undefined) timer = setTimeout(() => res("timeout"), timeoutS * 1000);
    if (signal?.aborted) res("interrupt");
    signal?.addEventListener("abort", () => res("interrupt"), { once: true });
  });
  return { ended, clear: () => timer && clearTimeout(timer) };
}

/** Why QEMU went away before the command finished, and the console lines that show it. */
async function explainDeath(
  g: Launched,
  tail: ConsoleTail,
  consoleEnded: Promise<void>,
): Promise<{ reason: string; lines: string[] }> {
  const ex = await g.exit;
  await Promise.race([consoleEnded, new Promise((r) => setTimeout(r, 500))]);
  tail.finish();
  const msgs = g.messages().trim();
  const reason = tail.panicLine
    ? `guest kernel panic: ${tail.panicLine.replace(/^\[[^\]]*\]\s*/, "")}`
    : `QEMU exited (${ex.signal ?? `status ${ex.code}`}) before the command finished${
        msgs ? `: ${msgs.split("\n").slice(-2).join(" | ")}` : ""
      }`;
  return { reason, lines: tail.explain() };
}

export async function runGuest(args: VmArgs, io: GuestIo = {}): Promise<RunResult> {
  const out = io.stdout ?? new Collector();
  const err = io.stderr ?? new Collector();
  const tail = new ConsoleTail(args.console ? createWriteStream(args.console) : undefined);
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const g = await launch(args, "run", !!args.console);
  const limit = deadline(args.timeoutS, io.signal);
  // The command and the last line it printed when each report arrived:
  // what the report is charged to when the guest set no lab-test marker.
  const commandText = args.command.join(" ").slice(0, 120);
  let lastOutLine = "";
  let outPartial = "";
  const charged: string[] = [];
  tail.onSplat = (s) => {
    const after = lastOutLine ? ` (after its output line "${lastOutLine.slice(0, 100)}")` : "";
    charged.push(s.test ?? `\`${commandText}\`${after}`);
  };
  const result = (code: number, timings: RunResult["timings"], reason?: string): RunResult => {
    const splats = tail.splats.map((s, i) => ({
      ...s,
      during: charged[i] ?? `\`${commandText}\``,
    }));
    const first = splats[0];
    if (first) {
      const more = splats.length > 1 ? ` (+${splats.length - 1} more)` : "";
      const why = `kernel ${first.kind} report during ${first.during}: ${first.title}${more}`;
      reason = reason ? `${reason}; ${why}` : why;
      if (code === 0) code = 1;
    }
    return {
      code,
      reason,
      accel: g.accel,
      stdout: out instanceof Collector ? out.text() : "",
      stderr: err instanceof Collector ? err.text() : "",
      console: tail,
      splats,
      timings,
    };
  };
  try {
    const conns = await Promise.race([
      g.sockets,
      g.exit.then(() => undefined),
      limit.ended.then(() => undefined),
    ]);
    if (!conns) {
      const why = await Promise.race([g.exit.then(() => "exit" as const), limit.ended]);
      const t = { qemuStartMs: ms(), endMs: ms() };
      if (why === "timeout")
        return result(124, t, `timeout: QEMU did not start within ${args.timeoutS} s`);
      if (why === "interrupt") return result(130, t, "interrupted; QEMU killed");
      const msgs = g.messages().trim().split("\n").slice(-3).join(" | ");
      return result(255, t, `QEMU exited before the guest started: ${msgs}`);
    }
    const qemuStartMs = ms();
    const get = (n: string) => conns.get(n) as Socket;
    const consoleEnded = new Promise<void>((res) => {
      get("console").on("data", (d: Buffer) => tail.push(d));
      get("console").on("close", () => res());
    });
    serveCtl(get("lab.ctl"), startQmp(get("qmp")));

    const counts = { out: 0, err: 0 };
    let countsChanged = () => {};
    get("lab.out").on("data", (d: Buffer) => {
      const lines = (outPartial + d.toString("utf8")).split("\n");
      outPartial = (lines.pop() ?? "").slice(-400);
      const last = lines.filter((l) => l.trim()).pop();
      if (last) lastOutLine = last.trim();
    });
    pipeOutput(get("lab.out"), out, (n) => ((counts.out += n), countsChanged()));
    pipeOutput(get("lab.err"), err, (n) => ((counts.err += n), countsChanged()));
    const stopStdin = feedCommand(get("lab.cmd"), args, io.stdin);
    const status = readStatus(get("lab.status"), err);

    const first = await Promise.race([status, g.exit.then(() => "exit" as const), limit.ended]);
    if (typeof first === "object") {
      const statusMs = ms();
      stopStdin();
      // Everything the command wrote is on its way: wait for the counted
      // bytes, then tell labexec, which holds the guest's poweroff (and so
      // QEMU's exit) until then.
      const drained = await Promise.race([
        new Promise<"drained">((res) => {
          countsChanged = () => {
            if (counts.out >= first.outBytes && counts.err >= first.errBytes) res("drained");
          };
          countsChanged();
        }),
        g.exit,
        limit.ended,
      ]);
      if (drained === "drained") get("lab.cmd").write(ackFrame);
      if (counts.out < first.outBytes || counts.err < first.errBytes)
        err.write(
          `lab: warning: output cut short (${counts.out}/${first.outBytes} stdout, ${counts.err}/${first.errBytes} stderr bytes)\n`,
        );
      await new Promise<void>((res) => (out.writableNeedDrain ? out.once("drain", res) : res()));
      // A report printed during the command was on the console socket before
      // the status: one turn of the event loop lets it be read.
      await new Promise((r) => setTimeout(r, 5));
      return result(first.code, { qemuStartMs, statusMs, endMs: ms() });
    }
    if (first === "interrupt")
      return result(130, { qemuStartMs, endMs: ms() }, "interrupted; QEMU killed");
    if (first === "timeout")
      return result(
        124,
        { qemuStartMs, endMs: ms() },
        `timeout: the run exceeded ${args.timeoutS} s; QEMU killed`,
      );
    // QEMU died first: a panic (an oops too: oops=panic) or a QEMU crash.
    const { reason, lines } = await explainDeath(g, tail, consoleEnded);
    if (lines.length)
      err.write(`lab: last console lines:\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
    return result(255, { qemuStartMs, endMs: ms() }, reason);
  } finally {
    limit.clear();
    await g.dispose();
    await new Promise<void>((r) => (tail.file ? tail.file.end(r) : r()));
  }
}
