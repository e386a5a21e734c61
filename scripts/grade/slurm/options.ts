import { intArg } from "../../lib/args.ts";
import { UsageError } from "../../lib/errors.ts";

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

/** Refuses the Slurm options without --slurm (a --dry-run would otherwise grade for real). */
export function slurmOnly(values: Record<string, unknown>): void {
  const given = Object.keys(slurmOptions).filter((k) => k !== "slurm" && values[k] !== undefined);
  if (given.length) throw new UsageError(`--${given.join(", --")}: only with --slurm`);
}

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
 * Runs `lab grade --slurm` with the grade command's --out and --rubric.
 * Returns the exit code: 0 when every submission was graded (whatever the
 * scores), 1 when some task ended without results.
 */
export async function runSlurmGrade(
  values: SlurmValues,
  submissions: string[],
  out: string,
  rubric: string | undefined,
): Promise<number> {
  const { gradeOnSlurm } = await import("./run.ts");
  const mp = values["max-parallel"];
  const r = await gradeOnSlurm({
    submissions,
    out,
    rubric,
    resume: !!values.resume,
    partition: values.partition,
    maxParallel: mp === undefined ? undefined : intArg("--max-parallel", mp, 1, 100_000),
    timeLimit: values["time-limit"],
    sbatchArgs: values["sbatch-arg"] ?? [],
    dryRun: !!values["dry-run"],
  });
  return r.outcomes.every((x) => x.phase === "done") ? 0 : 1;
}
