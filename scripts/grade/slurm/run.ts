import { readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { LabError, UsageError } from "../../lib/errors.ts";
import { info, isCI, step, warn } from "../../lib/log.ts";
import { repoRoot } from "../../lib/paths.ts";
import type { GradeResult } from "../report.ts";
import type { Part } from "../rubric.ts";
import { SlurmClient, checkArraySize } from "./client.ts";
import { probeSharedFs } from "./probe.ts";
import {
  type Batch,
  type StagedSubmission,
  type SubmittedJob,
  gatherTask,
  planSubmissions,
  readBatch,
  stageDir,
  stageRubric,
  stageSubmissions,
  taskLogTail,
  taskResults,
  writeBatch,
} from "./stage.ts";
import {
  type Phase,
  type TaskState,
  failureText,
  formatTally,
  isActive,
  parseSacct,
  parseSqueue,
  phaseOf,
  tally,
} from "./states.ts";
import { arraySpec, renderJobScript } from "./template.ts";

/**
 * `lab grade --slurm`: one Slurm job array, one task per submission, each
 * running the same single-submission `lab grade` as a local run; then the
 * results gathered into --out as a local run writes them. See README
 * ("Grading on a Slurm cluster").
 */

export interface SlurmGradeOptions {
  submissions: string[];
  out: string;
  /** --rubric FILE; default the checkout's grading/rubric.yaml. */
  rubric?: string;
  resume: boolean;
  partition?: string;
  maxParallel?: number;
  timeLimit?: string;
  sbatchArgs: string[];
  dryRun: boolean;
  /** Seconds between two looks at the queue (default 2). */
  pollSeconds?: number;
  env?: NodeJS.ProcessEnv;
}

export interface TaskOutcome {
  id: number;
  name: string;
  phase: Phase;
  /** Slurm's state and reason for a failed task, with the log's last lines. */
  detail: string;
}

export interface SlurmGradeResult {
  jobId?: string;
  outcomes: TaskOutcome[];
  /** The graded submissions, in submission order (as a local batch returns them). */
  results: GradeResult[];
}

/** What grading needs built on the node before the first task grades (as gradeBatch). */
export const buildTargets = ["driver", "conformance", "qemu", "guest", "app", "debug"];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Slurm's --time formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (pure). */
export function checkTimeLimit(t: string): string {
  if (
    /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2})$/.test(
      t,
    )
  )
    return t;
  throw new UsageError(
    `--time-limit takes Slurm's time format (30, 1:30:00, 1-00:00:00), got '${t}'`,
  );
}

function checkOut(out: string): void {
  if (/[\s%'"\\]/.test(out))
    throw new LabError(
      `--out ${out} holds whitespace, a quote, a backslash or '%'`,
      1,
      "Slurm's #SBATCH --output line cannot carry them; choose a plainer path",
    );
}

export function slurmScript(
  o: SlurmGradeOptions,
  ids: readonly number[],
): { script: string; sbatchArgs: string[] } {
  const out = resolve(o.out);
  const script = renderJobScript({
    jobName: "lab-grade",
    array: arraySpec(ids, o.maxParallel),
    cpusPerTask: 1,
    partition: o.partition,
    timeLimit: o.timeLimit,
    checkout: repoRoot,
    node: process.execPath,
    out,
    buildTargets,
  });
  return { script, sbatchArgs: [...o.sbatchArgs, join(stageDir(out), "grade-array.sbatch")] };
}

/** The task ids still to grade on --resume: those never gathered. */
function pendingIds(batch: Batch | undefined, subs: StagedSubmission[]): number[] {
  return subs.filter((s) => !batch?.gathered[String(s.id)]).map((s) => s.id);
}

/** Resumes onto an existing batch: the same submissions, by name and order. */
function resumeBatch(old: Batch, subs: StagedSubmission[]): void {
  const same =
    old.submissions.length === subs.length &&
    old.submissions.every((s, i) => s.source === subs[i]?.source);
  if (!same)
    throw new LabError(
      "--resume needs the same submissions, in the same order, as the batch in --out",
      1,
      `that batch graded: ${old.submissions.map((s) => s.source).join(" ")}`,
    );
}

async function taskStates(
  client: SlurmClient,
  jobId: string,
): Promise<{ states: Map<number, TaskState>; active: boolean }> {
  const states = parseSqueue(await client.squeue(jobId), jobId);
  return { states, active: [...states.values()].some((s) => isActive(s.state)) };
}

/** Polls the array until no task is pending or running, reporting the tally. */
async function waitForArray(
  client: SlurmClient,
  out: string,
  jobId: string,
  ids: number[],
  pollMs: number,
): Promise<Map<number, TaskState>> {
  const plain = !process.stderr.isTTY || isCI();
  let interrupted = false;
  const onInt = () => {
    interrupted = true;
  };
  process.once("SIGINT", onInt);
  try {
    return await step(`slurm job ${jobId} (${ids.length} tasks)`, async (progress) => {
      let last = "";
      for (;;) {
        if (interrupted)
          throw new LabError(
            `stopped waiting; job ${jobId} keeps running on the cluster`,
            130,
            "run the same command with --resume to wait for it again and gather, " +
              `or \`scancel ${jobId}\` to stop it`,
          );
        const { states, active } = await taskStates(client, jobId);
        const phases = await Promise.all(
          ids.map(async (i) => phaseOf(states.get(i), (await taskResults(out, i)).length > 0)),
        );
        const line = formatTally(tally(phases));
        if (line !== last) {
          progress(line);
          if (plain) info(`slurm job ${jobId}: ${line}`);
          last = line;
        }
        if (!active) return states;
        await sleep(pollMs);
      }
    });
  } finally {
    process.off("SIGINT", onInt);
  }
}

export async function gradeOnSlurm(o: SlurmGradeOptions): Promise<SlurmGradeResult> {
  const out = resolve(o.out);
  checkOut(out);
  if (o.timeLimit) checkTimeLimit(o.timeLimit);
  if (o.submissions.length === 0) throw new UsageError("lab grade --slurm: no submission given");
  // the same expansion (folders of submissions) and names as a local batch
  const { expandSubmissions, uniqueNames } = await import("../batch.ts");
  const sources = await expandSubmissions(o.submissions);
  const subs = planSubmissions(sources, uniqueNames(sources), repoRoot, out);
  const old = o.resume ? await readBatch(out) : undefined;
  if (old) resumeBatch(old, subs);

  if (o.dryRun) {
    const ids = pendingIds(old, subs);
    const { script, sbatchArgs } = slurmScript(o, ids.length ? ids : subs.map((s) => s.id));
    process.stdout.write(script);
    process.stdout.write(`\n# submitted as: sbatch ${sbatchArgs.join(" ")}\n`);
    return { outcomes: [], results: [] };
  }

  const client = new SlurmClient(o.env ?? process.env);
  await client.reachable();
  if (o.partition) await client.checkPartition(o.partition);
  const maxArraySize = Number((await client.config()).get("MaxArraySize") ?? "1001");
  checkArraySize(Math.max(...pendingIds(old, subs)), maxArraySize);
  const poll = (o.pollSeconds ?? 2) * 1000;

  // --resume: first wait for (and gather) what an earlier job of the batch still runs
  const outcomes = new Map<number, TaskOutcome>();
  if (old) {
    for (const j of old.jobs) {
      if (!(await taskStates(client, j.jobId)).active) continue;
      info(`job ${j.jobId} of this batch is still queued or running: waiting for it`);
      const states = await waitForArray(client, out, j.jobId, j.ids, poll);
      for (const x of await gather(out, old, j, states)) outcomes.set(x.id, x);
    }
  }
  const batch: Batch = old ?? {
    version: 1,
    checkout: repoRoot,
    submissions: subs,
    rubricPath: await stageRubric(out, o.rubric),
    jobs: [],
    gathered: {},
  };
  const ids = pendingIds(batch, subs);
  if (ids.length === 0) {
    info("every submission of this batch is graded");
    return report(out, batch, [...outcomes.values()]);
  }
  await stageSubmissions(out, subs, new Set(ids));
  await writeBatch(out, batch);

  await step("checking that the compute nodes share --out and the checkout", (progress) =>
    probeSharedFs(
      client,
      {
        out,
        checkout: repoRoot,
        node: process.execPath,
        partition: o.partition,
        sbatchArgs: o.sbatchArgs,
      },
      progress,
    ),
  );

  const { script, sbatchArgs } = slurmScript(o, ids);
  await writeFile(join(stageDir(out), "grade-array.sbatch"), script);
  const jobId = await client.sbatch(sbatchArgs, o.partition);
  const job = { jobId, ids, submittedAt: new Date().toISOString() };
  batch.jobs.push(job);
  await writeBatch(out, batch);
  info(
    `submitted job array ${jobId} (${ids.length} tasks${o.maxParallel ? `, at most ${o.maxParallel} at once` : ""})`,
  );

  const states = await waitForArray(client, out, jobId, ids, poll);
  // tasks that aged out of squeue: ask sacct where the site keeps accounting
  if (ids.some((i) => !states.has(i))) {
    const acct = await client.sacct(jobId);
    if (acct) for (const [i, s] of parseSacct(acct, jobId)) if (!states.has(i)) states.set(i, s);
  }
  for (const x of await gather(out, batch, job, states)) outcomes.set(x.id, x);
  return report(out, batch, [...outcomes.values()]);
}

/** Gathers the results of `job`'s tasks that ended with them; says why the others have none. */
async function gather(
  out: string,
  batch: Batch,
  job: SubmittedJob,
  states: Map<number, TaskState>,
): Promise<TaskOutcome[]> {
  const outcomes: TaskOutcome[] = [];
  for (const id of job.ids) {
    const s = batch.submissions[id] as StagedSubmission;
    const has = (await taskResults(out, id)).length > 0;
    const st = states.get(id);
    const phase = phaseOf(st, has);
    if (phase === "done") {
      batch.gathered[String(id)] = await gatherTask(out, id);
      outcomes.push({ id, name: s.name, phase, detail: "" });
    } else {
      const log = await taskLogTail(out, job.jobId, id);
      const why = `${failureText(st, has)} (job ${job.jobId}_${id})\n${log}`;
      outcomes.push({ id, name: s.name, phase: "failed", detail: why });
    }
  }
  await writeBatch(out, batch);
  return outcomes;
}

/** summary.csv and the table; the submissions not graded, each with Slurm's word. */
async function report(out: string, batch: Batch, tasks: TaskOutcome[]): Promise<SlurmGradeResult> {
  const results = await writeSummary(out, batch);
  const outcomes = batch.submissions.map((s): TaskOutcome =>
    batch.gathered[String(s.id)]
      ? { id: s.id, name: s.name, phase: "done", detail: "" }
      : (tasks.find((t) => t.id === s.id) ?? {
          id: s.id,
          name: s.name,
          phase: "failed",
          detail: "not graded",
        }),
  );
  const failed = outcomes.filter((x) => x.phase !== "done");
  for (const f of failed) warn(`${f.name} (task ${f.id}): ${f.detail.trim()}`);
  if (failed.length)
    info(
      `${failed.length} of ${outcomes.length} not graded: the same command with --resume resubmits only those`,
    );
  return { jobId: batch.jobs.at(-1)?.jobId, outcomes, results };
}

/**
 * summary.csv and the table, as a local batch writes them, from the
 * grade.json of every gathered submission (in submission order).
 */
async function writeSummary(out: string, batch: Batch): Promise<GradeResult[]> {
  const { summaryCsv, summaryTable } = await import("../report.ts");
  const { defaultRubricPath, loadRubric } = await import("../rubric.ts");
  const { rubric } = await loadRubric(batch.rubricPath ?? defaultRubricPath);
  const partNames = [...new Set(rubric.items.map((i) => i.part))] as Part[];
  const results: GradeResult[] = [];
  for (const s of batch.submissions) {
    if (!batch.gathered[String(s.id)]) continue;
    const text = await readFile(join(out, s.name, "grade.json"), "utf8").catch(() => undefined);
    if (text !== undefined) results.push(JSON.parse(text) as GradeResult);
  }
  await writeFile(join(out, "summary.csv"), summaryCsv(results, partNames));
  process.stdout.write(summaryTable(results, partNames));
  return results;
}
