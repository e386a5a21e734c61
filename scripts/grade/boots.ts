import { chownSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type KtapReport, parseKtap } from "../lib/ktap.ts";
import { guestArgs, runGuest } from "../vm/index.ts";
import type { Accel } from "../vm/qemu-args.ts";
import { type ChatRun, type ChatSection, chatGuestCommand, splitChatOutput } from "./chat.ts";
import { conformanceIds, groupOf } from "./checks.ts";
import { hostileCommand } from "./hostile.ts";
import { type SandboxSpec, sandboxArgv } from "./sandbox.ts";
import type { TestOutcome } from "./score.ts";

/**
 * The guest boots of one submission: each runs a few groups of the
 * conformance suite (one boot per group of checks, so a group that oopses
 * or hangs takes only its own tests with it), under QEMU in the sandbox
 * with `-sandbox on,...`, the stage folder (module + test program) shared
 * read-only at /lab, no network, and a time limit.
 */

export interface Boot {
  name: string;
  /** conformance --only: groups and ids. */
  only: string[];
  devices: number;
  cpu: string;
  /** Always the reference QEMU (a probe the student's device may not offer). */
  referenceDevice?: boolean;
  deviceOpts?: string;
  timeoutS: number;
  extra?: string[];
  /** Only when the submission has a device (a device check; the reference passes it). */
  deviceOnly?: boolean;
  /** The guest command (default: the conformance suite with `only`). */
  command?: (labDir: string) => string[];
  /** The chat's self-tests (chat.ts) run after the suite in this boot, with this many more seconds. */
  chatS?: number;
}

export const guestStage = "/lab";
export const stageModule = "guest-driver/module/vcryptodev.ko";
export const stageConformance = "guest-driver/tests/build/conformance";

/** The boots of a submission, in order. */
export const boots: readonly Boot[] = [
  { name: "basic", only: ["kat", "roundtrip", "errors"], devices: 1, cpu: "qemu64", timeoutS: 150 },
  {
    name: "stress",
    only: ["concurrency", "lifecycle"],
    devices: 1,
    cpu: "qemu64",
    timeoutS: 240,
    extra: ["--ops", "120", "--cycles", "5000"],
  },
  {
    name: "lifetime",
    only: ["twodev", "reload", "unplug"],
    devices: 2,
    cpu: "qemu64",
    timeoutS: 120,
    // after the suite, never before it: the chat cannot cost a driver item
    chatS: 90,
  },
  // SMAP/SMEP (-cpu max): a driver touching user memory directly oopses here
  {
    name: "smap",
    only: ["kat.ciphers", "kat.macs", "kat.sessinfo"],
    devices: 1,
    cpu: "max",
    timeoutS: 90,
  },
  {
    name: "wait",
    only: ["wait"],
    devices: 1,
    cpu: "qemu64",
    referenceDevice: true,
    deviceOpts: "delay-us=500000",
    timeoutS: 90,
  },
  // device.hostile: the lab's hostile driver against a submitted device
  {
    name: "hostile",
    only: [],
    devices: 1,
    cpu: "qemu64",
    deviceOnly: true,
    timeoutS: 150,
    command: hostileCommand,
  },
];

/** The conformance ids a boot runs (its groups and ids, in the suite's order). */
export function bootTests(b: Boot): string[] {
  return conformanceIds().filter((id) => b.only.includes(id) || b.only.includes(groupOf(id)));
}

export interface BootRun {
  boot: Boot;
  code: number;
  reason?: string;
  report: KtapReport;
  stdout: string;
  console: string;
  seconds: number;
  /** The boot ended by QEMU dying (not the guest's panic) or by the time limit. */
  qemuTrouble?: string;
  /** The chat's self-test runs of this boot, by name (empty when none ran). */
  chat: Map<string, ChatSection>;
}

const sandboxArgs = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/** QEMU's command under bwrap as `uid`, with exactly the paths it needs. */
export function qemuWrap(uid: number, accel: Accel) {
  return (argv: string[], access: { rw: string[]; ro: string[] }): string[] => {
    for (const dir of access.rw) {
      if (process.getuid?.() !== 0) break;
      chownSync(dir, uid, uid);
      for (const f of readdirSync(dir)) chownSync(join(dir, f), uid, uid);
    }
    const spec: SandboxSpec = {
      uid,
      ro: access.ro.map((src) => ({ src })),
      rw: access.rw.map((src) => ({ src })),
      tmpBytes: 64 * 1024 * 1024,
      cwd: "/tmp",
      env: { PATH: "/usr/bin:/bin", HOME: "/tmp", LANG: "C.UTF-8" },
      limits: {
        cpuS: 900,
        asBytes: 32 * 1024 * 1024 * 1024,
        nproc: 1024,
        fsizeBytes: 64 * 1024 * 1024,
        nofile: 4096,
      },
      kvm: accel === "kvm",
    };
    return sandboxArgv(spec, [...argv, "-sandbox", sandboxArgs]);
  };
}

export interface BootEnv {
  stage: string;
  uid: number;
  accel: Accel;
  /** The student's QEMU, when a device was submitted and built. */
  studentQemu?: string;
  consoleFile: (boot: string) => string;
  /** The chat's self-tests for the boot that has `chatS` (chat.ts). */
  chat?: ChatRun[];
}

/** Runs one boot and reads its KTAP output. */
export async function runBoot(b: Boot, env: BootEnv): Promise<BootRun> {
  const t0 = performance.now();
  const binary = b.referenceDevice ? undefined : env.studentQemu;
  const consoleFile = env.consoleFile(b.name);
  const chat = b.chatS && env.chat?.length ? env.chat : undefined;
  const suite = b.command?.(guestStage) ?? [
    `${guestStage}/${stageConformance}`,
    "--module",
    `${guestStage}/${stageModule}`,
    "--only",
    b.only.join(","),
    ...(b.extra ?? []),
  ];
  const res = await runGuest(
    guestArgs({
      devices: b.devices,
      cpu: b.cpu,
      accel: env.accel,
      timeoutS: b.timeoutS + (chat ? (b.chatS ?? 0) : 0),
      net: false,
      console: consoleFile,
      ...(b.deviceOpts ? { deviceOpts: b.deviceOpts } : {}),
      labShare: { hostPath: env.stage, readonly: true },
      qemu: { ...(binary ? { binary } : {}), wrap: qemuWrap(env.uid, env.accel) },
      command: chat ? chatGuestCommand(suite, chat, guestStage) : suite,
    }),
  );
  const split = chat ? splitChatOutput(res.stdout) : { suite: res.stdout, runs: new Map() };
  const consoleText = await readFile(consoleFile, "utf8").catch(() => "");
  const qemuTrouble =
    res.code === 124
      ? res.reason
      : res.code === 255 && res.reason && !res.reason.startsWith("guest kernel panic")
        ? res.reason
        : undefined;
  return {
    boot: b,
    code: res.code,
    reason: res.reason,
    report: parseKtap(split.suite),
    stdout: res.stdout,
    console: consoleText,
    seconds: (performance.now() - t0) / 1000,
    qemuTrouble,
    chat: split.runs,
  };
}

const oopsRe = /\b(BUG:|WARNING:|Oops|general protection|Call Trace|Kernel panic|kernel BUG)/;

/** The console lines that show a kernel problem (first ones, with a little context). */
export function oopsLines(consoleText: string): string[] {
  const lines = consoleText.split("\n");
  const i = lines.findIndex((l) => oopsRe.test(l));
  return i < 0 ? [] : lines.slice(i, i + 12).map((l) => l.replace(/\r$/, ""));
}

/** The outcome of each test the boot was to run. */
export function bootOutcomes(run: BootRun): TestOutcome[] {
  const byId = new Map(run.report.results.map((r) => [r.name.split(":")[0] as string, r]));
  const died =
    run.code === 0 || run.code === 1
      ? "not reported by the suite"
      : `not reported: ${run.reason ?? `the suite exited ${run.code}`}`;
  return bootTests(run.boot).map((id): TestOutcome => {
    const r = byId.get(id);
    if (!r) return { id, status: "failed", output: `${died} (boot ${run.boot.name})` };
    const diag = r.diagnostics.slice(-6).join("\n");
    if (!r.ok) return { id, status: "failed", output: diag };
    if (r.skip !== undefined) return { id, status: "skipped", output: `SKIP ${r.skip}` };
    return { id, status: "passed", output: "" };
  });
}

/** smap.nested_pointers: the smap boot ran to the end with every test passing. */
export function smapOutcome(run: BootRun): TestOutcome {
  const tests = bootOutcomes(run);
  const bad = tests.filter((t) => t.status !== "passed");
  if (!bad.length && run.code === 0)
    return { id: "smap.nested_pointers", status: "passed", output: "" };
  const oops = oopsLines(run.console).slice(0, 4);
  return {
    id: "smap.nested_pointers",
    status: "failed",
    output: [
      `under --cpu max: ${run.reason ?? `exit ${run.code}`}`,
      ...bad.map((t) => `${t.id}: ${t.status}`),
      ...oops,
    ].join("\n"),
  };
}
