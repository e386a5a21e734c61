import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { servedPackages } from "../debian/apt-index.ts";
import { ensurePackages } from "../debian/apt.ts";
import { readStamp, freshDir, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { debug, info, step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { recipe, sh } from "../lib/sh.ts";
import { unstuckSymbols } from "../guest/kconfig.ts";
import {
  debugFragment,
  debugSource,
  kernelDebugBuildDir,
  kernelDebugDir,
  kernelDebugImagePath,
  kernelDebugKey,
  kernelDebugLog,
  kernelDebugSrcDir,
} from "../guest/kernel-debug.ts";
import { fetchDeb } from "./kernel.ts";
import { withFileLock } from "./qemu/lock.ts";
import type { BuildTarget } from "./target.ts";

/**
 * `lab build kernel-debug`: the debug guest kernel from Debian's
 * `linux-source-X.Y` of the default kernel's version. Source unpacked once
 * per version; `make tinyconfig`, the fragment merged by the kernel's own
 * scripts/kconfig/merge_config.sh, `make olddefconfig`, a check that every
 * fragment line stuck, then `make -jN` into the O= tree (kept: a changed
 * fragment rebuilds incrementally). The make log goes to build.log beside it.
 */

const srcStamp = (dir: string) => join(dir, ".lab-source");

/** Downloads linux-source (sha256 from apt's index) and unpacks its tarball. */
async function ensureSource(): Promise<string> {
  const src = debugSource();
  const dir = kernelDebugSrcDir(src.version);
  try {
    if ((await readFile(srcStamp(dir), "utf8")).trim() === src.version) return dir;
  } catch {
    // not unpacked yet
  }
  const pin = (await servedPackages([src.name]))
    .get(src.name)
    ?.find((p) => p.version === src.version);
  if (!pin)
    throw new LabError(
      `apt does not serve ${src.name}=${src.version} (the default kernel's version)`,
      1,
      "run `apt-get update`; `lab build kernel` resolves the kernel series again",
    );
  const deb = await step(`downloading ${src.name} ${src.version}`, () =>
    fetchDeb(pin, join(kernelDebugDir(), "debs")),
  );
  // Older versions' trees are of no use once the series moved on.
  for (const n of await readdir(kernelDebugDir()))
    if (n.startsWith("src-")) await rm(join(kernelDebugDir(), n), { recursive: true, force: true });
  await step(`unpacking ${src.name} ${src.version}`, () =>
    recipe(`unpacking ${src.name}`, async () => {
      const tmp = await freshDir(`${dir}.${process.pid}.tmp`);
      await sh()`dpkg -x ${deb} ${join(tmp, "deb")}`;
      const usrSrc = join(tmp, "deb", "usr", "src");
      const tarball = (await readdir(usrSrc)).find((n) => /^linux-source-.*\.tar\.xz$/.test(n));
      if (!tarball) throw new LabError(`${deb}: no linux-source tarball in /usr/src`);
      await mkdir(join(tmp, "tree"));
      await sh()`tar -xJf ${join(usrSrc, tarball)} -C ${join(tmp, "tree")} --strip-components=1`;
      await rename(join(tmp, "tree"), dir);
      await rm(tmp, { recursive: true, force: true });
      await writeFile(srcStamp(dir), src.version + "\n");
    }),
  );
  return dir;
}

/** tinyconfig + fragment (merge_config.sh) + olddefconfig; fails when a fragment line did not stick. */
async function configure(src: string, out: string): Promise<void> {
  await recipe("configuring the debug kernel", async () => {
    await sh({ cwd: src })`make O=${out} tinyconfig`;
    await sh({
      cwd: src,
    })`./scripts/kconfig/merge_config.sh -m -O ${out} ${join(out, ".config")} ${debugFragment}`;
    await sh({ cwd: src })`make O=${out} olddefconfig`;
  });
  const unstuck = unstuckSymbols(
    await readFile(debugFragment, "utf8"),
    await readFile(join(out, ".config"), "utf8"),
  );
  if (unstuck.length)
    throw new LabError(
      `the debug kernel config lost ${unstuck.length} fragment line(s): ${unstuck
        .map((u) => `CONFIG_${u.symbol}=${u.wanted} (got ${u.got})`)
        .join(", ")}`,
      1,
      `a symbol whose dependencies are off drops out silently: add them to ${relative(repoRoot, debugFragment)}`,
    );
}

/**
 * `make -jN all` in the O= tree: every line to the log file, the latest
 * compiled file and a count on the status line, the log's tail on failure.
 */
function make(src: string, out: string, progress: (d: string) => void): Promise<number> {
  const jobs = availableParallelism();
  const log = createWriteStream(kernelDebugLog());
  const child = spawn("make", [`O=${out}`, `-j${jobs}`, "all"], {
    cwd: src,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const tail: string[] = [];
  let compiled = 0;
  const onLine = (line: string) => {
    log.write(line + "\n");
    tail.push(line);
    if (tail.length > 40) tail.shift();
    const m = /^\s+(CC|AS|LD|AR|OBJCOPY|GZIP)(?: \[M\])?\s+(\S+)/.exec(line);
    if (m) {
      if (m[1] === "CC") compiled++;
      progress(`-j${jobs}, ${compiled} files compiled: ${m[1]} ${m[2]}`);
    }
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  return new Promise((res, rej) => {
    child.once("error", (e) => rej(new LabError(`cannot run make: ${e.message}`)));
    child.once("close", (code) => {
      log.end();
      if (code === 0) return res(compiled);
      const errs = tail.filter((l) => /error|Error \d/.test(l)).slice(-8);
      rej(
        new LabError(
          `building the debug kernel failed (make exit ${code}); log: ${kernelDebugLog()}`,
          1,
          (errs.length ? errs : tail.slice(-8)).join("\n    "),
        ),
      );
    });
  });
}

/** The build proper, holding the cache's kernel-debug lock. */
async function buildLocked(key: string, out: string): Promise<void> {
  await ensurePackages("kernelBuild");
  const src = await ensureSource();
  // A tree built from another source version is not reused.
  const built = await readFile(join(out, ".lab-source"), "utf8").catch(() => "");
  if (built.trim() !== src) await freshDir(out);
  await writeFile(join(out, ".lab-source"), src + "\n");
  await rm(join(out, ".lab-stamp"), { force: true });
  await step("configuring the debug kernel (tinyconfig + lab.config)", () => configure(src, out));
  const files = await step("building the debug kernel", (progress) => make(src, out, progress));
  for (const f of [kernelDebugImagePath(), join(out, "Module.symvers")])
    if (!existsSync(f)) throw new LabError(`debug kernel build incomplete: ${f} missing`);
  await writeStamp(out, key);
  info(
    `kernel-debug: ${kernelDebugImagePath()} (${files} files compiled; log ${kernelDebugLog()})`,
  );
  debug(`kernel-debug key ${key}`);
}

const target: BuildTarget = {
  name: "kernel-debug",
  packages: ["kernelBuild"],
  summary:
    "debug guest kernel (lockdep, atomic-sleep, KASAN, KFENCE, UBSAN) from Debian's linux-source, tinyconfig + vm/kernel-debug/lab.config",
  // The default kernel's resolution says which source version to build.
  deps: ["kernel"],
  async build({ force }) {
    const key = kernelDebugKey();
    const out = kernelDebugBuildDir();
    const current = async () =>
      !force && (await readStamp(out)) === key && existsSync(kernelDebugImagePath());
    if (await current()) return "up-to-date";
    await mkdir(kernelDebugDir(), { recursive: true });
    // One build per cache: a second one waits, then finds the first one's result.
    return withFileLock(join(kernelDebugDir(), ".lock"), "`lab build kernel-debug`", async () => {
      if (await current()) return "up-to-date";
      await buildLocked(key, out);
      return "built";
    });
  },
  async clean() {
    await rm(kernelDebugDir(), { recursive: true, force: true });
  },
};
export default target;
