import { existsSync } from "node:fs";
import { join } from "node:path";
import { aptInstallCommand } from "../debian/apt.ts";
import { LabError } from "../lib/errors.ts";

/**
 * Firmware for the patched QEMU. Debian's QEMU source is DFSG-stripped (no
 * prebuilt BIOS or option ROMs) and we configure with
 * --disable-install-blobs, so the binary finds its firmware only through
 * `-L` folders of Debian packages (all in the `qemu` group of apt.ts):
 *
 * - /usr/share/seabios   (seabios): bios-256k.bin, vgabios-*.bin
 * - /usr/share/qemu      (qemu-system-data): kvmvapic.bin, linuxboot_dma.bin
 *   (the option ROM `-kernel` boots through), multiboot, pvh
 * - /usr/lib/ipxe/qemu   (ipxe-qemu): efi-virtio.rom etc., the boot ROMs of
 *   NICs such as virtio-net-pci
 */
export const firmwareDirs = [
  { dir: "/usr/share/qemu", pkg: "qemu-system-data", probe: "linuxboot_dma.bin" },
  { dir: "/usr/share/seabios", pkg: "seabios", probe: "bios-256k.bin" },
  { dir: "/usr/lib/ipxe/qemu", pkg: "ipxe-qemu", probe: "efi-virtio.rom" },
] as const;

/**
 * The `-L` arguments the patched QEMU needs, in search order, e.g.
 * ["-L", "/usr/share/qemu", "-L", "/usr/share/seabios", "-L", "/usr/lib/ipxe/qemu"].
 * Throws a LabError naming the packages to install when a folder is missing
 * (`lab build qemu` installs them).
 */
export function qemuFirmwareArgs(): string[] {
  const missing = firmwareDirs.filter((f) => !existsSync(join(f.dir, f.probe)));
  if (missing.length)
    throw new LabError(
      `QEMU firmware missing: ${missing.map((f) => join(f.dir, f.probe)).join(", ")}`,
      1,
      `run \`npx lab build qemu\` (as root) or: ${aptInstallCommand(missing.map((f) => f.pkg))}`,
    );
  return firmwareDirs.flatMap((f) => ["-L", f.dir]);
}
