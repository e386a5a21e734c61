import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { defineCommand } from "../lib/command.ts";
import { ensurePackages } from "../debian/apt.ts";
import { buildTargets } from "../build/runner.ts";
import { UsageError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
}

async function tool(title: string, cmd: string, args: string[]): Promise<void> {
  await step(title, async () => {
    await execa(cmd, args, {
      cwd: repoRoot,
      preferLocal: true,
      stdio: ["ignore", "inherit", "inherit"],
    });
  });
}

export default defineCommand({
  summary: "run every test: lint, types, host unit tests, VM end-to-end tests",
  usage: `usage: lab test [--unit | --vm] [--no-lint] [-- VITEST ARGS...]

Installs what is missing (Debian packages, builds), checks lint and types,
then runs vitest: the \`unit\` project (host: TypeScript, the device's C unit
tests, the fuzz smoke run, the patch check) and the \`vm\` project (end to
end through the real guest and device). Ends with one line
\`tests: N passed, N failed, N skipped\`.

  --unit      host-side tests only (no build, no VM)
  --vm        VM tests only
  --no-lint   skip eslint, prettier and tsc`,
  options: { unit: { type: "boolean" }, vm: { type: "boolean" }, "no-lint": { type: "boolean" } },
  command: true,
  async run({ values, command: passthrough }) {
    if (values.unit && values.vm) throw new UsageError("lab test: --unit or --vm, not both");
    const project = values.unit ? "unit" : values.vm ? "vm" : undefined;
    const lint = !values["no-lint"];

    await ensurePackages("guest", "qemu", "driver", "fuzz", "chat", "bench", "grade");
    if (lint) {
      await tool("eslint", "eslint", ["."]);
      await tool("prettier --check", "prettier", ["--check", "--log-level", "warn", "."]);
      await tool("tsc --noEmit", "tsc", ["-p", "tsconfig.json", "--noEmit"]);
    }
    if (project !== "unit") await buildTargets(["all"], { force: false });

    const outDir = join(repoRoot, "out");
    await mkdir(outDir, { recursive: true });
    const jsonFile = join(outDir, "vitest-results.json");
    const args = [
      "run",
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${jsonFile}`,
      ...(project ? ["--project", project] : []),
      ...passthrough,
    ];
    info(`vitest ${args.join(" ")}`);
    const r = await execa("vitest", args, {
      cwd: repoRoot,
      preferLocal: true,
      stdio: ["ignore", "inherit", "inherit"],
      reject: false,
    });
    try {
      const j = JSON.parse(await readFile(jsonFile, "utf8")) as VitestJson;
      const skipped = j.numPendingTests + j.numTodoTests;
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
