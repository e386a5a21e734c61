import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { ensurePackages } from "../debian/apt.ts";
import { readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { initramfsDebugDir, initramfsDebugKey, initramfsDebugPath } from "../guest/flavour.ts";
import { kernelDebugRelease } from "../guest/kernel-debug.ts";
import { assemble } from "./initramfs.ts";
import type { BuildTarget } from "./target.ts";

/**
 * `lab build initramfs-debug`: the guest initramfs for the debug kernel —
 * the same init, busybox and labexec as the default one, no modules (the
 * debug kernel has its virtio, 9p and squashfs drivers built in).
 */
const target: BuildTarget = {
  name: "initramfs-debug",
  packages: ["guest"],
  summary: "initramfs for the debug kernel (busybox, init, labexec; no modules: all built in)",
  deps: ["kernel-debug"],
  async build({ force }) {
    const key = await initramfsDebugKey();
    if (
      !force &&
      (await readStamp(initramfsDebugDir())) === key &&
      existsSync(initramfsDebugPath())
    )
      return "up-to-date";
    await ensurePackages("guest");
    const release = kernelDebugRelease();
    if (!release)
      throw new LabError("the debug kernel is not built", 1, "run `lab build kernel-debug`");
    await step("assembling the debug kernel's initramfs", async () => {
      await mkdir(initramfsDebugDir(), { recursive: true });
      const tmp = `${initramfsDebugPath()}.${process.pid}.tmp`;
      await writeFile(tmp, await assemble({ release }));
      await rename(tmp, initramfsDebugPath());
    });
    await writeStamp(initramfsDebugDir(), key);
    return "built";
  },
  async clean() {
    await rm(initramfsDebugDir(), { recursive: true, force: true });
  },
};
export default target;
