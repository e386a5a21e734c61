import type { BuildTarget } from "./target.ts";

/**
 * Every target, in the order `lab build` (all) builds them. Dependencies
 * listed by a target are built first regardless.
 */
export const targetNames = [
  "kernel",
  "initramfs",
  "noderoot",
  "qemu",
  "driver",
  "conformance",
  "binding",
  "app",
] as const;

/**
 * Targets built only when named (not part of `all`): the Buildroot guest
 * needs a Buildroot tree handed to it and takes minutes; the debug kernel
 * (`lab build debug`) takes ~15 minutes of two cores from source: `lab test`
 * builds it before the VM tests, `npm start` never does.
 */
export const optionalTargetNames = [
  "kernel-debug",
  "initramfs-debug",
  "driver-debug",
  "rootfs-buildroot",
] as const;

/** Names accepted on the command line that stand for several targets. */
export const aliases: Record<string, readonly string[]> = {
  guest: ["kernel", "initramfs", "noderoot"],
  debug: ["kernel-debug", "initramfs-debug", "driver-debug"],
  all: targetNames,
};

export type TargetName = (typeof targetNames)[number] | (typeof optionalTargetNames)[number];

/** Each target's module, loaded only when that target is built. */
const loaders: Record<TargetName, () => Promise<{ default: BuildTarget }>> = {
  kernel: () => import("./kernel.ts"),
  "kernel-debug": () => import("./kernel-debug.ts"),
  initramfs: () => import("./initramfs.ts"),
  noderoot: () => import("./noderoot.ts"),
  qemu: () => import("./qemu.ts"),
  driver: () => import("./driver.ts"),
  "initramfs-debug": () => import("./initramfs-debug.ts"),
  "driver-debug": () => import("./driver-debug.ts"),
  conformance: () => import("./conformance.ts"),
  binding: () => import("./binding.ts"),
  app: () => import("./app.ts"),
  "rootfs-buildroot": () => import("./rootfs-buildroot.ts"),
};

export async function loadTarget(name: string): Promise<BuildTarget> {
  const load = loaders[name as TargetName];
  if (!load) throw new Error(`no build target '${name}'`);
  return (await load()).default;
}
