import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { defineCommand } from "../lib/command.ts";
import { ensurePackages } from "../debian/apt.ts";
import { buildTargets } from "../build/runner.ts";
import { LabError, UsageError } from "../lib/errors.ts";
import { oneOfArg } from "../lib/args.ts";
import { rootfsFlavours } from "../vm/options.ts";
import { info, step, warn } from "../lib/log.ts";
import { buildrootInput, buildrootTarballName } from "../guest/buildroot.ts";
import { repoRoot } from "../lib/paths.ts";
import { findTask, labTasks, taskOfTest } from "../handout/tasks.ts";
import { repoFiles } from "../handout/kit.ts";
import { formatSummary, summarize, type VitestReport } from "../handout/summary.ts";

async function tool(title: string, cmd: string, args: string[]): Promise<void> {
  await step(title, async () => {
    const r = await execa(cmd, args, {
      cwd: repoRoot,
      preferLocal: true,
      stdio: ["ignore", "inherit", "inherit"],
      reject: false,
    });
    // Its findings are on the terminal already: one line, no stack trace.
    if (r.failed)
      throw new LabError(`${title} failed (exit ${r.exitCode ?? r.signal ?? "?"}): see above`, 1);
  });
}

/**
 * The Buildroot guest's rootfs for its test, built before vitest (minutes
 * from clean: its progress on the console, not inside a test hook). Only
 * when Buildroot can be found (`$LAB_BUILDROOT` or the shared tarball):
 * otherwise the test skips and says why. A failure does not stop the other
 * tests: the test builds again in its beforeAll and fails with the error.
 */
async function buildBuildrootForItsTest(file: string): Promise<void> {
  try {
    await buildTargets(["rootfs-buildroot"], { force: false });
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    warn(`the Buildroot guest did not build (${file} will fail): ${e.message.split("\n")[0]}`);
  }
}

/** The repository's test files that belong to task `id` (tasks.ts). */
async function testFilesOf(id: string): Promise<string[]> {
  return (await repoFiles()).filter((f) => f.endsWith(".test.ts") && taskOfTest(f)?.id === id);
}

export default defineCommand({
  summary: "run every test: lint, types, host unit tests, VM end-to-end tests",
  usage: `usage: lab test [--unit | --vm] [--task zN] [--no-lint] [--rootfs buildroot] [-- VITEST ARGS...]

Installs what is missing (Debian packages, builds: \`all\` and the debug
kernel, \`lab build debug\`), checks lint and types,
then runs vitest: the \`unit\` project (host: TypeScript, the device's C unit
tests, the fuzz smoke run, the patch check) and the \`vm\` project (end to
end through the real guest and device). Ends with one line
\`tests: N passed, N failed, N skipped\`, after a summary by task (Z1-Z3
of the lab, scripts/handout/tasks.ts).

  --unit      host-side tests only (no build, no VM)
  --vm        VM tests only
  --task zN   the test files of one task only (${labTasks.map((t) => t.id.toLowerCase()).join(", ")}); no lint
  --no-lint   skip eslint, prettier and tsc
  --rootfs F  run the VM tests on that guest flavour: initramfs (default) or
              buildroot (built first: \`lab build rootfs-buildroot\`; sets
              $LAB_ROOTFS for every \`lab run\` the tests make)

The Buildroot guest's own test (vm/test/buildroot.vm.test.ts) runs when
Buildroot is found ($LAB_BUILDROOT, or shared/buildroot/${buildrootTarballName}
beside the repository); its rootfs is built before vitest (minutes from
clean, cached after). Without it that test skips and says why.`,
  options: {
    unit: { type: "boolean" },
    vm: { type: "boolean" },
    task: { type: "string" },
    "no-lint": { type: "boolean" },
    rootfs: { type: "string" },
  },
  command: true,
  async run({ values, command: passthrough }) {
    if (values.unit && values.vm) throw new UsageError("lab test: --unit or --vm, not both");
    const project = values.unit ? "unit" : values.vm ? "vm" : undefined;
    const task = values.task === undefined ? undefined : findTask(values.task);
    if (values.task !== undefined && !task)
      throw new UsageError(
        `lab test: unknown task '${values.task}' (one of: ${labTasks.map((t) => t.id.toLowerCase()).join(", ")})`,
      );
    const lint = !values["no-lint"] && !task;
    const rootfs = oneOfArg("--rootfs", values.rootfs ?? "initramfs", rootfsFlavours);

    await ensurePackages("guest", "qemu", "driver", "fuzz", "chat", "bench", "grade");
    if (lint) {
      await tool("eslint", "eslint", ["."]);
      await tool("prettier --check", "prettier", ["--check", "--log-level", "warn", "."]);
      await tool("tsc --noEmit", "tsc", ["-p", "tsconfig.json", "--noEmit"]);
    }
    const taskFiles = task ? await testFilesOf(task.id) : [];
    const needVm = !task || taskFiles.some((f) => f.endsWith(".vm.test.ts"));
    // The debug kernel (vm/kernel-debug: ~15 min of 2 cores from source, once)
    // is built here, not by `npm start`: only its tests boot it.
    const needDebug = !task || taskFiles.some((f) => f.includes("kernel-debug"));
    if (project !== "unit" && needVm) {
      await buildTargets(
        [
          "all",
          ...(needDebug ? ["debug"] : []),
          ...(rootfs === "buildroot" ? ["rootfs-buildroot"] : []),
        ],
        { force: false },
      );
      const brTest = "vm/test/buildroot.vm.test.ts";
      if (
        rootfs !== "buildroot" &&
        buildrootInput() &&
        (task ? taskFiles.includes(brTest) : passthrough.length === 0)
      )
        await buildBuildrootForItsTest(brTest);
    }

    const outDir = join(repoRoot, "out");
    await mkdir(outDir, { recursive: true });
    const jsonFile = join(outDir, "vitest-results.json");
    const args = [
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${jsonFile}`,
      ...(project ? ["--project", project] : []),
      ...taskFiles,
      ...passthrough,
    ];
    info(`vitest ${args.join(" ")}`);
    const r = await execa("vitest", args, {
      cwd: repoRoot,
      preferLocal: true,
      stdio: ["ignore", "inherit", "inherit"],
      reject: false,
      env: rootfs === "buildroot" ? { LAB_ROOTFS: "buildroot" } : {},
    });
    try {
      const j = JSON.parse(await readFile(jsonFile, "utf8")) as VitestReport;
      const skipped = j.numPendingTests + j.numTodoTests;
      for (const line of formatSummary(summarize(j, repoRoot, new Date().toISOString())))
        process.stdout.write(`${line}\n`);
      process.stdout.write(
        `tests: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${skipped} skipped\n`,
      );
    } catch {
      process.stdout.write("tests: 0 passed, 1 failed\n");
      info("vitest wrote no results (it failed before running tests)");
      return r.exitCode || 1;
    }
    return r.exitCode ?? 1;
  },
});
