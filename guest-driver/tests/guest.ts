import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { guestRepoPath, patchedQemuPath, repoRoot } from "../../scripts/lib/paths.ts";

/**
 * Helpers for the driver's VM tests and benchmark: build what they need and
 * run a guest program through `lab run`, stdout and stderr kept apart.
 */

export const labBin = join(repoRoot, "bin", "lab.mjs");
/** Where the test programs appear in the guest. */
export const guestTests = `${guestRepoPath}/guest-driver/tests/build`;
export const guestModule = `${guestRepoPath}/guest-driver/module/vcryptodev.ko`;

export interface GuestRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Why the VM tests cannot run here, or undefined when they can. */
export function vmUnavailable(): string | undefined {
  if (!existsSync(patchedQemuPath()))
    return `patched QEMU not built (${patchedQemuPath()}): run \`lab build qemu\``;
  return undefined;
}

/** `lab build <targets>`; throws with the output on failure. */
export async function labBuild(...targets: string[]): Promise<void> {
  const r = await execa(process.execPath, [labBin, "build", ...targets], {
    cwd: repoRoot,
    all: true,
    reject: false,
    env: { CI: "true" },
  });
  if (r.exitCode !== 0) throw new Error(`lab build ${targets.join(" ")} failed:\n${r.all ?? ""}`);
}

/** `lab run [opts] -- cmd...` in the guest. */
export async function labRun(opts: string[], cmd: string[]): Promise<GuestRun> {
  const r = await execa(process.execPath, [labBin, "run", ...opts, "--", ...cmd], {
    cwd: repoRoot,
    reject: false,
    env: { CI: "true" },
    stdin: "ignore",
  });
  return { exitCode: r.exitCode ?? 255, stdout: r.stdout, stderr: r.stderr };
}
