import type { PackageGroup } from "../debian/apt.ts";

/**
 * A build target of `lab build <name>`; each lives in scripts/build/<name>.ts
 * and exports one as default. Targets are idempotent: `build` returns
 * "up-to-date" without work when its inputs (hashed into a cache key) are
 * unchanged, and the caller prints one line saying so.
 */
export interface BuildTarget {
  name: string;
  summary: string;
  /** Targets built (or checked) first. */
  deps: string[];
  /** Debian package groups it needs (installed for every target of a build in one go). */
  packages?: readonly PackageGroup[];
  build(opts: BuildOptions): Promise<"built" | "up-to-date">;
  /** Removes what this target put in the cache. */
  clean(): Promise<void>;
}

export interface BuildOptions {
  /** Rebuild even when up to date. */
  force: boolean;
  /** Buildroot to build the Buildroot guest with (`--buildroot PATH|TARBALL`). */
  buildroot?: string;
}
