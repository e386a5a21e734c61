import { join } from "node:path";
import { tmpdir } from "node:os";
import { LabError } from "../../lib/errors.ts";
import { resolveAccel } from "../../vm/accel.ts";
import { selectQemu } from "../../vm/binary.ts";
import { gradeOne } from "../grade-one.ts";
import { defaultRubricPath, loadRubric } from "../rubric.ts";
import { sandboxUnavailable } from "../sandbox.ts";
import { readBatch, stageDir } from "./stage.ts";

/**
 * One array task (run by grade-array.sbatch through task.mjs): grades
 * submission `id` of the batch staged under OUT/.slurm with the same
 * single-submission grader as a local `lab grade` (gradeOne), into
 * OUT/.slurm/tasks/<id>/<name>/, its scratch under $TMPDIR (the job script
 * points it at a fresh folder on the node). The sandbox uid comes from this
 * process's pid (sandboxUid, slot 0), so tasks sharing a node never share one.
 */
export async function gradeTask(out: string, id: number): Promise<number> {
  const batch = await readBatch(out);
  if (!batch) throw new LabError(`no batch staged under ${stageDir(out)}`);
  const sub = batch.submissions[id];
  if (!sub) throw new LabError(`task ${id}: the batch has ${batch.submissions.length} submissions`);
  const why = sandboxUnavailable();
  if (why)
    throw new LabError(`cannot grade on this node: ${why}`, 1, "install bubblewrap on the nodes");
  const { rubric, text } = await loadRubric(batch.rubricPath ?? defaultRubricPath);
  const accel = await resolveAccel("auto", selectQemu(1));
  const r = await gradeOne(sub.staged, {
    rubric,
    rubricText: text,
    outDir: join(stageDir(out), "tasks", String(id)),
    workDir: join(tmpdir(), "work"),
    slot: 0,
    accel,
    name: sub.name,
    progress: (phase) => process.stdout.write(`lab: ${sub.name}: ${phase}\n`),
  });
  process.stdout.write(
    `lab: ${sub.name}: ${r.scored.score}/${r.scored.max} (${r.status}${r.reason ? `: ${r.reason}` : ""}) in ${r.seconds.toFixed(1)} s\n`,
  );
  return 0;
}

/** argv: OUT TASK_ID */
export async function main(argv: string[]): Promise<number> {
  const [out, id] = argv;
  if (!out || !/^\d+$/.test(id ?? "")) {
    process.stderr.write("usage: task.mjs OUT TASK_ID\n");
    return 2;
  }
  try {
    return await gradeTask(out, Number(id));
  } catch (e) {
    const err = e as LabError;
    process.stderr.write(
      `lab: error: ${err.message}\n${err.hint ? `lab: hint: ${err.hint}\n` : ""}`,
    );
    if (!(e instanceof LabError)) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}
