import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { LabError } from "../lib/errors.ts";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import { referenceDevice, referenceDriver } from "./samples.ts";

/**
 * The deliberately broken variants of the reference (grading/pitfalls/):
 * one student pitfall each, as a small -p1 patch against the repository,
 * applied to a copy of the reference part at test time. `pitfalls.yaml`
 * says which part each patches and which rubric items it must lose. Read by
 * the pitfall suite (pitfalls.vm.test.ts), its unit test and `lab grade
 * --slurm`'s tests.
 */

export const pitfallDir = join(repoRoot, "grading", "pitfalls");

export interface Pitfall {
  name: string;
  /** The patch file, relative to grading/pitfalls/. */
  patch: string;
  what: string;
  /** The part the patch changes (default driver): the submission carries only it. */
  part: "driver" | "device";
  /** The rubric items it must lose (all others kept). */
  loses: string[];
}

/** The part's folder in the repository (a patch touches only files under it). */
export const partDir = { driver: "guest-driver/module/", device: "host-backend/qemu/" } as const;

/** grading/pitfalls/pitfalls.yaml, checked. */
export async function loadPitfalls(): Promise<Pitfall[]> {
  const file = join(pitfallDir, "pitfalls.yaml");
  const raw = parse(await readFile(file, "utf8")) as unknown;
  if (!Array.isArray(raw)) throw new LabError(`${file}: expected a list of pitfalls`);
  return raw.map((e: Record<string, unknown>, i): Pitfall => {
    const where = `${file}: entry ${i + 1}`;
    const str = (k: string) => {
      if (typeof e[k] !== "string" || !e[k])
        throw new LabError(`${where}: '${k}' must be a string`);
      return e[k];
    };
    const part = e.part ?? "driver";
    if (part !== "driver" && part !== "device")
      throw new LabError(`${where}: part must be driver or device`);
    const loses = e.loses;
    if (!Array.isArray(loses) || !loses.length || loses.some((l) => typeof l !== "string"))
      throw new LabError(`${where}: 'loses' must be a list of rubric item ids`);
    return { name: str("name"), patch: str("patch"), what: str("what"), part, loses };
  });
}

/** The patch files in grading/pitfalls/. */
export async function pitfallPatches(): Promise<string[]> {
  return (await readdir(pitfallDir)).filter((n) => n.endsWith(".patch")).sort();
}

/**
 * A submission under `dest`: a copy of the reference part the pitfall
 * patches, with its patch applied exactly (no fuzz). A patch that no longer
 * applies (the reference was reshaped) fails naming the pitfall.
 */
export async function pitfallSubmission(p: Pitfall, dest: string): Promise<string> {
  await (p.part === "device" ? referenceDevice(dest) : referenceDriver(dest));
  const r = await sh({
    cwd: dest,
    nothrow: true,
  })`patch -p1 -f --fuzz=0 --no-backup-if-mismatch -i ${join(pitfallDir, p.patch)} 2>&1`;
  if (r.exitCode !== 0)
    throw new LabError(
      `pitfall ${p.name}: grading/pitfalls/${p.patch} does not apply to the current ${partDir[p.part]}:\n${r.stdout.trim()}`,
      1,
      `rebase the patch on the current sources (one pitfall, a small change)`,
    );
  return dest;
}
