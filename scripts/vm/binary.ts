import { existsSync } from "node:fs";
import { LabError } from "../lib/errors.ts";
import { patchedQemuPath } from "../lib/paths.ts";
import { qemuFirmwareArgs } from "./firmware.ts";

export interface QemuBinary {
  path: string;
  /** Arguments the binary needs first (firmware folders). */
  firmwareArgs: string[];
  patched: boolean;
}

export const systemQemu = "/usr/bin/qemu-system-x86_64";

/**
 * The patched QEMU from the cache when it exists, else the system's.
 * Cryptodev devices need the patched one.
 */
export function selectQemu(devices: number): QemuBinary {
  const patched = patchedQemuPath();
  if (existsSync(patched))
    return { path: patched, firmwareArgs: qemuFirmwareArgs(), patched: true };
  if (devices > 0)
    throw new LabError(
      `--devices ${devices} needs the patched QEMU (${patched}), which is not built`,
      1,
      "run `npx lab build qemu`, or use --devices 0",
    );
  if (!existsSync(systemQemu))
    throw new LabError(
      "no QEMU: neither the patched build nor the system qemu-system-x86_64",
      1,
      "run `npx lab build qemu` (or install Debian's qemu-system-x86 for --devices 0)",
    );
  return { path: systemQemu, firmwareArgs: [], patched: false };
}

/** "QEMU emulator version 7.2.22 (...)" → first line of --version. */
export async function qemuVersion(path: string): Promise<string> {
  const { execa } = await import("execa");
  const r = await execa(path, ["--version"], { reject: false, timeout: 10_000 });
  return r.exitCode === 0
    ? (r.stdout.split("\n")[0] ?? "").trim()
    : `unusable (${r.stderr.trim()})`;
}
