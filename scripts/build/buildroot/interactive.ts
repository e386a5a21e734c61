import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensurePackages } from "../../debian/apt.ts";
import { LabError } from "../../lib/errors.ts";
import { info } from "../../lib/log.ts";
import { repoRoot } from "../../lib/paths.ts";
import {
  buildrootExternal,
  buildrootFragment,
  buildrootLogPath,
  buildrootOutputDir,
} from "../../guest/buildroot.ts";
import { configureBuildroot, prepareBuildroot } from "../rootfs-buildroot.ts";
import { hostConfigNames, menuconfigFragment } from "./config.ts";
import { buildrootMake, makeEnv } from "./make.ts";

/**
 * `lab buildroot menuconfig` and `lab buildroot make ...`: Buildroot's own
 * interactive targets on the lab's configured output folder. menuconfig's
 * changes are saved as vm/buildroot/configs/lab_menuconfig.fragment (what
 * differs from the lab's own configuration), which the next
 * `lab build rootfs-buildroot` applies after lab_defconfig.
 */

/** make with this terminal (menuconfig is a curses program). */
function makeInteractive(tree: string, args: readonly string[]): Promise<number> {
  const argv = ["-C", tree, `O=${buildrootOutputDir()}`, `BR2_EXTERNAL=${buildrootExternal}`];
  return new Promise((res) => {
    const child = spawn("make", [...argv, ...args], {
      stdio: "inherit",
      env: { ...process.env, ...makeEnv },
    });
    child.once("error", () => res(127));
    child.once("close", (c) => res(c ?? 1));
  });
}

async function ready(flag?: string) {
  await ensurePackages("buildroot", "buildroot-menuconfig");
  const { buildTargets } = await import("../runner.ts");
  await buildTargets(["kernel"], { force: false });
  return prepareBuildroot(flag);
}

export async function menuconfig(flag?: string): Promise<number> {
  if (!process.stdin.isTTY) throw new LabError("lab buildroot menuconfig needs a terminal");
  const p = await ready(flag);
  const quiet = (args: string[]) =>
    buildrootMake({
      tree: p.tree,
      output: p.output,
      external: buildrootExternal,
      log: buildrootLogPath(),
      args,
      announce: false,
    });
  // The lab's own configuration (no fragment), normalised by savedefconfig.
  const defconfig = await readFile(p.defconfig, "utf8");
  const fragment = existsSync(buildrootFragment) ? await readFile(buildrootFragment, "utf8") : "";
  const baseDefconfig = join(p.root, "lab_base_defconfig");
  await writeFile(baseDefconfig, defconfig.replace(fragment, ""));
  const baseSaved = join(p.root, "lab_base_saved");
  const userSaved = join(p.root, "lab_user_saved");
  await quiet([`BR2_DEFCONFIG=${baseDefconfig}`, "defconfig"]);
  await quiet([`BR2_DEFCONFIG=${baseSaved}`, "savedefconfig"]);
  // The current configuration (with the fragment), then the user's turn.
  await configureBuildroot(p);
  const code = await makeInteractive(p.tree, ["menuconfig"]);
  if (code !== 0) return code;
  await quiet([`BR2_DEFCONFIG=${userSaved}`, "savedefconfig"]);
  const text = menuconfigFragment(
    await readFile(baseSaved, "utf8"),
    await readFile(userSaved, "utf8"),
    hostConfigNames,
  );
  const rel = relative(repoRoot, buildrootFragment);
  if (text) {
    await writeFile(buildrootFragment, text);
    const n = text.split("\n").filter((l) => l.startsWith("BR2_") || l.startsWith("# BR2_")).length;
    info(`saved ${n} changed option(s) to ${rel}; \`lab build rootfs-buildroot\` applies them`);
  } else {
    await rm(buildrootFragment, { force: true });
    info(`no change from lab_defconfig: ${rel} removed`);
  }
  return 0;
}

/** `lab buildroot make ARGS`: any Buildroot make target on the lab's output folder. */
export async function makePassthrough(args: readonly string[], flag?: string): Promise<number> {
  const p = await ready(flag);
  if (!existsSync(join(p.output, ".config"))) await configureBuildroot(p);
  return makeInteractive(p.tree, args);
}
