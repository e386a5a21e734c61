/**
 * The README's side-by-side figure: the Slurm test's batch (the reference,
 * two pitfall variants, one broken submission) graded once through
 * `lab grade --slurm --max-parallel 2` on the one-machine test cluster and
 * once by a local `lab grade -j 2`, no task cancelled; prints both wall
 * times and each task's figures. Grades the batch twice (~5 min here).
 *
 *   LAB_CACHE=... npx tsx scripts/grade/slurm/test/figures.ts
 */
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { repoRoot } from "../../../lib/paths.ts";
import { startCluster } from "../cluster.ts";
import { readBatch } from "../stage.ts";
import { batchFixtures } from "./fixtures.ts";
import { formatTimes, taskTimes } from "./times.ts";

const cluster = await startCluster({ cpus: 2 });
try {
  const work = await mkdtemp(join(cluster.dir, "figures-"));
  const subs = await batchFixtures(join(work, "subs"));
  const lab = (args: string[]) =>
    execa(process.execPath, [join(repoRoot, "bin", "lab.mjs"), "grade", ...args], {
      cwd: repoRoot,
      env: { ...cluster.env, CI: "true" },
      stdio: ["ignore", "ignore", "inherit"],
    });
  const out = join(work, "slurm-out");
  const local = join(work, "local-out");
  const t0 = performance.now();
  await lab([...subs, "--slurm", "--max-parallel", "2", "--out", out]);
  const t1 = performance.now();
  await lab([...subs, "-j", "2", "--out", local]);
  const t2 = performance.now();
  const batch = await readBatch(out);
  const names = (batch?.submissions ?? []).map((s) => s.name);
  const times = await taskTimes(
    cluster,
    out,
    (batch?.jobs ?? []).map((j) => j.jobId),
    names,
  );
  process.stdout.write(
    `batch of ${names.length}: lab grade --slurm --max-parallel 2 ${((t1 - t0) / 1000).toFixed(1)} s, ` +
      `lab grade -j 2 ${((t2 - t1) / 1000).toFixed(1)} s\n${await formatTimes(times, local)}\n`,
  );
} finally {
  await cluster.stop();
}
