import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";

/**
 * `lab build conformance`: the guest test programs of guest-driver/tests/
 * (one static binary per .c file: conformance, speed), built on the host
 * with `gcc -static -O2 -pthread` into guest-driver/tests/build/, which the
 * guest sees at /lab/guest-driver/tests/build/; and conformance32, the same
 * suite built with `-m32` (a 32-bit program: the driver's compat_ioctl).
 */

export const testsDir = join(repoRoot, "guest-driver", "tests");
export const testsBuildDir = join(testsDir, "build");
const includeDir = join(repoRoot, "include");
const cflags = ["-static", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", `-I${includeDir}`];

/** The path of a built test program, e.g. testProgram("conformance"). */
export function testProgram(name: string): string {
  return join(testsBuildDir, name);
}

/** Programs also built as 32-bit (i386) binaries, named <name>32. */
const builds32 = ["conformance.c"];

async function programs(): Promise<string[]> {
  return (await readdir(testsDir)).filter((n) => n.endsWith(".c")).sort();
}

async function conformanceKey(): Promise<string> {
  const files = (await readdir(testsDir))
    .filter((n) => /\.[ch]$/.test(n))
    .sort()
    .map((n) => join(testsDir, n));
  files.push(join(includeDir, "crypto", "cryptodev.h"));
  const gcc = await sh({ nothrow: true })`gcc --version`;
  const parts: (string | Buffer)[] = [
    cflags.join(" "),
    builds32.join(" "),
    gcc.stdout.split("\n")[0] ?? "",
  ];
  for (const f of files) parts.push(relative(repoRoot, f), await readFile(f));
  return hashKey(parts);
}

const target: BuildTarget = {
  name: "conformance",
  packages: ["driver"],
  summary:
    "guest test programs guest-driver/tests/build/{conformance,speed,conformance32} (static gcc, -m32)",
  deps: [],
  async build({ force }) {
    const srcs = await programs();
    const key = await conformanceKey();
    const outs = srcs.map((s) => testProgram(s.replace(/\.c$/, "")));
    const outs32 = builds32.map((s) => testProgram(s.replace(/\.c$/, "32")));
    if (
      !force &&
      [...outs, ...outs32].every((o) => existsSync(o)) &&
      (await readStamp(testsBuildDir)) === key
    )
      return "up-to-date";
    await ensurePackages("driver");
    await mkdir(testsBuildDir, { recursive: true });
    await step(`building ${srcs.length} guest test programs (gcc -static)`, async (progress) => {
      for (const [i, src] of srcs.entries()) {
        progress(src);
        const out = outs[i] as string;
        const r = await sh({ nothrow: true })`gcc ${cflags} -o ${out} ${join(testsDir, src)} 2>&1`;
        if (r.exitCode !== 0)
          throw new LabError(
            `gcc ${src} failed:\n${r.stdout.trim()}`,
            1,
            "fix guest-driver/tests/",
          );
      }
      for (const [i, src] of builds32.entries()) {
        progress(`${src} -m32`);
        const out = outs32[i] as string;
        const r = await sh({
          nothrow: true,
        })`gcc -m32 ${cflags} -o ${out} ${join(testsDir, src)} 2>&1`;
        if (r.exitCode !== 0)
          throw new LabError(
            `gcc -m32 ${src} failed:\n${r.stdout.trim()}`,
            1,
            "the 32-bit build needs gcc-multilib (lab build installs it); fix guest-driver/tests/",
          );
      }
    });
    await writeStamp(testsBuildDir, key);
    return "built";
  },
  async clean() {
    await rm(testsBuildDir, { recursive: true, force: true });
  },
};
export default target;
