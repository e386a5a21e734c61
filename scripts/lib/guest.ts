import { join } from "node:path";
import { cachePath, repoRoot } from "./paths.ts";

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

export function noderootDir(): string {
  return cachePath("noderoot");
}
/** Read-only squashfs image with the host's node and its libraries (guest /dev/vda). */
export function nodeImagePath(): string {
  return join(noderootDir(), "node.squashfs");
}
/** Where the guest mounts it. */
export const guestNodeMount = "/opt/node";
