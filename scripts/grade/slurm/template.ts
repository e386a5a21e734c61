import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The job script template, a file course staff can read (grade-array.sbatch.tmpl). */
export const templatePath = join(
  dirname(fileURLToPath(import.meta.url)),
  "grade-array.sbatch.tmpl",
);

export interface JobScriptValues {
  jobName: string;
  /** The --array spec: "0-9%4" or "1,5,7%4". */
  array: string;
  cpusPerTask: number;
  partition?: string;
  /** Slurm's time format: "30", "1:30:00", "1-00:00:00". */
  timeLimit?: string;
  checkout: string;
  node: string;
  /** --out; the staging folder is its .slurm/. */
  out: string;
  buildTargets: string[];
}

/** A word quoted for bash (single quotes; pure). */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The array spec for task ids (sorted, runs collapsed) and a parallel limit (pure). */
export function arraySpec(ids: readonly number[], maxParallel?: number): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",") + (maxParallel ? `%${maxParallel}` : "");
}

/**
 * Fills the template (pure but for reading it): every value in the script's
 * body quoted for bash. The #SBATCH lines take paths as they are, so the
 * staging path must hold no whitespace (checked by the caller).
 */
export function renderJobScript(
  v: JobScriptValues,
  template = readFileSync(templatePath, "utf8"),
): string {
  const sbatch: string[] = [];
  if (v.partition) sbatch.push(`#SBATCH --partition=${v.partition}`);
  if (v.timeLimit) sbatch.push(`#SBATCH --time=${v.timeLimit}`);
  const values: Record<string, string> = {
    JOB_NAME: v.jobName,
    ARRAY: v.array,
    CPUS_PER_TASK: String(v.cpusPerTask),
    STAGE_PATH: `${v.out}/.slurm`,
    OUT: shQuote(v.out),
    SBATCH_LINES: sbatch.join("\n"),
    CHECKOUT: shQuote(v.checkout),
    NODE: shQuote(v.node),
    BUILD_TARGETS: v.buildTargets.map(shQuote).join(" "),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (m, k: string) => {
    const val = values[k];
    if (val === undefined) throw new Error(`job script template: unknown placeholder ${m}`);
    return val;
  });
}
