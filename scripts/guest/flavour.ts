import { existsSync } from "node:fs";
import { join } from "node:path";
import { readStamp } from "../lib/cache.ts";
import { cachePath, driverModulePath, repoRoot } from "../lib/paths.ts";
import { initramfsCurrent, initramfsKeyFor, initramfsPath, nodeImagePath } from "./artifacts.ts";
import { kernelPresent, kernelVmlinuxPath } from "./kernel.ts";
import { kernelDebugImagePath, kernelDebugKey, kernelDebugPresent } from "./kernel-debug.ts";

/**
 * The guest kernels the lab boots: `default` (Debian's, resolved from
 * vm/pins.json) and `debug` (built by `lab build kernel-debug` with
 * lockdep, KASAN, KFENCE, UBSAN...). Per kernel: what QEMU boots, its
 * initramfs, the driver module built against it, and the build targets
 * that make them.
 */

export const guestKernels = ["default", "debug"] as const;
export type GuestKernel = (typeof guestKernels)[number];

/** The debug kernel's initramfs (no modules: everything is built in). */
export function initramfsDebugDir(): string {
  return cachePath("initramfs-debug");
}
export function initramfsDebugPath(): string {
  return join(initramfsDebugDir(), "initramfs.cpio.gz");
}
export async function initramfsDebugKey(): Promise<string> {
  return initramfsKeyFor("debug", kernelDebugKey(), []);
}

/** Where `lab build driver-debug` builds vcryptodev.ko (a copy of the sources; /lab/out/... in the guest). */
export const driverDebugDir = join(repoRoot, "out", "driver-debug");
export const driverDebugModulePath = join(driverDebugDir, "vcryptodev.ko");

export interface KernelArtifacts {
  kernel: GuestKernel;
  /** What QEMU's -kernel gets. */
  image: string;
  initrd: string;
  /** The driver module built for this kernel (host path; the guest sees it under /lab). */
  driverModule: string;
  /** The build targets of a bootable guest with this kernel. */
  guestTargets: string[];
  /** The target that builds the driver for this kernel. */
  driverTarget: string;
  /** Extra kernel command line words. */
  cmdline: string[];
  /** Whether everything is built and the initramfs current (cheap: `lab run` asks each time). */
  current(): Promise<boolean>;
}

export function kernelArtifacts(kernel: GuestKernel): KernelArtifacts {
  if (kernel === "debug")
    return {
      kernel,
      image: kernelDebugImagePath(),
      initrd: initramfsDebugPath(),
      driverModule: driverDebugModulePath,
      guestTargets: ["kernel-debug", "initramfs-debug", "noderoot"],
      driverTarget: "driver-debug",
      // loglevel=6: the checkers' reports (lockdep prints at KERN_WARNING) and
      // the lab-test markers (KERN_NOTICE) reach the console; the lockup
      // detectors get TCG's slow, shared-host pace. no5lvl: 4-level paging
      // even where the CPU model offers LA57 (TCG's max): with 5-level
      // paging an interrupt taken during identify_cpu, before the boot CPU
      // is set up, drew a KASAN "wild-memory-access" on its irq_desc lock
      // (2 boots of 11 at load 2-4, none of 12 with no5lvl): a report about
      // the kernel's own early boot, not a driver's, that also turned
      // lockdep off for the whole boot.
      cmdline: ["loglevel=6", "watchdog_thresh=30", "rcupdate.rcu_cpu_stall_timeout=60", "no5lvl"],
      async current() {
        if (!kernelDebugPresent() || !existsSync(initramfsDebugPath())) return false;
        if (!existsSync(nodeImagePath())) return false;
        return (await readStamp(initramfsDebugDir())) === (await initramfsDebugKey());
      },
    };
  return {
    kernel,
    image: kernelVmlinuxPath(),
    initrd: initramfsPath(),
    driverModule: driverModulePath,
    guestTargets: ["guest"],
    driverTarget: "driver",
    cmdline: [],
    async current() {
      if (!kernelPresent() || [initramfsPath(), nodeImagePath()].some((p) => !existsSync(p)))
        return false;
      return initramfsCurrent();
    },
  };
}
