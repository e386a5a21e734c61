import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { loadPitfalls, pitfallSubmission } from "../../pitfalls.ts";
import { referenceDriver } from "../../test/fixtures.ts";

/**
 * The batch the Slurm test grades (made under `dir` at test time): the
 * reference driver, two of the grader's pitfall variants (grading/pitfalls/,
 * made by pitfallSubmission as the pitfall suite makes them), and one
 * submission whose driver does not compile. Returns their folders, in that
 * order.
 */

/**
 * The two variants: driver patches whose failures cost no extra time (no
 * spinning guest, no test hanging to its limit), so the batch stays short.
 */
export const slurmPitfalls = ["copy-under-spinlock", "nested-deref"] as const;

export async function batchFixtures(dir: string): Promise<string[]> {
  const listed = await loadPitfalls();
  const subs = [await referenceDriver(join(dir, "reference"))];
  for (const name of slurmPitfalls) {
    const p = listed.find((x) => x.name === name);
    if (!p) throw new Error(`fixture: pitfall '${name}' is not in grading/pitfalls/pitfalls.yaml`);
    subs.push(await pitfallSubmission(p, join(dir, name)));
  }
  // broken: the driver does not compile
  const broken = await referenceDriver(join(dir, "broken"));
  await appendFile(join(broken, "guest-driver", "module", "request.c"), "\nthis is not C;\n");
  subs.push(broken);
  return subs;
}
