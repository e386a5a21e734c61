import { intArg } from "../../lib/args.ts";

/**
 * The options `lab grade` takes for Slurm, and the usage lines, kept here
 * so the grade command only spreads them into its own (a small hook).
 */
export const slurmOptions = {
  slurm: { type: "boolean" },
  partition: { type: "string" },
  "max-parallel": { type: "string" },
  "time-limit": { type: "string" },
  "sbatch-arg": { type: "string", multiple: true },
  "dry-run": { type: "boolean" },
} as const;

export const slurmUsage = `
On a Slurm cluster (README: "Grading on a Slurm cluster"):
  --slurm            one job array, one task per submission, each task the
                     same single-submission grader; results gathered into --out.
                     --out and the lab checkout must be on the shared filesystem
  --partition P      the partition to submit to (default: the cluster's)
  --max-parallel N   at most N tasks at once (sbatch --array=...%N)
  --time-limit T     per task, Slurm's format (30, 1:30:00)
  --sbatch-arg ARG   one more sbatch option (repeatable): --sbatch-arg=--mem=4G
  --dry-run          print the job script and the sbatch command; submit nothing
  --resume           (with --slurm) wait for, gather and resubmit only the
                     submissions not graded yet`;

export interface SlurmValues {
  slurm?: boolean;
  partition?: string;
  "max-parallel"?: string;
  "time-limit"?: string;
  "sbatch-arg"?: string[];
  "dry-run"?: boolean;
  resume?: boolean;
}

/**
 * Runs `lab grade --slurm`: `out` and `gradeArgs` (the words each task's
 * `lab grade` gets besides the submission and --out) come from the grade
 * command. Returns the exit code: 0 when every submission was graded.
 */
export async function runSlurmGrade(
  values: SlurmValues,
  submissions: string[],
  out: string,
  gradeArgs: string[],
): Promise<number> {
  const { gradeOnSlurm } = await import("./run.ts");
  const mp = values["max-parallel"];
  const r = await gradeOnSlurm({
    submissions,
    out,
    gradeArgs,
    resume: !!values.resume,
    partition: values.partition,
    maxParallel: mp === undefined ? undefined : intArg("--max-parallel", mp, 1, 100_000),
    timeLimit: values["time-limit"],
    sbatchArgs: values["sbatch-arg"] ?? [],
    dryRun: !!values["dry-run"],
  });
  return r.outcomes.every((x) => x.phase === "done") ? 0 : 1;
}
