import type { BuildTarget } from "../lib/build-target.ts";

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

/** Names accepted on the command line that stand for several targets. */
export const aliases: Record<string, readonly string[]> = {
  guest: ["kernel", "initramfs", "noderoot"],
  all: targetNames,
};

export async function loadTarget(name: string): Promise<BuildTarget> {
  const mod = (await import(`./${name}.ts`)) as { default: BuildTarget };
  return mod.default;
}
