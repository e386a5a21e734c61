import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePackages } from "../../debian/apt.ts";
import { repoRoot } from "../../lib/paths.ts";
import { ensureBuilt } from "../../vm/index.ts";
import { type SlurmCluster, pidsWithEnv, startCluster } from "./cluster.ts";
import { readBatch } from "./stage.ts";
import { batchFixtures } from "./test/fixtures.ts";
import { formatTimes, taskTimes } from "./test/times.ts";

/**
 * `lab grade --slurm` on a real one-machine Slurm cluster (Debian's
 * slurmctld, slurmd and munge; cluster.ts): the errors a user meets, the
 * --dry-run script, and a batch (the reference, two pitfall variants, one
 * broken submission) graded through one job array with one task cancelled
 * mid-run (reported with Slurm's state), completed by --resume, and equal,
 * submission by submission, to a local `lab grade` of the same batch.
 * Skips only when the Slurm packages cannot be installed.
 */

// the cluster's packages and the grader's sandbox (bubblewrap, util-linux, patch)
const why = await ensurePackages("slurm", "grade").then(
  () => undefined,
  (e: Error) => `the Slurm packages cannot be installed: ${e.message.split("\n")[0]}`,
);

const lab = join(repoRoot, "bin", "lab.mjs");

describe.skipIf(why !== undefined)(
  `lab grade --slurm on a real Slurm${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let cluster: SlurmCluster;
    let work: string;
    let subs: string[];

    /** The CLI as a user runs it, on the test cluster. */
    const grade = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      execa(process.execPath, [lab, "grade", ...args], {
        cwd: repoRoot,
        env: { ...cluster.env, CI: "true", ...env },
        reject: false,
        timeout: 900_000,
      });

    beforeAll(async () => {
      // MaxArraySize 4: the batch of four fits (ids 0-3), a fifth does not
      cluster = await startCluster({ cpus: 2, maxArraySize: 4 });
      // inside the cluster's folder: removed with it, also by the sweep of a
      // later run when this one is killed before its cleanup
      work = await mkdtemp(join(cluster.dir, "test-"));
      subs = await batchFixtures(join(work, "subs"));
      await ensureBuilt("driver", "conformance", "qemu", "guest");
    });

    afterAll(async () => {
      const dir = cluster?.dir;
      await cluster?.stop();
      if (dir) expect(await pidsWithEnv("LAB_SLURM_CLUSTER", dir)).toEqual([]);
      if (dir) expect(existsSync(dir)).toBe(false);
    });

    it("says what is wrong, with a hint, before submitting anything", async () => {
      const out = join(work, "errors");
      const noSbatch = await grade([...subs, "--slurm", "--out", out], {
        PATH: "/usr/local/nothing",
      });
      expect(noSbatch.exitCode).toBe(1);
      expect(noSbatch.stderr).toMatch(/sbatch is not on PATH/);
      expect(noSbatch.stderr).toMatch(/login node/);

      const part = await grade([...subs, "--slurm", "--partition", "gpu", "--out", out]);
      expect(part.exitCode).toBe(1);
      expect(part.stderr).toMatch(/partition 'gpu' does not exist/);
      expect(part.stderr).toMatch(/partitions here: lab/);

      const five = await grade([...subs, subs[0] as string, "--slurm", "--out", out]);
      expect(five.exitCode).toBe(1);
      expect(five.stderr).toMatch(/MaxArraySize is 4/);
      expect(five.stderr).toMatch(/batches of at most 4/);

      const conf = join(work, "dead-slurm.conf");
      const text = await readFile(cluster.conf, "utf8");
      await writeFile(conf, text.replace(/^SlurmctldPort=\d+$/m, "SlurmctldPort=1"));
      const down = await grade([...subs, "--slurm", "--out", out], { SLURM_CONF: conf });
      expect(down.exitCode).toBe(1);
      expect(down.stderr).toMatch(/controller cannot be reached/);
      expect(down.stderr).toMatch(/scontrol ping/);

      // --out on a filesystem the node cannot see: a tmpfs mounted in a
      // mount namespace of the submitting process only
      const priv = join(work, "private");
      await mkdir(priv);
      const hidden = await execa(
        "unshare",
        [
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          `mount -t tmpfs none "$1" && shift && exec "$@"`,
          "sh",
          priv,
          process.execPath,
          lab,
          "grade",
          ...subs,
          "--slurm",
          "--out",
          join(priv, "out"),
        ],
        { cwd: repoRoot, env: { ...cluster.env, CI: "true" }, reject: false },
      );
      expect(hidden.exitCode).toBe(1);
      expect(hidden.stderr).toMatch(/is not on a filesystem the compute nodes share/);
      expect(await cluster.run("squeue", ["-h", "-t", "all", "-n", "lab-grade"])).toBe("");
    });

    it("--dry-run prints the job script and submits nothing", async () => {
      const out = join(work, "dry");
      const r = await grade([
        ...subs,
        "--slurm",
        "--max-parallel",
        "2",
        "--time-limit",
        "20",
        "--out",
        out,
        "--dry-run",
      ]);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toMatch(/^#!\/bin\/bash\n/);
      expect(r.stdout).toContain("#SBATCH --array=0-3%2\n");
      expect(r.stdout).toContain("#SBATCH --time=20\n");
      expect(r.stdout).toContain(`# submitted as: sbatch ${out}/.slurm/grade-array.sbatch`);
      expect(existsSync(out)).toBe(false);
      expect(await cluster.run("squeue", ["-h", "-t", "all", "-n", "lab-grade"])).toBe("");
    });

    it("grades the batch as a local run does; a task cancelled mid-run is reported and --resume completes it", async () => {
      const out = join(work, "slurm-out");
      const t0 = performance.now();
      const first = grade([...subs, "--slurm", "--max-parallel", "2", "--out", out]);
      // cancel task 0 (the reference) once it is grading, past the build lock
      let jobId = "";
      for (let i = 0; i < 1200 && !jobId; i++) {
        jobId = (await readBatch(out).catch(() => undefined))?.jobs[0]?.jobId ?? "";
        if (!jobId) await new Promise((r) => setTimeout(r, 250));
      }
      expect(jobId).not.toBe("");
      const log = join(out, ".slurm", "logs", `${jobId}_0.out`);
      for (let i = 0; i < 2400; i++) {
        const text = await readFile(log, "utf8").catch(() => "");
        if (/^lab: reference: /m.test(text)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      await cluster.run("scancel", [`${jobId}_0`]);
      const r1 = await first;
      const t1 = performance.now();
      expect(r1.exitCode, r1.stderr).toBe(1);
      expect(r1.stderr).toMatch(/task 0\): CANCELLED/);
      expect(r1.stderr).toMatch(/--resume resubmits only those/);
      const batch1 = await readBatch(out);
      expect(Object.keys(batch1?.gathered ?? {}).sort()).toEqual(["1", "2", "3"]);

      const r2 = await grade([...subs, "--slurm", "--max-parallel", "2", "--out", out, "--resume"]);
      const t2 = performance.now();
      expect(r2.exitCode, r2.stderr).toBe(0);
      const batch2 = await readBatch(out);
      expect(batch2?.jobs.map((j) => j.ids)).toEqual([[0, 1, 2, 3], [0]]);

      const local = join(work, "local-out");
      const r3 = await grade([...subs, "-j", "2", "--out", local]);
      const t3 = performance.now();
      expect(r3.exitCode, r3.stderr).toBe(0);

      const names = (batch2?.submissions ?? []).map((s) => s.name);
      expect(names).toHaveLength(4);
      for (const n of names) {
        const a = JSON.parse(await readFile(join(out, n, "results.json"), "utf8"));
        const b = JSON.parse(await readFile(join(local, n, "results.json"), "utf8"));
        const key = (r: {
          score: number;
          tests: { name: string; score: number; status: string }[];
        }) => ({
          score: r.score,
          tests: r.tests.map((t) => [t.name, t.score, t.status]),
        });
        expect(key(a), n).toEqual(key(b));
      }
      const rows = async (dir: string) => {
        const [head, ...body] = (await readFile(join(dir, "summary.csv"), "utf8"))
          .trim()
          .split("\n");
        const drop = (head as string).split(",").indexOf("seconds");
        return body.map((l) =>
          l
            .split(",")
            .filter((_, i) => i !== drop)
            .join(","),
        );
      };
      expect(await rows(out)).toEqual(await rows(local));
      // the figures: wall times, each submission's grading time on both
      // paths, and Slurm's view of each task
      const times = await taskTimes(
        cluster,
        out,
        (batch2?.jobs ?? []).map((j) => j.jobId),
        names,
      );
      process.stderr.write(
        `lab grade --slurm figures: first run ${((t1 - t0) / 1000).toFixed(1)} s (4 tasks, %2, ` +
          `task 0 cancelled), --resume ${((t2 - t1) / 1000).toFixed(1)} s (task 0 alone); ` +
          `local -j 2: ${((t3 - t2) / 1000).toFixed(1)} s\n${await formatTimes(times, local)}\n`,
      );
      // the batch is graded about twice (~5 min here): more than the VM
      // project's default limit allows under a heavy load
    }, 1_800_000);
  },
);
