import { chownSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type KtapReport, parseKtap } from "../lib/ktap.ts";
import type { GuestKernel } from "../guest/flavour.ts";
import { formatSplat } from "../vm/splat.ts";
import { type SplatReport, guestArgs, runGuest } from "../vm/index.ts";
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
  /** The guest kernel (default: Debian's); debug: the submission's module built for it. */
  kernel?: GuestKernel;
  /** Only when the submission has a driver (the reference driver passes it). */
  driverOnly?: boolean;
  /** Groups and ids a submission with a driver runs in another boot instead (the debug kernel's). */
  elsewhereWithDriver?: string[];
  /** The chat's self-tests (chat.ts) run after the suite in this boot, with this many more seconds. */
  chatS?: number;
}

export const guestStage = "/lab";
export const stageModule = "guest-driver/module/vcryptodev.ko";
export const stageConformance = "guest-driver/tests/build/conformance";
/** The module built for the debug kernel, where the debug guest's init loads it from. */
export const stageDebugModule = "out/driver-debug/vcryptodev.ko";

/** The boots of a submission, in order. */
export const boots: readonly Boot[] = [
  // errors.efault stays the last test of this boot (an oops there takes only it)
  {
    name: "basic",
    only: ["kat", "hash", "aead", "roundtrip", "errors"],
    devices: 1,
    cpu: "qemu64",
    timeoutS: 150,
  },
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
    // a driver's hot-unplug runs on the debug kernel (boot debug): here a
    // device freed under open files reads back intact or corrupts the
    // kernel, by chance
    elsewhereWithDriver: ["unplug"],
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
  // ---- throughput sanity: the reference device with every
  // request through QEMU's thread pool, so every answer comes later and the
  // driver waits for it (conformance.c, section throughput: the floors and
  // the figures they come from)
  {
    name: "throughput",
    only: ["throughput"],
    devices: 1,
    cpu: "qemu64",
    referenceDevice: true,
    deviceOpts: "inline-max=0,ioeventfd=on",
    timeoutS: 60,
  },
  // ---- the debug kernel: a driver's lifetime tests, and the
  // atomic-context copy, where KASAN, lockdep and the atomic-sleep check
  // report what the default kernel lets pass by chance (a device freed
  // under open files, a user copy under a spinlock); each report fails the
  // test that was running (chargeSplats)
  {
    name: "debug",
    only: ["roundtrip.fresh_pages", "unplug"],
    devices: 2,
    cpu: "qemu64",
    kernel: "debug",
    driverOnly: true,
    timeoutS: 180,
    // each test marked on the kernel log: reports are charged to their test
    extra: ["--marks"],
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

/** The boots a submission with these parts gets, in order (each with what it runs for them). */
export function bootsFor(parts: { driver: boolean; device: boolean }): Boot[] {
  return boots
    .filter((b) => (parts.device || !b.deviceOnly) && (parts.driver || !b.driverOnly))
    .map((b) => {
      const away = parts.driver ? (b.elsewhereWithDriver ?? []) : [];
      return away.length ? { ...b, only: b.only.filter((g) => !away.includes(g)) } : b;
    });
}

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
  /** Kernel checker reports on its console (the debug kernel's), each with its test. */
  splats: readonly SplatReport[];
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
  const kernel = b.kernel ?? "default";
  const module = kernel === "debug" ? stageDebugModule : stageModule;
  const chat = b.chatS && env.chat?.length ? env.chat : undefined;
  const suite = b.command?.(guestStage) ?? [
    `${guestStage}/${stageConformance}`,
    "--module",
    `${guestStage}/${module}`,
    "--only",
    b.only.join(","),
    ...(b.extra ?? []),
  ];
  const res = await runGuest(
    guestArgs({
      kernel,
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
    splats: res.splats,
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

/**
 * The checker reports charged to each test of a boot: the test whose
 * `lab-test:` marker came last before the report (conformance.c marks
 * each), except that sleeping in atomic context goes to the boot's
 * atomic-context test (roundtrip.fresh_pages) whatever ran: the check
 * reports at most once a second, so which later test it lands in is
 * chance. A report before any test (the module's load) goes to every test.
 */
export function chargeSplats(
  tests: readonly string[],
  splats: readonly SplatReport[],
): Map<string, SplatReport[]> {
  const out = new Map<string, SplatReport[]>();
  const add = (id: string, s: SplatReport) => out.set(id, [...(out.get(id) ?? []), s]);
  const atomic = tests.includes("roundtrip.fresh_pages") ? "roundtrip.fresh_pages" : undefined;
  for (const s of splats) {
    if (s.kind === "atomic-sleep" && atomic) add(atomic, s);
    else if (s.test !== undefined && tests.includes(s.test)) add(s.test, s);
    else for (const id of tests) add(id, s);
  }
  return out;
}

/** The outcome of each test the boot was to run. */
export function bootOutcomes(run: BootRun): TestOutcome[] {
  const byId = new Map(run.report.results.map((r) => [r.name.split(":")[0] as string, r]));
  const died =
    run.code === 0 || run.code === 1
      ? "not reported by the suite"
      : `not reported: ${run.reason ?? `the suite exited ${run.code}`}`;
  const tests = bootTests(run.boot);
  // the debug kernel's reports; on Debian's an oops panics the guest and a
  // warning costs console.clean alone, as before the debug boot
  const charged = chargeSplats(tests, run.boot.kernel === "debug" ? run.splats : []);
  return tests.map((id): TestOutcome => {
    const r = byId.get(id);
    const splats = charged.get(id);
    if (splats)
      return {
        id,
        status: "failed",
        output: [
          `the ${run.boot.kernel ?? "default"} kernel reported (boot ${run.boot.name}):`,
          ...splats.slice(0, 2).map((s) => formatSplat(s, id, 6)),
          ...(r && !r.ok ? r.diagnostics.slice(-3) : []),
        ].join("\n"),
      };
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
