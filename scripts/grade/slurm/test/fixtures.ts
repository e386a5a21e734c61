import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { repoRoot } from "../../../lib/paths.ts";
import { patchedDriver, referenceDriver } from "../../test/fixtures.ts";

/**
 * The batch the Slurm test grades (made under `dir` at test time): the
 * reference driver, two of the grader's pitfall variants (grading/pitfalls/,
 * the patch applied to a copy of the reference as pitfalls.vm.test.ts does),
 * and one submission whose driver does not compile. Returns their folders,
 * in that order.
 */

const pitfallDir = join(repoRoot, "grading", "pitfalls");

/**
 * The two variants: patches that apply to the reference as it stands, and
 * whose failures cost no extra time (no spinning guest, no test hanging to
 * its limit).
 */
export const slurmPitfalls = ["copy-under-spinlock", "nested-deref"] as const;

export async function batchFixtures(dir: string): Promise<string[]> {
  const listed = parse(await readFile(join(pitfallDir, "pitfalls.yaml"), "utf8")) as {
    name: string;
    patch: string;
  }[];
  const subs = [await referenceDriver(join(dir, "reference"))];
  for (const name of slurmPitfalls) {
    const p = listed.find((x) => x.name === name);
    if (!p) throw new Error(`fixture: pitfall '${name}' is not in grading/pitfalls/pitfalls.yaml`);
    subs.push(await patchedDriver(join(dir, name), join(pitfallDir, p.patch)));
  }
  // broken: the driver does not compile
  const broken = await referenceDriver(join(dir, "broken"));
  await appendFile(join(broken, "guest-driver", "module", "request.c"), "\nthis is not C;\n");
  subs.push(broken);
  return subs;
}
