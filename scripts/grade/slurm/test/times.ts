import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SlurmCluster } from "../cluster.ts";

/**
 * The figures of a `lab grade --slurm` batch on the test cluster: for each
 * task that graded, how long Slurm held it queued and running (squeue's
 * submit, start and end times, 1 s resolution; finished tasks stay listed
 * for MinJobAge), against the grader's own time for the submission.
 */

export interface TaskTime {
  name: string;
  /** The grader's own time (grade.json seconds). */
  graded: number;
  /** Submit to start, and start to end, per Slurm (undefined: not completed). */
  queued?: number;
  ran?: number;
}

/** grade.json's seconds for submission `name` under `out`. */
export async function gradedSeconds(out: string, name: string): Promise<number> {
  const g = JSON.parse(await readFile(join(out, name, "grade.json"), "utf8")) as {
    seconds: number;
  };
  return g.seconds;
}

export async function taskTimes(
  cluster: SlurmCluster,
  out: string,
  jobIds: string[],
  names: string[],
): Promise<TaskTime[]> {
  const at = (t: string) => Date.parse(t) / 1000;
  const seen = new Map<number, { queued: number; ran: number }>();
  const list = await cluster.run("squeue", [
    "-h",
    "-t",
    "all",
    "-j",
    jobIds.join(","),
    "-o",
    "%i %T %V %S %e",
  ]);
  for (const l of list.split("\n")) {
    const [id, state, submit, start, end] = l.trim().split(/\s+/);
    const task = /_(\d+)$/.exec(id ?? "")?.[1];
    if (state !== "COMPLETED" || task === undefined) continue;
    seen.set(Number(task), {
      queued: at(start as string) - at(submit as string),
      ran: at(end as string) - at(start as string),
    });
  }
  return Promise.all(
    names.map(async (name, i) => ({
      name,
      graded: await gradedSeconds(out, name),
      ...seen.get(i),
    })),
  );
}

/** One line per task: graded here and locally, queued and ran per Slurm. */
export async function formatTimes(times: TaskTime[], localOut: string): Promise<string> {
  const lines: string[] = [];
  for (const t of times)
    lines.push(
      `${t.name}: graded in ${t.graded.toFixed(0)} s (local ${(await gradedSeconds(localOut, t.name)).toFixed(0)} s)` +
        (t.ran !== undefined
          ? `, task ran ${t.ran} s (+${(t.ran - t.graded).toFixed(0)} s) after ${t.queued} s queued`
          : ""),
    );
  return lines.join("\n");
}
