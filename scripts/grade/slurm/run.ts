import { writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { LabError, UsageError } from "../../lib/errors.ts";
import { info, isCI, step, warn } from "../../lib/log.ts";
import { repoRoot } from "../../lib/paths.ts";
import { SlurmClient, checkArraySize } from "./client.ts";
import { probeSharedFs } from "./probe.ts";
import {
  type Batch,
  type StagedSubmission,
  gatherTask,
  planSubmissions,
  readBatch,
  stageDir,
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
  /** Words passed on to each task's `lab grade` (--rubric FILE). */
  gradeArgs: string[];
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
  /** Header then one row per gathered submission, in submission order. */
  summary: string[];
}

/** What grading needs built on the node before the first task grades. */
export const buildTargets = ["kernel", "initramfs", "qemu", "driver", "conformance"];

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
  if (/[\s%]/.test(out))
    throw new LabError(
      `--out ${out} holds whitespace or '%'`,
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
    stage: stageDir(out),
    gradeArgs: o.gradeArgs,
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

/** Tasks of earlier jobs of this batch still queued or running (for --resume). */
async function stillActive(client: SlurmClient, batch: Batch): Promise<string[]> {
  const out: string[] = [];
  for (const j of batch.jobs) if ((await taskStates(client, j.jobId)).active) out.push(j.jobId);
  return out;
}

export async function gradeOnSlurm(o: SlurmGradeOptions): Promise<SlurmGradeResult> {
  const out = resolve(o.out);
  checkOut(out);
  if (o.timeLimit) checkTimeLimit(o.timeLimit);
  if (o.submissions.length === 0) throw new UsageError("lab grade --slurm: no submission given");
  const subs = planSubmissions(o.submissions, repoRoot, out);
  const names = new Map<string, string>();
  for (const s of subs) {
    const seen = names.get(s.name);
    if (seen)
      throw new LabError(
        `two submissions are both named '${s.name}': ${seen} and ${s.source}`,
        1,
        "their results would land in the same folder of --out; rename one",
      );
    names.set(s.name, s.source);
  }
  const old = o.resume ? await readBatch(out) : undefined;
  if (old) resumeBatch(old, subs);
  const ids = pendingIds(old, subs);

  if (o.dryRun) {
    const { script, sbatchArgs } = slurmScript(o, ids.length ? ids : subs.map((s) => s.id));
    process.stdout.write(script);
    process.stdout.write(`\n# submitted as: sbatch ${sbatchArgs.join(" ")}\n`);
    return { outcomes: [], summary: [] };
  }

  const client = new SlurmClient(o.env ?? process.env);
  await client.reachable();
  if (o.partition) await client.checkPartition(o.partition);
  const maxArraySize = Number((await client.config()).get("MaxArraySize") ?? "1001");
  if (ids.length) checkArraySize(Math.max(...ids), maxArraySize);

  const batch: Batch = old ?? {
    version: 1,
    checkout: repoRoot,
    submissions: subs,
    gradeArgs: o.gradeArgs,
    jobs: [],
    gathered: {},
  };
  await stageSubmissions(out, subs);
  await writeBatch(out, batch);
  if (old) {
    const running = await stillActive(client, old);
    if (running.length)
      throw new LabError(
        `job ${running.join(", ")} of this batch is still queued or running`,
        1,
        "wait for it (or `scancel` it), then --resume again",
      );
  }
  if (ids.length === 0) {
    info("every submission of this batch is graded already");
    return finish(out, batch, undefined, new Map());
  }

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
  batch.jobs.push({ jobId, ids, submittedAt: new Date().toISOString() });
  await writeBatch(out, batch);
  info(
    `submitted job array ${jobId} (${ids.length} tasks${o.maxParallel ? `, at most ${o.maxParallel} at once` : ""})`,
  );

  const states = await waitForArray(client, out, jobId, ids, (o.pollSeconds ?? 2) * 1000);
  // tasks that aged out of squeue: ask sacct where the site keeps accounting
  if (ids.some((i) => !states.has(i))) {
    const acct = await client.sacct(jobId);
    if (acct) for (const [i, s] of parseSacct(acct, jobId)) if (!states.has(i)) states.set(i, s);
  }
  return finish(out, batch, jobId, states);
}

async function finish(
  out: string,
  batch: Batch,
  jobId: string | undefined,
  states: Map<number, TaskState>,
): Promise<SlurmGradeResult> {
  const job = batch.jobs.find((j) => j.jobId === jobId);
  const outcomes: TaskOutcome[] = [];
  for (const s of batch.submissions) {
    const key = String(s.id);
    if (!job?.ids.includes(s.id)) {
      outcomes.push({
        id: s.id,
        name: s.name,
        phase: batch.gathered[key] ? "done" : "failed",
        detail: "",
      });
      continue;
    }
    const has = (await taskResults(out, s.id)).length > 0;
    const st = states.get(s.id);
    const phase = phaseOf(st, has);
    if (phase === "done") {
      const g = await gatherTask(out, s.id);
      batch.gathered[key] = g.dirs;
      await writeFile(join(stageDir(out), "tasks", `${s.id}.summary`), g.summary.join("\n") + "\n");
      outcomes.push({ id: s.id, name: s.name, phase, detail: "" });
    } else {
      const log = jobId ? await taskLogTail(out, jobId, s.id) : "";
      outcomes.push({
        id: s.id,
        name: s.name,
        phase: "failed",
        detail: `${failureText(st, has)}\n${log}`,
      });
    }
  }
  await writeBatch(out, batch);
  const summary = await mergeSummaries(out, batch);
  await writeFile(join(out, "summary.csv"), summary.join("\n") + "\n");
  const failed = outcomes.filter((x) => x.phase !== "done");
  for (const f of failed)
    warn(`${f.name} (task ${f.id}${jobId ? `, job ${jobId}_${f.id}` : ""}): ${f.detail.trim()}`);
  if (failed.length)
    info(
      `${failed.length} of ${outcomes.length} not graded: the same command with --resume resubmits only those`,
    );
  return { jobId, outcomes, summary };
}

/** summary.csv of the whole batch: the tasks' rows in submission order, one header. */
async function mergeSummaries(out: string, batch: Batch): Promise<string[]> {
  const { readFile } = await import("node:fs/promises");
  let header: string | undefined;
  const rows: string[] = [];
  for (const s of batch.submissions) {
    if (!batch.gathered[String(s.id)]) continue;
    const f = join(stageDir(out), "tasks", `${s.id}.summary`);
    if (!existsSync(f)) continue;
    const [h, ...r] = (await readFile(f, "utf8")).split("\n").filter(Boolean);
    header ??= h;
    rows.push(...r);
  }
  return header ? [header, ...rows] : [];
}
