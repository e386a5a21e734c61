import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { kernelBuildDir, kernelKey } from "../guest/kernel.ts";
import { hashKey } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import type { KtapReport } from "../lib/ktap.ts";
import { cachePath, repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import type { TestOutcome } from "./score.ts";

/**
 * The device check `device.hostile`: the project's hostile guest driver
 * (host-backend/test/hostile/vcd_hostile.c: malformed headers, lengths that
 * disagree with the chain, limits +-1, floods, resets) loaded in place of
 * vcryptodev against the submitted device. A device that trusts the lengths
 * in the header answers them with success (or reads past the chain) and
 * fails it. The module is the lab's own code: built once on the host
 * against the lab kernel's headers and cached, never from the submission.
 */

const hostileSrc = join(repoRoot, "host-backend", "test", "hostile");
const sources = ["vcd_hostile.c", "Kbuild"];
const shared = join(repoRoot, "include", "virtio_cryptodev.h");

/** The stage path of the module (shared read-only at /lab). */
export const stageHostile = "hostile/vcd_hostile.ko";

/** The guest command: the hostile module in place of the driver, then its report. */
export function hostileCommand(labDir: string): string[] {
  return [
    "sh",
    "-c",
    `rmmod vcryptodev; insmod ${labDir}/${stageHostile} seed=1 rounds=1 && cat /proc/vcd_hostile`,
  ];
}

let building: Promise<string> | undefined;

/** vcd_hostile.ko for the lab's kernel: built on first use, cached by its inputs. */
export function hostileModule(): Promise<string> {
  // one build per process, whatever the number of submissions asking at once
  building ??= buildHostile().catch((e: unknown) => {
    building = undefined;
    throw e;
  });
  return building;
}

async function buildHostile(): Promise<string> {
  const parts: (string | Buffer)[] = [kernelKey(), await readFile(shared)];
  for (const f of sources) parts.push(f, await readFile(join(hostileSrc, f)));
  const dir = cachePath("grade", "hostile", hashKey(parts).slice(0, 16));
  const ko = join(dir, "vcd_hostile.ko");
  if (existsSync(ko)) return ko;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const f of sources) await copyFile(join(hostileSrc, f), join(tmp, f));
  const r = await sh({
    nothrow: true,
  })`make -s -C ${kernelBuildDir()} M=${tmp} VCD_INCLUDE=${join(repoRoot, "include")} modules 2>&1`;
  if (r.exitCode !== 0 || !existsSync(join(tmp, "vcd_hostile.ko")))
    throw new LabError(`building the hostile driver failed:\n${r.stdout.trim()}`);
  await mkdir(dir, { recursive: true });
  await copyFile(join(tmp, "vcd_hostile.ko"), `${ko}.part`);
  await rename(`${ko}.part`, ko);
  await rm(tmp, { recursive: true, force: true });
  return ko;
}

/** device.hostile from the boot's KTAP report: every case ran and passed. */
export function hostileOutcome(
  report: KtapReport,
  run: { code: number; reason?: string },
): TestOutcome {
  const id = "device.hostile";
  const bad = report.results.filter((r) => !r.ok);
  const missing =
    report.planned === undefined || report.results.length < report.planned
      ? `${report.results.length} of ${report.planned ?? "?"} cases reported (${run.reason ?? `exit ${run.code}`})`
      : undefined;
  if (!bad.length && !missing && run.code === 0) return { id, status: "passed", output: "" };
  return {
    id,
    status: "failed",
    output: [
      ...(missing ? [missing] : []),
      ...(run.code !== 0 && !missing ? [`exit ${run.code}: ${run.reason ?? ""}`] : []),
      ...bad.map((r) => `${r.name}: not ok\n  ${r.diagnostics.slice(0, 4).join("\n  ")}`),
    ].join("\n"),
  };
}
