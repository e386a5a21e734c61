import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import type { BuildTarget } from "./target.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { guestModules } from "../guest/artifacts.ts";
import {
  buildrootDir,
  buildrootExternal,
  buildrootFragment,
  buildrootLogPath,
  buildrootOutputDir,
  buildrootPin,
  buildrootRootfsPath,
} from "../guest/buildroot.ts";
import { kernelBuildDir, kernelKey, kernelModulesDir, kernelRelease } from "../guest/kernel.ts";
import { loadLevels, parseModulesDep, resolveModules } from "../guest/modules-dep.ts";
import { hostConfig, overrideFile } from "./buildroot/config.ts";
import { debianInputs } from "./buildroot/debian.ts";
import { buildrootMake } from "./buildroot/make.ts";
import { buildrootTree } from "./buildroot/source.ts";
import { labToolchain } from "./buildroot/toolchain.ts";

/**
 * `lab build rootfs-buildroot`: the Buildroot guest flavour. Buildroot
 * (verified by commit id, scripts/build/buildroot/source.ts) builds the
 * external tree vm/buildroot/ (lab_defconfig, then the menuconfig fragment,
 * then this machine's paths) with a toolchain and package sources made from
 * Debian, into the cache; the result is a gzip'd cpio rootfs booted by
 * `lab run|boot|test --rootfs buildroot` on the same kernel and command
 * line as the default initramfs.
 *
 * Two keys: the base (Buildroot, toolchain, Debian sources, kernel) — when
 * it changes the output folder is rebuilt from clean — and the full key
 * (the base plus the configuration and the lab's own package sources) —
 * when only that changes, the lab's packages are rebuilt and the rootfs
 * repacked.
 */

const recipeVersion = "rootfs-buildroot-1";
const labPackages = ["lab-agent", "lab-module", "lab-tests"];

/** Every file under `dir` (sorted, relative to the repository), skipping build products. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== "build") await walk(p);
      } else if (
        e.isFile() &&
        !/\.(o|ko|mod|mod\.c|cmd|a)$|^Module\.symvers$|^modules\.order$/.test(e.name)
      )
        out.push(p);
    }
  };
  await walk(dir);
  return out;
}

/** The sources of the lab's packages and the external tree, hashed. */
async function labSourcesKey(): Promise<string> {
  const files = [
    ...(await filesUnder(buildrootExternal)),
    join(repoRoot, "vm", "init"),
    join(repoRoot, "vm", "guest", "labexec.c"),
    ...(await filesUnder(join(repoRoot, "guest-driver", "module"))),
    ...(await filesUnder(join(repoRoot, "include"))),
    ...(await filesUnder(join(repoRoot, "guest-driver", "tests"))).filter((f) => /\.[ch]$/.test(f)),
  ];
  const parts: (string | Buffer)[] = [];
  for (const f of files) parts.push(relative(repoRoot, f), await readFile(f));
  return hashKey(parts);
}

/**
 * The kernel's modules the guest loads (the initramfs flavour's list and
 * their dependencies) and etc/lab/{modules,release}, staged for
 * vm/buildroot/board/post-build.sh.
 */
async function stageKernelModules(stage: string): Promise<void> {
  await rm(stage, { recursive: true, force: true });
  const modDir = kernelModulesDir();
  const dep = parseModulesDep(await readFile(join(modDir, "modules.dep"), "utf8"));
  const order = resolveModules(dep, guestModules);
  const levels = loadLevels(dep, order);
  for (const m of order) {
    const dest = join(stage, "lib", "modules", m);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(join(modDir, m), dest);
  }
  await mkdir(join(stage, "etc", "lab"), { recursive: true });
  await writeFile(
    join(stage, "etc", "lab", "modules"),
    levels.map((l) => l.join(" ")).join("\n") + "\n",
  );
  await writeFile(join(stage, "etc", "lab", "release"), kernelRelease() + "\n");
}

/** lab_defconfig, the saved menuconfig fragment, then this machine's lines. */
async function fullDefconfig(host: string): Promise<string> {
  const base = await readFile(join(buildrootExternal, "configs", "lab_defconfig"), "utf8");
  const fragment = existsSync(buildrootFragment) ? await readFile(buildrootFragment, "utf8") : "";
  return `${base}\n${fragment}\n${host}`;
}

export interface Prepared {
  tree: string;
  root: string;
  output: string;
  defconfig: string;
  baseKey: string;
  fullKey: string;
}

/**
 * Everything up to `make`: the verified tree, the Debian inputs, the
 * toolchain, the staged modules, the override file and the full defconfig
 * (written), and both keys. `lab buildroot menuconfig` starts from here too.
 */
export async function prepareBuildroot(flag?: string): Promise<Prepared> {
  const root = buildrootDir();
  await mkdir(root, { recursive: true });
  const tree = await buildrootTree(flag);
  if (!existsSync(join(kernelBuildDir(), "Makefile")))
    throw new LabError(`no kernel headers at ${kernelBuildDir()}`, 1, "run `lab build kernel`");
  const deb = await debianInputs(root);
  const toolchain = await labToolchain(root);
  const stage = join(root, "stage");
  await stageKernelModules(stage);
  const overridePath = join(root, "override.mk");
  const emptyDir = join(root, "empty");
  await mkdir(emptyDir, { recursive: true });
  const overrides = overrideFile({ overrides: deb.overrides, binaries: deb.binaries, emptyDir });
  await writeFile(overridePath, overrides);
  const host = hostConfig({
    toolchain: toolchain.path,
    dlDir: deb.dlDir,
    overrideFile: overridePath,
    busyboxConfig: deb.busyboxConfig,
    kernelBuildDir: kernelBuildDir(),
    moduleStage: stage,
    jobs: Math.max(1, availableParallelism()),
  });
  const defconfigText = await fullDefconfig(host);
  const defconfig = join(root, "lab_full_defconfig");
  await writeFile(defconfig, defconfigText);
  const baseKey = hashKey([
    recipeVersion,
    buildrootPin.commit,
    ...toolchain.versions,
    ...deb.versions,
    kernelKey(),
    overrides,
  ]);
  const fullKey = hashKey([baseKey, defconfigText, await labSourcesKey()]);
  return { tree, root, output: buildrootOutputDir(), defconfig, baseKey, fullKey };
}

/** `make ... defconfig` from the full defconfig (the output folder's .config). */
export async function configureBuildroot(p: Prepared): Promise<void> {
  await mkdir(p.output, { recursive: true });
  await buildrootMake({
    tree: p.tree,
    output: p.output,
    external: buildrootExternal,
    log: buildrootLogPath(),
    args: [`BR2_DEFCONFIG=${p.defconfig}`, "defconfig"],
    announce: false,
  });
}

const baseStamp = (output: string) => join(output, ".lab-base");

const target: BuildTarget = {
  name: "rootfs-buildroot",
  packages: ["buildroot"],
  summary: `the Buildroot guest rootfs (Buildroot ${buildrootPin.version}, vm/buildroot; --buildroot or $LAB_BUILDROOT)`,
  deps: ["kernel"],
  async build({ force, buildroot }) {
    const p = await prepareBuildroot(buildroot);
    if (!force && (await readStamp(p.root)) === p.fullKey && existsSync(buildrootRootfsPath()))
      return "up-to-date";
    const clean =
      force || (await readFile(baseStamp(p.output), "utf8").catch(() => "")).trim() !== p.baseKey;
    if (clean) await rm(p.output, { recursive: true, force: true });
    await rm(buildrootLogPath(), { force: true });
    info(`Buildroot's output goes to ${buildrootLogPath()}`);
    await step(
      `building the Buildroot guest${clean ? " from clean" : " (the lab's packages)"}`,
      async () => {
        await configureBuildroot(p);
        await writeFile(baseStamp(p.output), p.baseKey + "\n");
        const mk = (args: string[], announce: boolean) =>
          buildrootMake({
            tree: p.tree,
            output: p.output,
            external: buildrootExternal,
            log: buildrootLogPath(),
            args,
            announce,
          });
        if (!clean)
          await mk(
            labPackages.map((n) => `${n}-dirclean`),
            false,
          );
        await mk([], true);
      },
    );
    const image = join(p.output, "images", "rootfs.cpio.gz");
    if (!existsSync(image)) throw new LabError(`Buildroot left no ${image}`);
    const tmp = `${buildrootRootfsPath()}.${process.pid}.tmp`;
    await copyFile(image, tmp);
    await rename(tmp, buildrootRootfsPath());
    await writeStamp(p.root, p.fullKey);
    return "built";
  },
  async clean() {
    await rm(buildrootDir(), { recursive: true, force: true });
  },
};
export default target;
