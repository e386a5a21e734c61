import { existsSync } from "node:fs";
import { patchedQemuPath } from "../lib/paths.ts";

/**
 * What the VM tests check before booting: whether the patched QEMU is
 * there (a reason to skip, said in the test's name, when not), and
 * building what they need in-process (cached targets answer at once).
 */

/** Why guests with the lab's device cannot run here, or undefined when they can. */
export function vmUnavailable(): string | undefined {
  if (!existsSync(patchedQemuPath()))
    return `patched QEMU not built (${patchedQemuPath()}): run \`lab build qemu\``;
  return undefined;
}

/** `lab build TARGETS` in this process; throws (a LabError) when a build fails. */
export async function ensureBuilt(...targets: string[]): Promise<void> {
  const { buildTargets } = await import("../build/runner.ts");
  await buildTargets(targets, { force: false });
}
