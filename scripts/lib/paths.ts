import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file lives in scripts/lib/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Where fetched and built artifacts live: $LAB_CACHE, else
 * $XDG_CACHE_HOME/cryptodev-lab, else ~/.cache/cryptodev-lab. Kept outside
 * the clone so a fresh clone on the same machine reuses QEMU and the kernel.
 */
export function cacheDir(): string {
  const env = process.env.LAB_CACHE;
  if (env) return resolve(env);
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "cryptodev-lab");
}

/** Per-target folder in the cache, e.g. cachePath("kernel"). */
export function cachePath(...parts: string[]): string {
  return join(cacheDir(), ...parts);
}

/** The patched QEMU binary that `lab build qemu` produces. */
export function patchedQemuPath(): string {
  return cachePath("qemu", "build", "qemu-system-x86_64");
}

/** The guest driver module, built in place by Kbuild (`lab build driver`). */
export const driverModulePath = join(repoRoot, "guest-driver", "module", "vcryptodev.ko");

/** Where the repository appears inside the guest (9p share). */
export const guestRepoPath = "/lab";

/** The guest's path of a file in the repository (the repo is shared at /lab). */
export function guestPathOf(hostPath: string): string {
  const rel = relative(repoRoot, hostPath);
  if (rel.startsWith("..")) throw new Error(`${hostPath} is outside the repository`);
  return `${guestRepoPath}/${rel}`;
}
