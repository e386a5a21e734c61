import { Writable } from "node:stream";
import { oneOfArg, intArg } from "../lib/args.ts";
import { defineCommand } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { median } from "../lib/stats.ts";
import { resolveAccel } from "../vm/accel.ts";
import { selectQemu } from "../vm/binary.ts";
import { kernelDebugPresent } from "../guest/kernel-debug.ts";
import { ensureGuestBuilt, guestArgs, labProcess, runGuest, vmUnavailable } from "../vm/index.ts";

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

const sec = (ms: number) => (ms / 1000).toFixed(2);

/** One in-process run, timed: QEMU start, guest boot (guest uptime at the command), the command, teardown. */
async function breakdown(devices: number): Promise<string[]> {
  const t0 = performance.now();
  const r = await runGuest(guestArgs({ devices, command: ["cat", "/proc/uptime"] }), {
    stderr: new Writable({ write: (_c, _e, cb) => cb() }),
  });
  const total = performance.now() - t0;
  const uptime = Number(r.stdout.split(" ")[0]) * 1000;
  const t = r.timings;
  const cmd = (t.statusMs ?? t.endMs) - t.qemuStartMs - uptime;
  return [
    `  in-process checks (guest built, accel, QEMU args) ${sec(total - t.endMs)} s`,
    `  QEMU start until its sockets connect            ${sec(t.qemuStartMs)} s`,
    `  guest kernel + init until the command (uptime)  ${sec(uptime)} s`,
    `  firmware, command, status back to the host      ${sec(Math.max(0, cmd))} s`,
    `  teardown (output drained, QEMU killed)          ${sec(t.endMs - (t.statusMs ?? t.endMs))} s`,
    `  (total in-process ${sec(total)} s, accelerator ${r.accel})`,
  ];
}

export default defineCommand({
  summary: "warm `lab run` boot times: median, spread, where the time goes",
  usage: `usage: lab bench boot [--runs N] [--accel auto|kvm|tcg]

Median and spread of N (default 5) warm \`lab run -- true\` and
\`lab run -- node -e 0\` (each a whole CLI process, as a user runs it), the
accelerator used, and where the time of one run goes. When the debug kernel
is built (\`lab build debug\`), \`lab run --kernel debug -- true\` too.`,
  options: { runs: { type: "string" }, accel: { type: "string" } },
  async run({ values }) {
    const runs = values.runs ? intArg("--runs", values.runs, 1, 1000) : 5;
    const accel = oneOfArg("--accel", values.accel ?? "auto", ["auto", "kvm", "tcg"]);
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
    // The debug kernel (lockdep, KASAN...) side by side with the default, when built.
    if (kernelDebugPresent()) {
      await ensureGuestBuilt("debug");
      rows.splice(1, 0, {
        label: "lab run --kernel debug --devices 0 -- true",
        args: ["--accel", accel, "--kernel", "debug", "--devices", "0", "--", "true"],
        ms: [],
      });
    }
    if (!vmUnavailable())
      rows.push({
        label: "lab run -- true (1 cryptodev, driver)",
        args: ["--accel", accel, "--", "true"],
        ms: [],
      });
    info("warm-up run");
    await labProcess(["run", ...(rows[0]?.args ?? [])]);
    const accelUsed = await resolveAccel(accel, selectQemu(0));
    for (const row of rows) {
      for (let i = 0; i < runs; i++) {
        const r = await labProcess(["run", ...row.args]);
        if (r.code !== 0) throw new UsageError(`${row.label} exited ${r.code}:\n${r.stderr}`);
        row.ms.push(r.ms);
        info(`${row.label}: run ${i + 1}/${runs} ${sec(r.ms)} s`);
      }
    }
    const cell = (ms: number) => (sec(ms) + " s").padStart(8);
    const lines = [
      `lab bench boot: ${runs} warm runs each (wall time of the whole \`lab run\` process)`,
      `accelerator: ${accelUsed}${accel === "auto" ? " (--accel auto)" : ""}`,
      "",
      `${"command".padEnd(44)} ${"median".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`,
      ...rows.map(
        (r) =>
          `${r.label.padEnd(44)} ${cell(median(r.ms))} ${cell(Math.min(...r.ms))} ${cell(Math.max(...r.ms))}`,
      ),
      "",
      "where the time of one `lab run --devices 0` goes:",
      ...(await breakdown(0)),
      `  (CLI process start, tsx, module loading: the rest of the ${sec(median(rows[0]?.ms ?? []))} s median)`,
    ];
    process.stdout.write(lines.join("\n") + "\n");
    return 0;
  },
});
