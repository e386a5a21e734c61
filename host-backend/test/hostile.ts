/**
 * The hostile-driver test of the device (host-backend/test/hostile/): the
 * property matrix it runs in, how its module is built, what the guest runs
 * and how the guest's output is judged. No process plumbing here: the VM
 * test (hostile.vm.test.ts) boots the guest and hands the output over.
 */
import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { type KtapReport, type KtapResult, parseKtap } from "../../scripts/lib/ktap.ts";
import { kernelBuildDir } from "../../scripts/guest/kernel.ts";
import { repoRoot } from "../../scripts/lib/paths.ts";

export interface HostileConfig {
  /** What the configuration changes, as the issue names it. */
  name: string;
  /** `lab run` options. */
  opts: string[];
  /** Cases that must be skipped here (and only here), with the reason's start. */
  skips?: Record<string, string>;
}

/** The virtio feature and device property variants that matter. */
export const hostileMatrix: HostileConfig[] = [
  { name: "default", opts: [] },
  { name: "packed=on", opts: ["--device-opts", "packed=on"] },
  { name: "indirect_desc=off", opts: ["--device-opts", "indirect_desc=off"] },
  { name: "event_idx=off", opts: ["--device-opts", "event_idx=off"] },
  {
    name: "queue_reset=off",
    opts: ["--device-opts", "queue_reset=off"],
    skips: { "queue-reset": "VIRTIO_F_RING_RESET not negotiated" },
  },
  { name: "inline-max=0", opts: ["--device-opts", "inline-max=0"] },
  { name: "ioeventfd=on", opts: ["--device-opts", "ioeventfd=on"] },
  { name: "--smp 2", opts: ["--smp", "2"] },
];

/** Every case the module runs, in order. */
export const hostileCases = [
  "kat",
  "errors",
  "limits",
  "flood",
  "close-inflight",
  "queue-reset",
  "device-reset",
  "chains",
  "kat-after",
] as const;

const moduleSources = ["vcd_hostile.c", "Kbuild"];
const guestDir = "/mnt/hostile";
const marker = "=== vcryptodev kat";

/**
 * Builds vcd_hostile.ko against the lab's kernel headers in a fresh
 * temporary folder (shared into the guest); returns the folder.
 */
export async function buildHostileModule(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vcd-hostile-"));
  for (const f of moduleSources)
    await copyFile(join(repoRoot, "host-backend", "test", "hostile", f), join(dir, f));
  await execa(
    "make",
    [
      "-s",
      "-C",
      kernelBuildDir(),
      `M=${dir}`,
      `VCD_INCLUDE=${join(repoRoot, "include")}`,
      "W=1",
      "modules",
    ],
    { all: true },
  );
  return dir;
}

/** `lab run` options that share the module's folder `dir`. */
export function shareOpts(dir: string): string[] {
  return ["--share", `${dir}:${guestDir}`];
}

/**
 * The guest's command: the hostile module in place of vcryptodev, its
 * report, then vcryptodev back and its known-answer tests on the same
 * device.
 */
export function guestCommand(seed: number, conformance: string, driver: string): string[] {
  const script = [
    "rmmod vcryptodev",
    `insmod ${guestDir}/vcd_hostile.ko seed=${seed}`,
    "cat /proc/vcd_hostile",
    "rmmod vcd_hostile",
    `insmod ${driver}`,
    `echo '${marker}'`,
    `${conformance} --only kat`,
  ].join(" && ");
  return ["sh", "-c", script];
}

export interface CaseCounts {
  requests: number;
  checked: number;
  errors: number;
}

export interface HostileRun {
  hostile: KtapReport;
  /** The real driver's known-answer tests after it. */
  kat: KtapReport;
  /** Counts per case, from the "# case: requests N, ..." lines. */
  counts: Map<string, CaseCounts>;
  totals: CaseCounts;
  features: string;
}

const countsRe = /^([a-z-]+): requests (\d+), answers checked (\d+), errors (\d+)/;

function counts(m: RegExpExecArray): CaseCounts {
  return { requests: Number(m[2]), checked: Number(m[3]), errors: Number(m[4]) };
}

/** Splits and reads the guest's output. */
export function parseHostileRun(stdout: string): HostileRun {
  const at = stdout.indexOf(marker);
  const hostile = parseKtap(at < 0 ? stdout : stdout.slice(0, at));
  const kat = parseKtap(at < 0 ? "" : stdout.slice(at + marker.length));
  const byCase = new Map<string, CaseCounts>();
  const diag = [...hostile.results.flatMap((r) => r.diagnostics), ...hostile.trailer];
  let totals: CaseCounts = { requests: 0, checked: 0, errors: 0 };
  let features = "";
  for (const line of diag) {
    const m = countsRe.exec(line);
    if (m?.[1]) byCase.set(m[1], counts(m));
    const t = /^totals: requests (\d+), answers checked (\d+), errors (\d+)/.exec(line);
    if (t) totals = { requests: Number(t[1]), checked: Number(t[2]), errors: Number(t[3]) };
    if (line.startsWith("features:")) features = line.slice("features:".length).trim();
  }
  return { hostile, kat, counts: byCase, totals, features };
}

/** What is wrong with one configuration's run; empty when nothing. */
export function hostileProblems(run: HostileRun, cfg: HostileConfig): string[] {
  const p: string[] = [];
  const results = new Map<string, KtapResult>(run.hostile.results.map((r) => [r.name, r]));
  if (run.hostile.planned !== hostileCases.length)
    p.push(`planned ${run.hostile.planned ?? "nothing"}, expected ${hostileCases.length} cases`);
  for (const name of hostileCases) {
    const r = results.get(name);
    const skip = cfg.skips?.[name];
    if (!r) p.push(`${name}: no result`);
    else if (!r.ok) p.push(`${name}: not ok\n  ${r.diagnostics.join("\n  ")}`);
    else if (skip !== undefined && !r.skip?.startsWith(skip))
      p.push(`${name}: expected a skip (${skip}), got ${r.skip ?? "a run"}`);
    else if (skip === undefined && r.skip !== undefined) p.push(`${name}: skipped: ${r.skip}`);
    else if (skip === undefined && !(run.counts.get(name)?.requests ?? 0))
      p.push(`${name}: no requests`);
  }
  return p;
}

/** One line per configuration for the log. */
export function formatRun(cfg: HostileConfig, run: HostileRun): string {
  const t = run.totals;
  return `hostile driver, ${cfg.name} (${run.features}): requests ${t.requests}, answers checked ${t.checked}, errors ${t.errors}`;
}
