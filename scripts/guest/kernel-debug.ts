import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { hashKey } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { cachePath, repoRoot } from "../lib/paths.ts";
import { type KernelSet } from "../debian/pins.ts";
import { currentKernel } from "./kernel.ts";

/**
 * The debug guest kernel (`lab build kernel-debug`): Debian's kernel source
 * of the same version as the default kernel in use (the `linux-source-X.Y`
 * package), configured from tinyconfig plus the repository's fragment
 * vm/kernel-debug/lab.config, built with the checkers (lockdep, atomic-sleep,
 * KASAN, KFENCE, UBSAN). Paths and keys here; the recipe is
 * scripts/build/kernel-debug.ts.
 */

/** Bump when the recipe in scripts/build/kernel-debug.ts changes. */
export const kernelDebugRecipe = "kernel-debug-recipe-1";

/** The config fragment the repository owns. */
export const debugFragment = join(repoRoot, "vm", "kernel-debug", "lab.config");

/** The Debian source package and version of `set`: linux-source-6.1 at the image's version. */
export function debugSourceFor(set: KernelSet): { name: string; version: string } {
  const image = set.packages.find((p) => p.name.startsWith("linux-image-"));
  const kbuild = set.packages.find((p) => p.name.startsWith("linux-kbuild-"));
  if (!image || !kbuild)
    throw new LabError(`kernel set ${set.release} has no linux-image or linux-kbuild package`);
  return { name: kbuild.name.replace(/^linux-kbuild-/, "linux-source-"), version: image.version };
}

/** The source in use (from the resolved default kernel). */
export function debugSource(): { name: string; version: string } {
  return debugSourceFor(currentKernel());
}

/** Cache key: source version, fragment text, recipe (pure given the fragment's text). */
export function kernelDebugKeyFor(
  src: { name: string; version: string },
  fragment: string | Buffer,
): string {
  return hashKey([kernelDebugRecipe, src.name, src.version, fragment]);
}

export function kernelDebugKey(): string {
  return kernelDebugKeyFor(debugSource(), readFileSync(debugFragment));
}

/** Everything of the debug kernel: the source tree, the O= build tree, the log. */
export function kernelDebugDir(): string {
  return cachePath("kernel-debug");
}
/** The unpacked source of `version` (read-only use: every build goes to the O= tree). */
export function kernelDebugSrcDir(version: string): string {
  return join(kernelDebugDir(), `src-${version}`);
}
/** The O= tree: .config, objects, bzImage; `make -C <it> M=<dir>` builds modules against it. */
export function kernelDebugBuildDir(): string {
  return join(kernelDebugDir(), "build");
}
export function kernelDebugLog(): string {
  return join(kernelDebugDir(), "build.log");
}
/** Booted as a bzImage: KASAN code runs too early on the PVH entry of the ELF vmlinux. */
export function kernelDebugImagePath(): string {
  return join(kernelDebugBuildDir(), "arch", "x86", "boot", "bzImage");
}
export function kernelDebugRelease(): string {
  try {
    return readFileSync(
      join(kernelDebugBuildDir(), "include", "config", "kernel.release"),
      "utf8",
    ).trim();
  } catch {
    return "";
  }
}

/** Whether a debug kernel is built (no key check, no throw). */
export function kernelDebugPresent(): boolean {
  return existsSync(kernelDebugImagePath());
}
