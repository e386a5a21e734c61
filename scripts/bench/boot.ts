import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { resolveAccel } from "../lib/accel.ts";
import { UsageError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { patchedQemuPath, repoRoot } from "../lib/paths.ts";
import type { Accel } from "../lib/qemu.ts";
import { selectQemu } from "../lib/qemu-binary.ts";
import { parseVmArgs } from "../lib/run-args.ts";
import { ensureGuestBuilt, runInGuest } from "../lib/vm.ts";
import { Writable } from "node:stream";

/**
 * `lab bench boot`: wall time of N warm `lab run` invocations (a new CLI
 * process each, as a user runs it), median and spread, and where the time
 * of one run goes.
 */

interface Row {
  label: string;
  args: string[];
  ms: number[];
}

function runLab(args: string[]): Promise<{ code: number | null; ms: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, "bin", "lab.mjs"), "run", ...args], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, CI: "true" },
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, ms: performance.now() - t0, stdout }));
  });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const sec = (ms: number) => (ms / 1000).toFixed(2);

const nullSink = () => new Writable({ write: (_c, _e, cb) => cb() });

/** One in-process run, timed: QEMU start, guest boot (guest uptime at the command), the command, teardown. */
async function breakdown(devices: number): Promise<string[]> {
  const t0 = performance.now();
  const args = parseVmArgs(["--devices", String(devices), "--", "cat", "/proc/uptime"], true);
  let out = "";
  const stdout = new Writable({
    write(c: Buffer, _e, cb) {
      out += c.toString();
      cb();
    },
  });
  const r = await runInGuest(args, { stdin: null, stdout, stderr: nullSink() });
  const total = performance.now() - t0;
  const uptime = Number(out.split(" ")[0]) * 1000;
  const t = r.timings;
  const prep = total - t.endMs;
  const qemuToGuest = t.qemuStartMs;
  const kernelAndInit = uptime;
  const cmd = (t.statusMs ?? t.endMs) - qemuToGuest - uptime;
  const teardown = t.endMs - (t.statusMs ?? t.endMs);
  return [
    `  in-process checks (guest built, accel, QEMU args) ${sec(prep)} s`,
    `  QEMU start until its sockets connect            ${sec(qemuToGuest)} s`,
    `  guest kernel + init until the command (uptime)  ${sec(kernelAndInit)} s`,
    `  firmware, command, status back to the host      ${sec(Math.max(0, cmd))} s`,
    `  teardown (output drained, QEMU killed)          ${sec(teardown)} s`,
    `  (total in-process ${sec(total)} s, accelerator ${r.accel})`,
  ];
}

export async function run(argv: string[]): Promise<number> {
  let runs = 5;
  let accel: Accel | "auto" = "auto";
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help" || a === "-h") {
      process.stdout.write(
        "usage: lab bench boot [--runs N] [--accel auto|kvm|tcg]\n\n" +
          "Median and spread of N (default 5) warm `lab run -- true` and `lab run -- node -e 0`,\n" +
          "the accelerator used, and where the time of one run goes.\n",
      );
      return 0;
    }
    if (a === "--runs") runs = Number(argv[++i]);
    else if (a === "--accel") {
      const v = argv[++i];
      if (v !== "auto" && v !== "kvm" && v !== "tcg") throw new UsageError("--accel auto|kvm|tcg");
      accel = v;
    } else throw new UsageError(`lab bench boot [--runs N] [--accel auto|kvm|tcg]; unknown ${a}`);
  }
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError("--runs needs a positive whole number");
  await ensureGuestBuilt();
  const rows: Row[] = [
    {
      label: "lab run --devices 0 -- true",
      args: ["--accel", accel, "--devices", "0", "--", "true"],
      ms: [],
    },
    {
      label: "lab run --devices 0 -- node -e 0",
      args: ["--accel", accel, "--devices", "0", "--", "node", "-e", "0"],
      ms: [],
    },
  ];
  if (existsSync(patchedQemuPath()))
    rows.push({
      label: "lab run -- true (1 cryptodev, driver)",
      args: ["--accel", accel, "--", "true"],
      ms: [],
    });
  info("warm-up run");
  await runLab(rows[0]?.args ?? []);
  const accelUsed = await resolveAccel(accel, selectQemu(0));
  for (const row of rows) {
    for (let i = 0; i < runs; i++) {
      const r = await runLab(row.args);
      if (r.code !== 0) throw new UsageError(`${row.label} exited ${r.code}`);
      row.ms.push(r.ms);
      info(`${row.label}: run ${i + 1}/${runs} ${sec(r.ms)} s`);
    }
  }
  const lines = [
    `lab bench boot: ${runs} warm runs each (wall time of the whole \`lab run\` process)`,
    `accelerator: ${accelUsed}${accel === "auto" ? " (--accel auto)" : ""}`,
    "",
    `${"command".padEnd(40)} ${"median".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`,
    ...rows.map(
      (r) =>
        `${r.label.padEnd(40)} ${(sec(median(r.ms)) + " s").padStart(8)} ${(sec(Math.min(...r.ms)) + " s").padStart(8)} ${(sec(Math.max(...r.ms)) + " s").padStart(8)}`,
    ),
    "",
    "where the time of one `lab run --devices 0` goes:",
    ...(await breakdown(0)),
  ];
  const cliStart = median(rows[0]?.ms ?? [0]);
  lines.push(
    `  (CLI process start, tsx, module loading: the rest of the ${sec(cliStart)} s median)`,
  );
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}
