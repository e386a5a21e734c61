import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import { driverDebugDir, driverDebugModulePath } from "../guest/flavour.ts";
import { kernelDebugBuildDir, kernelDebugKey } from "../guest/kernel-debug.ts";
import { moduleSources, sharedHeaders } from "./driver.ts";
import type { BuildTarget } from "./target.ts";

/**
 * `lab build driver-debug`: vcryptodev.ko for the debug kernel, built by
 * Kbuild against its O= tree from a copy of guest-driver/module/ in
 * out/driver-debug/ (Kbuild writes its objects beside the sources, and the
 * in-place build belongs to the default kernel). Two levels below the
 * repository, the module's `-I$(src)/../../include` still finds include/.
 */

/** Kbuild on an out-of-tree module folder against the debug kernel; W=1, warnings fail. */
export async function makeDebugModules(
  dir: string,
  args: readonly string[] = ["modules"],
): Promise<string> {
  const r = await sh({ nothrow: true })`make -C ${kernelDebugBuildDir()} M=${dir} W=1 ${args} 2>&1`;
  if (r.exitCode !== 0)
    throw new LabError(
      `building ${relative(repoRoot, dir)} against the debug kernel failed:\n${r.stdout.trim().split("\n").slice(-25).join("\n")}`,
    );
  return r.stdout;
}

async function driverDebugKey(): Promise<string> {
  const parts: (string | Buffer)[] = ["driver-debug-1", kernelDebugKey()];
  for (const f of [...(await moduleSources()), ...sharedHeaders])
    parts.push(relative(repoRoot, f), await readFile(f));
  return hashKey(parts);
}

const target: BuildTarget = {
  name: "driver-debug",
  packages: ["driver"],
  summary: "the guest driver built against the debug kernel (out/driver-debug/vcryptodev.ko)",
  deps: ["kernel-debug"],
  async build({ force }) {
    const key = await driverDebugKey();
    if (!force && existsSync(driverDebugModulePath) && (await readStamp(driverDebugDir)) === key)
      return "up-to-date";
    await ensurePackages("driver");
    await step("building vcryptodev.ko for the debug kernel (Kbuild)", async () => {
      await rm(driverDebugDir, { recursive: true, force: true });
      await mkdir(driverDebugDir, { recursive: true });
      for (const f of await moduleSources()) await copyFile(f, join(driverDebugDir, basename(f)));
      const out = await makeDebugModules(driverDebugDir);
      const warnings = out.split("\n").filter((l) => /\bwarning:/.test(l));
      if (warnings.length) throw new LabError(`the driver has warnings:\n${warnings.join("\n")}`);
    });
    if (!existsSync(driverDebugModulePath))
      throw new LabError(`Kbuild left no ${driverDebugModulePath}`);
    await writeStamp(driverDebugDir, key);
    return "built";
  },
  async clean() {
    await rm(driverDebugDir, { recursive: true, force: true });
  },
};
export default target;
