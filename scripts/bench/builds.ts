import { buildTargets } from "../build/runner.ts";
import { loadTarget } from "../build/targets.ts";

/**
 * The rebuilds a student waits for, timed: each target forced alone (its
 * dependencies already built, so only it runs) — the driver module after an
 * edit, the QEMU device (the patch re-applied, an incremental ninja), the
 * initramfs, the chat bundle.
 */

export interface BuildTiming {
  target: string;
  seconds: number;
}

export const quickBuildTargets = ["driver", "app"];
export const fullBuildTargets = ["driver", "qemu", "initramfs", "app"];

export async function measureBuilds(targets: readonly string[]): Promise<BuildTiming[]> {
  // Everything up to date first, so that a forced target rebuilds alone.
  await buildTargets([...targets], { force: false });
  const out: BuildTiming[] = [];
  for (const target of targets) {
    const t = await loadTarget(target);
    const t0 = performance.now();
    // The target alone: forcing through the runner would force its dependencies too.
    await t.build({ force: true });
    out.push({ target, seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}
