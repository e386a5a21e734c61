import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { hashKey, readStamp } from "../lib/cache.ts";
import { kernelKey } from "./kernel.ts";
import { cachePath, repoRoot } from "../lib/paths.ts";

/** What the guest's initramfs and node image are made of, and where they land. */

/** Kernel modules the initramfs carries (their dependencies come along). */
export const guestModules = [
  "virtio_pci",
  "virtio_console",
  "virtio_net",
  "virtio_blk",
  "9pnet_virtio",
  "9p",
  "squashfs",
] as const;

export const initSource = join(repoRoot, "vm", "init");
export const labexecSource = join(repoRoot, "vm", "guest", "labexec.c");
export const hostBusybox = "/bin/busybox";

export function initramfsDir(): string {
  return cachePath("initramfs");
}
export function initramfsPath(): string {
  return join(initramfsDir(), "initramfs.cpio.gz");
}

/** Bump when the layout scripts/build/initramfs.ts assembles changes. */
const initramfsRecipe = "initramfs-recipe-1";

/** Everything the initramfs is made of, hashed (~10 ms: `lab run` checks it each time). */
export async function initramfsKey(): Promise<string> {
  return initramfsKeyFor(undefined, kernelKey(), guestModules);
}

/** The key of an initramfs for the kernel `kernelKey` carrying `modules` (`flavour`: none for the default kernel). */
export async function initramfsKeyFor(
  flavour: string | undefined,
  kernelKey: string,
  modules: readonly string[],
): Promise<string> {
  return hashKey([
    initramfsRecipe,
    ...(flavour ? [flavour] : []),
    kernelKey,
    modules.join(","),
    await readFile(initSource),
    await readFile(labexecSource),
    await readFile(hostBusybox),
  ]);
}

/** Whether the built initramfs matches its inputs (vm/init edited, pins changed...). */
export async function initramfsCurrent(): Promise<boolean> {
  return (await readStamp(initramfsDir())) === (await initramfsKey());
}

export function noderootDir(): string {
  return cachePath("noderoot");
}
/** Read-only squashfs image with the host's node and its libraries (guest /dev/vda). */
export function nodeImagePath(): string {
  return join(noderootDir(), "node.squashfs");
}
/** Where the guest mounts it. */
export const guestNodeMount = "/opt/node";
