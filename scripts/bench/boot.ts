import { Writable } from "node:stream";
import { oneOfArg, intArg } from "../lib/args.ts";
import { defineCommand } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { median } from "../lib/stats.ts";
import { resolveAccel } from "../vm/accel.ts";
import { selectQemu } from "../vm/binary.ts";
import {
  type Rootfs,
  ensureBuilt,
  ensureGuestBuilt,
  guestArgs,
  labProcess,
  runGuest,
  vmUnavailable,
} from "../vm/index.ts";
import { rootfsFlavours } from "../vm/options.ts";
import { buildrootRootfsPresent } from "../guest/buildroot.ts";
import { kernelDebugPresent } from "../guest/kernel-debug.ts";

/**
 * `lab bench boot`: wall time of N warm `lab run` invocations (a new CLI
 * process each, as a user runs it), median and spread, and where the time
 * of one run goes. `measureBoot` returns the figures (`lab bench all`
 * puts them in its report); the command prints them.
 */

/**
 * One row of the table: a `lab run` command line timed as a whole process.
 * A guest flavour (another kernel, another root file system) adds its row
 * here, with the `lab run` options that select it.
 */
export interface BootFlavour {
  /** Stable key in the JSON report. */
  key: string;
  label: string;
  /** `lab run` options before `--` (the accelerator is added). */
  options: string[];
  command: string[];
  /** Only when the patched QEMU with the device exists. */
  needsDevice?: boolean;
  /** Only when this is true (the flavour's artifacts are built). */
  present?: () => boolean;
  /** Builds what the flavour needs beyond its main artifact (before the warm-up). */
  prepare?: () => Promise<void>;
}

export const bootFlavours: BootFlavour[] = [
  {
    key: "true",
    label: "lab run --devices 0 -- true",
    options: ["--devices", "0"],
    command: ["true"],
  },
  {
    key: "node",
    label: "lab run --devices 0 -- node -e 0",
    options: ["--devices", "0"],
    command: ["node", "-e", "0"],
  },
  {
    key: "true-device",
    label: "lab run -- true (1 cryptodev, driver)",
    options: [],
    command: ["true"],
    needsDevice: true,
  },
  {
    key: "true-debug-kernel",
    label: "lab run --kernel debug --devices 0 -- true",
    options: ["--kernel", "debug", "--devices", "0"],
    command: ["true"],
    // The debug kernel (lockdep, KASAN...) beside the default, once built.
    present: kernelDebugPresent,
    prepare: () => ensureGuestBuilt("debug"),
  },
  {
    key: "true-buildroot",
    label: "lab run --rootfs buildroot --devices 0 -- true",
    options: ["--rootfs", "buildroot", "--devices", "0"],
    command: ["true"],
    // The Buildroot root file system beside the initramfs, once built.
    present: buildrootRootfsPresent,
  },
];

export interface BootRow {
  key: string;
  label: string;
  /** Wall time of each run, ms. */
  ms: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
}

/** One stage of a run, in order; together they make the run's wall time. */
export interface BootStage {
  stage: string;
  ms: number;
}

export interface BootReport {
  accel: string;
  runs: number;
  rows: BootRow[];
  /** Where one `lab run --devices 0` goes (the CLI start from that row's median). */
  stages: BootStage[];
  /** The row whose run `stages` breaks down (absent: the default `true` row). */
  tracedLabel?: string;
}

/** `lab-init: <uptime> <stage>` lines of a traced boot (vm/init, lab.trace=1). */
export function parseInitMarks(lines: readonly string[]): Map<string, number> {
  const marks = new Map<string, number>();
  for (const l of lines) {
    const m = /lab-init: (\d+\.\d+) (.+)$/.exec(l);
    if (m && !marks.has(m[2] as string)) marks.set(m[2] as string, Number(m[1]) * 1000);
  }
  return marks;
}

/**
 * One traced in-process run: init prints the guest uptime at each stage on
 * the console; the host times QEMU's start, the status and the teardown.
 * Firmware and the kernel's load are what remains between QEMU's sockets
 * and the guest clock at the command (the kernel is the ELF vmlinux,
 * entered through PVH: nothing to decompress).
 */
async function tracedRun(devices: number, cliMs: number, rootfs: Rootfs): Promise<BootStage[]> {
  const before = process.env.LAB_TRACE_BOOT;
  process.env.LAB_TRACE_BOOT = "1";
  const t0 = performance.now();
  let r;
  try {
    r = await runGuest(guestArgs({ devices, rootfs, command: ["cat", "/proc/uptime"] }), {
      stderr: new Writable({ write: (_c, _e, cb) => cb() }),
    });
  } finally {
    if (before === undefined) delete process.env.LAB_TRACE_BOOT;
    else process.env.LAB_TRACE_BOOT = before;
  }
  const total = performance.now() - t0;
  if (r.code !== 0) throw new UsageError(`traced boot exited ${r.code}: ${r.reason ?? r.stderr}`);
  const atCommand = Number(r.stdout.split(" ")[0]) * 1000;
  const marks = parseInitMarks(r.console.lines);
  const t = r.timings;
  const status = t.statusMs ?? t.endMs;
  // Guest stages from init's marks, each from the previous one.
  const order: [string, string][] = [
    ["start", "kernel: boot to /init"],
    ["modules loaded", "init: modules"],
    ["node image mounted", "init: node image"],
    ["shares mounted", "init: 9p shares"],
    ["driver", "init: driver"],
    ["network up", "init: network"],
    ["ports linked", "init: agent ports"],
  ];
  const stages: BootStage[] = [
    { stage: "CLI start (node, the compiled CLI, imports)", ms: Math.max(0, cliMs - total) },
    { stage: "host: checks, QEMU command line", ms: total - t.endMs },
    { stage: "QEMU start until its sockets connect", ms: t.qemuStartMs },
    {
      stage: "firmware, kernel load (PVH: no decompression)",
      ms: Math.max(0, status - t.qemuStartMs - atCommand),
    },
  ];
  let prev = 0;
  for (const [mark, stage] of order) {
    const at = marks.get(mark);
    if (at === undefined) continue;
    stages.push({ stage, ms: Math.max(0, at - prev) });
    prev = at;
  }
  stages.push({ stage: "agent: command started, status back", ms: Math.max(0, atCommand - prev) });
  stages.push({ stage: "teardown (output drained, QEMU killed)", ms: t.endMs - status });
  return stages;
}

/** The flavours named by `--only` (keys, comma-separated); all when undefined. */
export function selectFlavours(only: string | undefined): BootFlavour[] {
  if (only === undefined) return bootFlavours;
  const keys = only.split(",").map((k) => k.trim());
  const unknown = keys.filter((k) => !bootFlavours.some((f) => f.key === k));
  if (unknown.length || !keys.length)
    throw new UsageError(
      `lab bench boot --only: unknown flavour ${unknown.join(", ") || "''"} (one of: ${bootFlavours.map((f) => f.key).join(", ")})`,
    );
  return bootFlavours.filter((f) => keys.includes(f.key));
}

/**
 * `rootfs`: that root file system beside the default initramfs only (the
 * two `true` rows, the flavour built first), its boot traced; `only`: those
 * flavours; neither: every flavour that is built, the default boot traced.
 */
export async function measureBoot(o: {
  runs: number;
  accel: string;
  rootfs?: Rootfs;
  only?: string;
}): Promise<BootReport> {
  await ensureGuestBuilt();
  const versus = o.rootfs && o.rootfs !== "initramfs" ? o.rootfs : undefined;
  if (versus) await ensureBuilt(`rootfs-${versus}`);
  const flavours = versus
    ? bootFlavours.filter((f) => f.key === "true" || f.key === `true-${versus}`)
    : selectFlavours(o.only).filter(
        (f) => (!f.needsDevice || !vmUnavailable()) && (f.present?.() ?? true),
      );
  if (!flavours.length) throw new UsageError("lab bench boot: none of those flavours is built");
  for (const f of flavours) await f.prepare?.();
  const argsOf = (f: BootFlavour) => ["run", "--accel", o.accel, ...f.options, "--", ...f.command];
  info("warm-up run");
  await labProcess(argsOf(flavours[0] as BootFlavour));
  const accel = await resolveAccel(o.accel as "auto" | "kvm" | "tcg", selectQemu(0));
  const rows: BootRow[] = [];
  for (const f of flavours) {
    const ms: number[] = [];
    for (let i = 0; i < o.runs; i++) {
      const r = await labProcess(argsOf(f));
      if (r.code !== 0) throw new UsageError(`${f.label} exited ${r.code}:\n${r.stderr}`);
      ms.push(r.ms);
      info(`${f.label}: run ${i + 1}/${o.runs} ${sec(r.ms)} s`);
    }
    rows.push({
      key: f.key,
      label: f.label,
      ms,
      medianMs: median(ms),
      minMs: Math.min(...ms),
      maxMs: Math.max(...ms),
    });
  }
  const traced = rows.find((x) => x.key === (versus ? `true-${versus}` : "true"));
  const stages = await tracedRun(0, traced?.medianMs ?? 0, versus ?? "initramfs");
  return { accel, runs: o.runs, rows, stages, ...(traced ? { tracedLabel: traced.label } : {}) };
}

const sec = (ms: number) => (ms / 1000).toFixed(2);

/** The other flavours of `true` against the default one, side by side. */
function ratios(rows: readonly BootRow[]): string[] {
  const base = rows.find((x) => x.key === "true");
  if (!base) return [];
  return rows
    .filter((x) => x.key.startsWith("true-") && x.key !== "true-device")
    .map(
      (x) =>
        `${x.key.slice(5)} / default (true, --devices 0): ${(x.medianMs / base.medianMs).toFixed(2)}x`,
    );
}

export function formatBoot(r: BootReport): string {
  const cell = (ms: number) => (sec(ms) + " s").padStart(8);
  const stageSum = r.stages.reduce((a, s) => a + s.ms, 0);
  return [
    `lab bench boot: ${r.runs} warm runs each (wall time of the whole \`lab run\` process)`,
    `accelerator: ${r.accel}`,
    "",
    `${"command".padEnd(40)} ${"median".padStart(8)} ${"min".padStart(8)} ${"max".padStart(8)}`,
    ...r.rows.map(
      (x) => `${x.label.padEnd(40)} ${cell(x.medianMs)} ${cell(x.minMs)} ${cell(x.maxMs)}`,
    ),
    ...ratios(r.rows),
    "",
    `where the time of one \`${r.tracedLabel ?? "lab run --devices 0 -- true"}\` goes (one traced run; init's stages`,
    "from the guest clock; the CLI start is the median above minus the in-process run):",
    ...r.stages.map((s) => `  ${s.stage.padEnd(48)} ${sec(s.ms).padStart(6)} s`),
    `  ${"total".padEnd(48)} ${sec(stageSum).padStart(6)} s`,
  ].join("\n");
}

export default defineCommand({
  summary: "warm `lab run` boot times: median, spread, where the time goes",
  usage: `usage: lab bench boot [--runs N] [--accel auto|kvm|tcg] [--only KEY,...|--rootfs buildroot]

Median and spread of N (default 5) warm runs of each flavour
(\`lab run -- true\`, \`lab run -- node -e 0\`, with and without the device;
the debug kernel and the Buildroot root file system when they are built;
each a whole CLI process, as a user runs it), the accelerator used, and
where the time of one run goes (QEMU start, firmware, kernel, each stage of
init, the agent, teardown). --only runs those flavours alone, e.g.
\`--only true,true-debug-kernel\`: the debug kernel beside the default.
Flavours: ${bootFlavours.map((f) => f.key).join(", ")}.

  --rootfs buildroot  only \`lab run -- true\` on the Buildroot root file
                      system beside the default initramfs, and their ratio
                      (built first when missing); that boot is the one traced`,
  options: {
    runs: { type: "string" },
    accel: { type: "string" },
    rootfs: { type: "string" },
    only: { type: "string" },
  },
  async run({ values }) {
    const runs = values.runs ? intArg("--runs", values.runs, 1, 1000) : 5;
    const accel = oneOfArg("--accel", values.accel ?? "auto", ["auto", "kvm", "tcg"]);
    const rootfs = values.rootfs ? oneOfArg("--rootfs", values.rootfs, rootfsFlavours) : undefined;
    const only = values.only;
    if (rootfs && only !== undefined)
      throw new UsageError("lab bench boot: --rootfs and --only do not go together");
    selectFlavours(only); // a usage error before any build
    process.stdout.write(
      formatBoot(
        await measureBoot({
          runs,
          accel,
          ...(rootfs ? { rootfs } : {}),
          ...(only ? { only } : {}),
        }),
      ) + "\n",
    );
    return 0;
  },
});
