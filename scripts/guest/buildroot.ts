import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { readStamp } from "../lib/cache.ts";
import { cachePath, repoRoot } from "../lib/paths.ts";

/**
 * The Buildroot guest flavour: which Buildroot the lab builds it with (the
 * pinned release, verified by its git commit id), where its parts land in
 * the cache, and the rootfs it produces (a gzip'd cpio archive booted as
 * the initramfs, like the default flavour). The build itself is
 * scripts/build/rootfs-buildroot.ts; the external tree is vm/buildroot/.
 */

/** The Buildroot release the external tree and the recipe were tested with. */
export const buildrootPin = {
  version: "2025.02.16",
  /** `git rev-parse 2025.02.16^{commit}`; `xz -dc TARBALL | git get-tar-commit-id`. */
  commit: "135af563b945b8c3d18f8fd370370075b9edb140",
} as const;

/** The tarball's name as the project's shared test input names it. */
export const buildrootTarballName = `buildroot-${buildrootPin.version}.tar.xz`;

/** The BR2_EXTERNAL tree in the repository. */
export const buildrootExternal = join(repoRoot, "vm", "buildroot");
/** menuconfig changes (`lab buildroot menuconfig`), applied after lab_defconfig. */
export const buildrootFragment = join(buildrootExternal, "configs", "lab_menuconfig.fragment");

export function buildrootDir(): string {
  return cachePath("buildroot");
}
/** The rootfs archive the guest boots with `--rootfs buildroot`. */
export function buildrootRootfsPath(): string {
  return join(buildrootDir(), "rootfs.cpio.gz");
}
/** Buildroot's own output, whole (the console shows one line per package). */
export function buildrootLogPath(): string {
  return join(buildrootDir(), "build.log");
}
/** Buildroot's output folder (O=): .config, build/, host/, target/, images/. */
export function buildrootOutputDir(): string {
  return join(buildrootDir(), "output");
}

/** Whether a built rootfs is there (current or not). */
export function buildrootRootfsPresent(): boolean {
  return existsSync(buildrootRootfsPath());
}

/** The key the last successful build recorded (compared with the inputs' key by the target). */
export function buildrootBuiltKey(): Promise<string | undefined> {
  return readStamp(buildrootDir());
}

/**
 * The project's shared test input, when this checkout sits beside it:
 * `shared/buildroot/<tarball>` in the repository's parent folder or any
 * folder above (a clone in /work/x and a worktree in /work/wt/x both find
 * /work/shared).
 */
export function sharedBuildrootTarball(from: string = repoRoot): string | undefined {
  let dir = dirname(resolve(from));
  for (;;) {
    const p = join(dir, "shared", "buildroot", buildrootTarballName);
    if (existsSync(p) && statSync(p).isFile()) return p;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * Where Buildroot comes from: `--buildroot`, else $LAB_BUILDROOT, else the
 * shared test input found from `checkout` (the repository; a test passes
 * another folder).
 */
export function buildrootInput(
  flag?: string,
  checkout: string = repoRoot,
): { path: string; from: string } | undefined {
  if (flag) return { path: resolve(flag), from: "--buildroot" };
  const env = process.env.LAB_BUILDROOT;
  // Relative to the current folder, else to the repository (as the tests set it).
  if (env)
    return {
      path: existsSync(resolve(env)) ? resolve(env) : resolve(repoRoot, env),
      from: "$LAB_BUILDROOT",
    };
  const shared = sharedBuildrootTarball(checkout);
  return shared ? { path: shared, from: "the shared test input" } : undefined;
}
