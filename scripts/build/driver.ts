import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { kernelBuildDir, kernelKey } from "../guest/kernel.ts";
import { step } from "../lib/log.ts";
import { cachePath, driverModulePath, repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";

/**
 * `lab build driver`: the vcryptodev module, built in place by Kbuild
 * against the cached Debian headers (`make -C kernelBuildDir() M=...`), so
 * the guest loads guest-driver/module/vcryptodev.ko through the /lab share.
 * Up to date while its sources, the shared headers and the kernel are.
 */

export const moduleDir = join(repoRoot, "guest-driver", "module");
export const sharedHeaders = [
  join(repoRoot, "include", "virtio_cryptodev.h"),
  join(repoRoot, "include", "crypto", "cryptodev.h"),
];
const stampDir = () => cachePath("driver");

/** The module's own sources: C, headers and the Kbuild/Makefile. */
export async function moduleSources(): Promise<string[]> {
  const names = (await readdir(moduleDir)).filter(
    (n) => (/\.[ch]$/.test(n) && !n.endsWith(".mod.c")) || n === "Kbuild" || n === "Makefile",
  );
  return names.sort().map((n) => join(moduleDir, n));
}

/** Hash of the inputs: file names and contents, the kernel release and tree. */
export async function driverKey(): Promise<string> {
  const parts: (string | Buffer)[] = [kernelKey()];
  for (const f of [...(await moduleSources()), ...sharedHeaders])
    parts.push(relative(repoRoot, f), await readFile(f));
  return hashKey(parts);
}

/** Runs Kbuild on the module folder; `W=1` keeps the extra warnings on. */
export async function makeModule(args: readonly string[] = ["modules"]): Promise<string> {
  const r = await sh({
    nothrow: true,
  })`make -C ${kernelBuildDir()} M=${moduleDir} W=1 ${args} 2>&1`;
  if (r.exitCode !== 0) {
    const tail = r.stdout.trim().split("\n").slice(-25).join("\n");
    throw new LabError(
      `building the driver failed:\n${tail}`,
      1,
      "fix the errors above in guest-driver/module/",
    );
  }
  return r.stdout;
}

const target: BuildTarget = {
  name: "driver",
  packages: ["driver"],
  summary: "the guest driver module guest-driver/module/vcryptodev.ko (Kbuild, cached headers)",
  deps: ["kernel"],
  async build({ force }) {
    const key = await driverKey();
    if (!force && existsSync(driverModulePath) && (await readStamp(stampDir())) === key)
      return "up-to-date";
    await ensurePackages("driver");
    if (!existsSync(join(kernelBuildDir(), "Makefile")))
      throw new LabError(`no kernel headers at ${kernelBuildDir()}`, 1, "run `lab build kernel`");
    await step("building vcryptodev.ko (Kbuild)", async () => {
      const out = await makeModule();
      const warnings = out.split("\n").filter((l) => /\bwarning:/.test(l));
      if (warnings.length) throw new LabError(`the driver has warnings:\n${warnings.join("\n")}`);
    });
    if (!existsSync(driverModulePath)) throw new LabError(`Kbuild left no ${driverModulePath}`);
    await mkdir(stampDir(), { recursive: true });
    await writeStamp(stampDir(), key);
    return "built";
  },
  async clean() {
    if (existsSync(join(kernelBuildDir(), "Makefile"))) await makeModule(["clean"]);
    else await rm(driverModulePath, { force: true });
    await rm(stampDir(), { recursive: true, force: true });
  },
};
export default target;
