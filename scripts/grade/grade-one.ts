import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { testProgram } from "../build/conformance.ts";
import { hashKey } from "../lib/cache.ts";
import { driverModulePath, patchedQemuPath, repoRoot } from "../lib/paths.ts";
import type { Accel } from "../vm/qemu-args.ts";
import { RejectedSubmission } from "./archive.ts";
import {
  type Boot,
  type BootRun,
  bootOutcomes,
  bootTests,
  bootsFor,
  oopsLines,
  runBoot,
  smapOutcome,
  stageConformance,
  stageDebugModule,
  stageModule,
} from "./boots.ts";
import { buildDevice, buildDriver, deviceChanges, saveProduct } from "./build.ts";
import {
  type ChatRun,
  buildChat,
  z1TestFiles,
  chatChecks,
  providerOutcomes,
  referenceChatFiles,
  referenceOutcome,
  stageBinding,
  stageChatBundle,
  z1Outcomes,
} from "./chat.ts";
import { conformanceIds } from "./checks.ts";
import { hostileModule, hostileOutcome, stageHostile } from "./hostile.ts";
import { type Intake, intake, submissionName } from "./intake.ts";
import { sandboxUid } from "./sandbox.ts";
import { type GradeResult, junitXml, reportMd, resultsJson } from "./report.ts";
import type { Part, Rubric } from "./rubric.ts";
import { type TestOutcome, scoreRubric } from "./score.ts";

/**
 * Grading one submission, start to end: intake (checked, copied), builds in
 * the sandbox, the guest boots, scores, and the files under OUT/<name>/:
 * results.json (Gradescope), junit.xml, build.log, console.log, report.md,
 * and grade.json (the grader's own record, read by --resume and the batch
 * summary). Never throws for a bad submission: it gets a score and a reason.
 * Other commands (lab grade --slurm) call `gradeOne` directly.
 */

export interface GradeOptions {
  rubric: Rubric;
  /** The rubric file's text (part of the resume key). */
  rubricText: string;
  /** Results go to `${outDir}/${name}/`. */
  outDir: string;
  /** The grader's scratch for this submission (removed at the end). */
  workDir: string;
  /** Concurrency slot (0..63): the sandbox runs as sandboxUid(slot), one uid per slot and process. */
  slot: number;
  accel: Accel;
  /** Default: from the path (submissionName). */
  name?: string;
  /** Called at each phase (for progress lines). */
  progress?: (phase: string) => void;
  /** Skip when OUT/<name>/grade.json has the same key. */
  resume?: boolean;
  /** Time limits (seconds). */
  limits?: Partial<typeof defaultPhaseLimits>;
  /**
   * Boots of this submission run at once after the first (default 1): each
   * is one QEMU, about one core under TCG; `lab grade` gives each of its -j
   * submissions its share of the cores.
   */
  bootJobs?: number;
}

export const defaultPhaseLimits = {
  driverBuildS: 120,
  deviceBuildS: 300,
  /** The chat's sandbox: bundle the student's provider, run the Z1 host tests. */
  chatS: 240,
  /** At most this long for any boot (each boot has its own, lower or not). */
  bootS: 600,
};

const consoleCap = 1024 * 1024;
const buildLogCap = 512 * 1024;

/** The grader's own version: what decides how a submission is graded. */
export async function labVersion(): Promise<string> {
  const parts: (string | Buffer)[] = [
    JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")).version,
  ];
  const gradeDir = join(repoRoot, "scripts", "grade");
  for (const f of (await readdir(gradeDir))
    .filter((n) => n.endsWith(".ts") && !n.includes(".test."))
    .sort())
    parts.push(f, await readFile(join(gradeDir, f)));
  parts.push(await readFile(join(repoRoot, "guest-driver", "tests", "conformance.c")));
  // the chat's judges (chat.ts): the Z1 tests and the Z2 self-test
  for (const f of [...z1TestFiles, "ts-app/e2e/cryptodev-selftest.ts", "ts-app/e2e/vectors.ts"])
    parts.push(f, await readFile(join(repoRoot, f)));
  return hashKey(parts).slice(0, 16);
}

async function intakeKey(got: Intake): Promise<string[]> {
  const out: string[] = [];
  for (const f of got.files) out.push(f, hashKey([await readFile(join(got.root, f))]));
  return out;
}

function cap(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[grader: ${text.length - max} characters cut here (log cap ${max})]\n${text.slice(-half)}`;
}

const rank: Record<TestOutcome["status"], number> = {
  passed: 0,
  skipped: 1,
  not_run: 2,
  failed: 3,
};

/** A test run in two boots (on both kernels): the worse outcome counts. */
function worse(a: TestOutcome | undefined, b: TestOutcome): TestOutcome {
  return a && rank[a.status] >= rank[b.status] ? a : b;
}

/** Grades one submission; writes its files; resolves with its result. */
export async function gradeOne(source: string, o: GradeOptions): Promise<GradeResult> {
  const t0 = performance.now();
  const name = o.name ?? submissionName(source);
  const out = join(o.outDir, name);
  const phases: GradeResult["phases"] = [];
  const notes: string[] = [];
  const phase = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    o.progress?.(label);
    const p0 = performance.now();
    try {
      return await fn();
    } finally {
      phases.push({ name: label, seconds: (performance.now() - p0) / 1000 });
    }
  };
  const graded: Part[] = [...new Set(o.rubric.items.map((i) => i.part))] as Part[];
  const version = await labVersion();
  await rm(o.workDir, { recursive: true, force: true });
  await mkdir(o.workDir, { recursive: true });

  const finish = async (
    r: Omit<GradeResult, "name" | "source" | "seconds" | "phases" | "notes">,
    logs: { build: string; console: string },
  ): Promise<GradeResult> => {
    const result: GradeResult = {
      ...r,
      name,
      source,
      seconds: (performance.now() - t0) / 1000,
      phases,
      notes,
    };
    await rm(out, { recursive: true, force: true });
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "results.json"), JSON.stringify(resultsJson(result), null, 2) + "\n");
    await writeFile(join(out, "junit.xml"), junitXml(result));
    await writeFile(join(out, "build.log"), cap(logs.build, buildLogCap));
    await writeFile(join(out, "console.log"), logs.console);
    await writeFile(join(out, "report.md"), reportMd(result));
    await writeFile(join(out, "grade.json"), JSON.stringify(result, null, 2) + "\n");
    await rm(o.workDir, { recursive: true, force: true });
    return result;
  };

  // ---------------------------------------------------------------- intake
  let got: Intake;
  try {
    got = await phase("intake", () => intake(source, join(o.workDir, "sub"), graded));
  } catch (e) {
    if (!(e instanceof RejectedSubmission)) throw e;
    const key = hashKey([o.rubricText, version, "rejected", e.message]);
    const scored = scoreRubric(o.rubric, new Map(), graded);
    return finish(
      { status: "rejected", reason: e.message, parts: [], scored, oops: [], key },
      { build: "", console: "" },
    );
  }
  notes.push(...got.notes);
  const key = hashKey([o.rubricText, version, got.parts.join(","), ...(await intakeKey(got))]);
  if (o.resume) {
    const prev = await readFile(join(out, "grade.json"), "utf8")
      .then((t) => JSON.parse(t) as GradeResult)
      .catch(() => undefined);
    if (prev?.key === key && existsSync(join(out, "results.json"))) {
      await rm(o.workDir, { recursive: true, force: true });
      o.progress?.("resumed");
      return prev;
    }
  }

  // ---------------------------------------------------------------- builds
  const uid = sandboxUid(o.slot);
  const lim = { ...defaultPhaseLimits, ...o.limits };
  const outcomes = new Map<string, TestOutcome>();
  const set = (id: string, ok: boolean, output = "") =>
    outcomes.set(id, { id, status: ok ? "passed" : "failed", output });
  const stage = join(o.workDir, "stage");
  await mkdir(join(stage, "guest-driver", "module"), { recursive: true });
  await mkdir(join(stage, "guest-driver", "tests", "build"), { recursive: true });
  await copyFile(testProgram("conformance"), join(stage, stageConformance));
  let buildLog = "";
  let buildFailed: string | undefined;
  /** The module did not build for the debug kernel (its boot's tests fail with this). */
  let debugFailed: string | undefined;
  const hasDriver = got.parts.includes("driver");
  if (hasDriver) {
    // the module for Debian's kernel, then for the debug kernel (one after
    // the other: both sandboxes would share one uid's process limit)
    const limits = { timeoutS: lim.driverBuildS, tmpBytes: 512 * 1024 * 1024 };
    const [b, d] = await phase("build driver", async () => {
      const def = await buildDriver(got.root, uid, limits, "default");
      return [def, def.ok ? await buildDriver(got.root, uid, limits, "debug") : def] as const;
    });
    buildLog += `==== driver (Kbuild, ${(b.ms / 1000).toFixed(1)} s) ====\n${b.log}\n`;
    set("build.driver", b.ok, b.reason ?? "");
    set(
      "build.warnings",
      b.ok && b.warnings.length === 0,
      b.ok ? b.warnings.slice(0, 5).join("\n") : "the module did not build",
    );
    if (b.ok) {
      const names = [...b.files.keys()];
      const pick = b.files.has("vcryptodev.ko")
        ? "vcryptodev.ko"
        : names.length === 1
          ? names[0]
          : undefined;
      if (!pick) {
        buildFailed = `the build made ${names.join(", ")}: which one is the driver? (expected vcryptodev.ko)`;
        set("build.driver", false, buildFailed);
      } else {
        if (pick !== "vcryptodev.ko") notes.push(`the module is ${pick}, loaded as the driver`);
        await saveProduct(join(stage, stageModule), b.files.get(pick) as Buffer, false);
        const debugKo = d.ok ? d.files.get(pick) : undefined;
        if (debugKo) await saveProduct(join(stage, stageDebugModule), debugKo, false);
        else {
          debugFailed = d.reason ?? `the build for the debug kernel made no ${pick}`;
          buildLog += `==== driver for the debug kernel (Kbuild, ${(d.ms / 1000).toFixed(1)} s): failed ====\n${d.log}\n`;
        }
      }
    } else buildFailed = b.reason;
  } else await copyFile(driverModulePath, join(stage, stageModule));

  let studentQemu: string | undefined;
  const hasDevice = got.parts.includes("device");
  if (hasDevice) {
    await mkdir(join(stage, dirname(stageHostile)), { recursive: true });
    await copyFile(await hostileModule(), join(stage, stageHostile));
  }
  if (hasDevice && !buildFailed) {
    const ch = await deviceChanges(got.root, got.files);
    if (ch.added.length)
      notes.push(
        `new device files not built (they would need build hooks): ${ch.added.join(", ")}`,
      );
    if (ch.changed.length === 0) {
      notes.push("the device is identical to the reference: the reference QEMU runs it");
      set("build.device", existsSync(patchedQemuPath()));
    } else {
      const b = await phase("build device", () =>
        buildDevice(got.root, ch.changed, uid, {
          timeoutS: lim.deviceBuildS,
          tmpBytes: 2048 * 1024 * 1024,
        }),
      );
      buildLog += `==== device (ninja, ${ch.changed.join(" ")}; ${(b.ms / 1000).toFixed(1)} s) ====\n${b.log}\n`;
      set("build.device", b.ok, b.reason ?? "");
      if (b.ok) {
        studentQemu = join(o.workDir, "bin", "qemu-system-x86_64");
        await saveProduct(studentQemu, b.files.get("qemu-system-x86_64") as Buffer, true);
      } else buildFailed = b.reason;
    }
  }

  // ---------------------------------------------------------------- chat
  // Z1 on the host (sandbox), Z2 and the reference chat in the boot with chatS.
  const hasChat = got.parts.includes("chat");
  const carriesLab = got.parts.includes("driver") || hasDevice;
  const chatRuns: ChatRun[] = [];
  const chatNotRun = (why: string) => {
    for (const id of Object.keys(chatChecks))
      if (!outcomes.has(id) && (id.startsWith("chat.provider_") || id === "chat.reference"))
        outcomes.set(id, { id, status: "not_run", output: `not run: ${why}` });
  };
  const refChat = referenceChatFiles();
  if (refChat.missing !== undefined) chatNotRun(refChat.missing);
  else {
    await saveProduct(join(stage, stageBinding), await readFile(refChat.binding), true);
    if (carriesLab && o.rubric.items.some((i) => i.tests.includes("chat.reference"))) {
      await saveProduct(
        join(stage, stageChatBundle.reference),
        await readFile(refChat.bundle),
        false,
      );
      chatRuns.push({ name: "reference", bundle: stageChatBundle.reference });
    }
  }
  if (hasChat) {
    const c = await phase("chat (Z1 tests, Z2 bundle)", () =>
      buildChat(got.root, uid, { timeoutS: lim.chatS }),
    );
    buildLog += `==== chat (sandbox: esbuild, vitest ${z1TestFiles.join(" ")}; ${(c.ms / 1000).toFixed(1)} s) ====\n${c.log}\n`;
    for (const t of z1Outcomes(c.report, c.reason ?? "no test report")) outcomes.set(t.id, t);
    if (c.bundle && refChat.missing === undefined) {
      await saveProduct(join(stage, stageChatBundle.student), c.bundle, false);
      chatRuns.push({ name: "student", bundle: stageChatBundle.student });
    } else if (!c.bundle) chatNotRun(c.reason ?? "the self-test did not bundle");
  }

  // ---------------------------------------------------------------- boots
  const runs: BootRun[] = [];
  let consoleLog = "";
  if (buildFailed) {
    for (const id of conformanceIds())
      outcomes.set(id, { id, status: "not_run", output: `not run: ${buildFailed}` });
    for (const id of ["smap.nested_pointers", "console.clean", "qemu.alive", "device.hostile"])
      outcomes.set(id, { id, status: "not_run", output: `not run: ${buildFailed}` });
    chatNotRun(buildFailed ?? "");
  } else {
    // a chat alone needs only the boot that runs the chat (the rest is not scored)
    const all = bootsFor({ driver: hasDriver, device: hasDevice }).filter(
      (x) => carriesLab || x.chatS,
    );
    const todo = all.filter((x) => !(debugFailed && x.kernel === "debug"));
    for (const b of all.filter((x) => !todo.includes(x)))
      for (const id of bootTests(b))
        outcomes.set(id, { id, status: "failed", output: `not run: ${debugFailed}` });
    const bootOne = (b: Boot) =>
      phase(`boot ${b.name}`, () =>
        runBoot(
          { ...b, timeoutS: Math.min(b.timeoutS, lim.bootS) },
          {
            stage,
            uid,
            accel: o.accel,
            studentQemu,
            consoleFile: (n) => join(o.workDir, `console-${n}.log`),
            chat: chatRuns,
          },
        ),
      );
    // The first boot alone: one that reported nothing at all (oops at load,
    // deadlock at the first request, QEMU dying at once) would only be
    // repeated by the others, each up to its time limit. The rest run
    // `bootJobs` at a time (each its own QEMU; the order of the logs stays).
    const first = await bootOne(todo[0] as Boot);
    const done: (BootRun | undefined)[] = [first];
    if (first.report.results.length === 0 && first.code !== 0) {
      const why = `not run: the first boot reported no test (${first.reason ?? `exit ${first.code}`})`;
      for (const b of todo.slice(1)) {
        for (const id of bootTests(b)) outcomes.set(id, { id, status: "not_run", output: why });
        const check =
          b.name === "smap"
            ? "smap.nested_pointers"
            : b.name === "hostile"
              ? "device.hostile"
              : undefined;
        if (check) outcomes.set(check, { id: check, status: "not_run", output: why });
        if (b.chatS) chatNotRun(why.replace(/^not run: /, ""));
      }
    } else {
      let next = 1;
      const worker = async () => {
        for (let i = next++; i < todo.length; i = next++) done[i] = await bootOne(todo[i] as Boot);
      };
      await Promise.all(Array.from({ length: Math.max(1, o.bootJobs ?? 1) }, worker));
    }
    for (const run of done) {
      if (!run) continue;
      const b = run.boot;
      runs.push(run);
      consoleLog += `==== boot ${b.name} (${run.seconds.toFixed(1)} s, exit ${run.code}${run.reason ? `: ${run.reason}` : ""}) ====\n`;
      consoleLog += cap(run.console, consoleCap) + "\n";
      consoleLog += `---- boot ${b.name}: the suite's output (KTAP) ----\n${cap(run.stdout, consoleCap / 4)}\n`;
      if (b.name === "smap") outcomes.set("smap.nested_pointers", smapOutcome(run));
      else if (b.name === "hostile")
        outcomes.set("device.hostile", hostileOutcome(run.report, run));
      else for (const t of bootOutcomes(run)) outcomes.set(t.id, worse(outcomes.get(t.id), t));
      if (b.chatS && chatRuns.length) {
        for (const [n, sec] of run.chat)
          consoleLog += `---- boot ${b.name}: the chat self-test (${n}), exit ${sec.exit ?? "none"} ----\n${cap(sec.out, consoleCap / 8)}\n`;
        if (chatRuns.some((c) => c.name === "reference"))
          outcomes.set("chat.reference", referenceOutcome(run.chat.get("reference")));
        if (chatRuns.some((c) => c.name === "student"))
          for (const t of providerOutcomes(run.chat.get("student"))) outcomes.set(t.id, t);
      }
    }
    const oopsBoot = runs.find((r) => oopsLines(r.console).length);
    set(
      "console.clean",
      !oopsBoot,
      oopsBoot
        ? `boot ${oopsBoot.boot.name}:\n${oopsLines(oopsBoot.console).slice(0, 6).join("\n")}`
        : "",
    );
    const trouble = runs.filter((r) => r.qemuTrouble && !r.boot.referenceDevice);
    set(
      "qemu.alive",
      trouble.length === 0,
      trouble.map((r) => `boot ${r.boot.name}: ${r.qemuTrouble}`).join("\n"),
    );
  }
  const oops = runs.map((r) => oopsLines(r.console)).find((l) => l.length) ?? [];
  const scored = scoreRubric(o.rubric, outcomes, got.parts);
  return finish(
    {
      status: "graded",
      ...(buildFailed ? { reason: buildFailed } : {}),
      parts: got.parts,
      scored,
      oops,
      key,
    },
    { build: buildLog, console: consoleLog },
  );
}
