/**
 * What Slurm says about the tasks of one job array (pure): parsing `squeue`
 * and `sacct` lines, and the tally behind the progress line.
 *
 * Sources, in order: `squeue -t all` knows pending and running tasks and,
 * for MinJobAge seconds (300 by default) after the end, finished ones with
 * their state and reason; `sacct` knows everything when the site runs
 * accounting storage (most do; the test cluster does not); a task neither
 * knows is judged by its result file on the shared filesystem.
 */

export type Phase = "pending" | "running" | "done" | "failed";

export interface TaskState {
  /** Slurm's state: PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, ... */
  state: string;
  /** Slurm's reason (None, JobArrayTaskLimit, TimeLimit, ...). */
  reason: string;
  exitCode?: string;
}

const activeStates = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "SUSPENDED",
  "STOPPED",
  "RESV_DEL_HOLD",
  "SPECIAL_EXIT",
]);

/** Whether the task may still run (not an end state). */
export function isActive(state: string): boolean {
  return activeStates.has(state.split(" ")[0] as string);
}

/** "0-3,7,9-10%2" -> [0,1,2,3,7,9,10] (pure). */
export function expandIds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, "").split(",")) {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const [a, b, step] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3] ?? 1)];
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/**
 * Lines of `squeue -h -t all -j JOB -o '%i|%T|%r'` -> state per task id.
 * Pending tasks come grouped: "12_[2-5%2]|PENDING|JobArrayTaskLimit".
 */
export function parseSqueue(text: string, jobId: string): Map<number, TaskState> {
  const out = new Map<number, TaskState>();
  for (const line of text.split("\n")) {
    const [id, state, reason] = line.trim().split("|");
    if (!id || !state || !id.startsWith(`${jobId}_`)) continue;
    const rest = id.slice(jobId.length + 1);
    const ids = rest.startsWith("[") ? expandIds(rest.slice(1, -1)) : expandIds(rest);
    for (const i of ids) out.set(i, { state, reason: reason ?? "" });
  }
  return out;
}

/**
 * Lines of `sacct -n -P -X -j JOB -o JobID,State,ExitCode,Reason` -> state
 * per task id. sacct writes "CANCELLED by 0" and pending ranges as squeue.
 */
export function parseSacct(text: string, jobId: string): Map<number, TaskState> {
  const out = new Map<number, TaskState>();
  for (const line of text.split("\n")) {
    const [id, state, exitCode, reason] = line.trim().split("|");
    if (!id || !state || !id.startsWith(`${jobId}_`)) continue;
    const rest = id.slice(jobId.length + 1);
    const ids = rest.startsWith("[") ? expandIds(rest.slice(1, -1)) : expandIds(rest);
    for (const i of ids)
      out.set(i, { state: state.split(" ")[0] as string, reason: reason ?? "", exitCode });
  }
  return out;
}

/** The phase of one task from Slurm's word and whether its results exist. */
export function phaseOf(s: TaskState | undefined, hasResult: boolean): Phase {
  if (s && isActive(s.state)) return s.state === "PENDING" ? "pending" : "running";
  if (s) return s.state === "COMPLETED" && hasResult ? "done" : "failed";
  return hasResult ? "done" : "failed";
}

export type Tally = Record<Phase, number>;

export function tally(phases: Iterable<Phase>): Tally {
  const t: Tally = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const p of phases) t[p]++;
  return t;
}

export function formatTally(t: Tally): string {
  return `${t.pending} pending, ${t.running} running, ${t.done} done, ${t.failed} failed`;
}

/** Why a task that ended has no result, in words (pure). */
export function failureText(s: TaskState | undefined, hasResult: boolean): string {
  if (!s) return hasResult ? "" : "ended without results (Slurm no longer knows the task)";
  const reason = s.reason && s.reason !== "None" ? `, reason ${s.reason}` : "";
  const exit = s.exitCode && s.exitCode !== "0:0" ? `, exit ${s.exitCode}` : "";
  if (s.state === "COMPLETED" && !hasResult) return `COMPLETED but wrote no results${exit}`;
  return `${s.state}${reason}${exit}`;
}
