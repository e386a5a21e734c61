import { cp, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { basename, join, relative, resolve, sep } from "node:path";
import { LabError } from "../../lib/errors.ts";

/**
 * The staging folder `--out/.slurm` on the shared filesystem: what the array
 * tasks read and where they write, and the record of the batch that
 * `--resume` reads back.
 *
 *   batch.json        the batch: submissions (task id, name, source, staged
 *                     path), the grading arguments, the jobs submitted, and
 *                     which task ids were gathered
 *   submissions.tsv   line N+1 = task N: name TAB staged path (read by the
 *                     job script with sed)
 *   submissions/<id>/ copies of submissions that lie outside the checkout
 *                     and --out (a submission inside either is used in place)
 *   grade-array.sbatch the job script as submitted last
 *   tasks/<id>/       each task's `lab grade --out`
 *   logs/<job>_<id>.out each task's stdout and stderr
 *   probe/            the shared-filesystem probe's token and reply
 */

export interface StagedSubmission {
  id: number;
  name: string;
  /** As given on the command line, resolved. */
  source: string;
  /** What the task grades (on the shared filesystem). */
  staged: string;
}

export interface SubmittedJob {
  jobId: string;
  ids: number[];
  submittedAt: string;
}

export interface Batch {
  version: 1;
  checkout: string;
  submissions: StagedSubmission[];
  /** The rubric the tasks grade with (a staged copy); undefined: the checkout's default. */
  rubricPath?: string;
  jobs: SubmittedJob[];
  /** Task id -> the result folders gathered from it into --out. */
  gathered: Record<string, string[]>;
}

export const stageDir = (out: string): string => join(out, ".slurm");

/** Copies the rubric into the staging folder (it may lie off the shared filesystem). */
export async function stageRubric(
  out: string,
  rubric: string | undefined,
): Promise<string | undefined> {
  if (rubric === undefined) return undefined;
  const dest = join(stageDir(out), "inputs", "rubric.yaml");
  await mkdir(join(stageDir(out), "inputs"), { recursive: true });
  await cp(resolve(rubric), dest);
  return dest;
}
const batchFile = (out: string) => join(stageDir(out), "batch.json");

export async function readBatch(out: string): Promise<Batch | undefined> {
  const text = await readFile(batchFile(out), "utf8").catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Batch);
}

export async function writeBatch(out: string, b: Batch): Promise<void> {
  const f = batchFile(out);
  await writeFile(`${f}.tmp`, JSON.stringify(b, null, 2) + "\n");
  await rename(`${f}.tmp`, f);
}

const inside = (dir: string, p: string): boolean => {
  const r = relative(dir, p);
  return r === "" || (!r.startsWith("..") && !r.startsWith(sep) && r !== "..");
};

/**
 * The plan for each submission (pure): task id, name (as the local batch
 * names it), and where the task
 * finds it: in place when it already lies in the checkout or --out (both
 * shared), else a copy under the staging folder.
 */
export function planSubmissions(
  sources: readonly string[],
  names: readonly string[],
  checkout: string,
  out: string,
): StagedSubmission[] {
  return sources.map((s, id) => {
    const source = resolve(s);
    const name = names[id] as string;
    const staged =
      inside(checkout, source) || inside(out, source)
        ? source
        : join(stageDir(out), "submissions", String(id), basename(source));
    return { id, name, source, staged };
  });
}

/** Copies the submissions that need it (of those in `ids`) and writes submissions.tsv. */
export async function stageSubmissions(
  out: string,
  subs: readonly StagedSubmission[],
  ids: ReadonlySet<number>,
): Promise<void> {
  const stage = stageDir(out);
  for (const d of ["tasks", "logs", "probe", "submissions"])
    await mkdir(join(stage, d), { recursive: true });
  // a task about to run again starts from an empty folder
  for (const id of ids)
    await rm(join(stage, "tasks", String(id)), { recursive: true, force: true });
  for (const s of subs) {
    if (s.staged === s.source || !ids.has(s.id)) continue;
    if (!existsSync(s.source)) throw new LabError(`submission ${s.source} does not exist`);
    await rm(join(stage, "submissions", String(s.id)), { recursive: true, force: true });
    await mkdir(join(stage, "submissions", String(s.id)), { recursive: true });
    await cp(s.source, s.staged, { recursive: true, verbatimSymlinks: true });
  }
  for (const s of subs)
    if (/[\t\n]/.test(s.name + s.staged))
      throw new LabError(`submission path ${s.source} holds a tab or newline`);
  await writeFile(
    join(stage, "submissions.tsv"),
    subs.map((s) => `${s.name}\t${s.staged}\n`).join(""),
  );
}

/** Whether task `id` left results (a folder with results.json) in its task folder. */
export async function taskResults(out: string, id: number): Promise<string[]> {
  const dir = join(stageDir(out), "tasks", String(id));
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, "results.json")))
    .map((e) => e.name);
}

/** Moves task `id`'s result folders into --out (replacing an older copy); returns their names. */
export async function gatherTask(out: string, id: number): Promise<string[]> {
  const dir = join(stageDir(out), "tasks", String(id));
  const dirs = await taskResults(out, id);
  for (const d of dirs) {
    await rm(join(out, d), { recursive: true, force: true });
    await rename(join(dir, d), join(out, d));
  }
  return dirs;
}

/** The last lines of a task's Slurm log (for a task that failed). */
export async function taskLogTail(
  out: string,
  jobId: string,
  id: number,
  lines = 6,
): Promise<string> {
  const text = await readFile(join(stageDir(out), "logs", `${jobId}_${id}.out`), "utf8").catch(
    () => undefined,
  );
  if (text === undefined)
    return "(no log: the task never started, or its log is not on this filesystem)";
  return text.trim().split("\n").slice(-lines).join("\n");
}
