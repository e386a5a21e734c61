import { resolve } from "node:path";
import { defineCommand } from "../lib/command.ts";
import { UsageError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";
import { generatePatch, patchInputs } from "../build/qemu/patch.ts";
import { withQemuLock } from "../build/qemu/lock.ts";
import {
  ensureQemuSource,
  pristineVersion,
  qemuPristineDir,
  qemuSourcePin,
} from "../build/qemu/source.ts";
import { parseTaskList, writeKit } from "../handout/kit.ts";

export default defineCommand({
  summary: "write the student's starter kit (the lab with the solutions cut out)",
  usage: `usage: lab handout --out DIR [--tasks z1,z2,z3]

Writes the starter kit into DIR (new or empty): every file of the lab, the
solution regions of the chosen tasks (default: all) replaced by their stubs
(they build; they fail with "not implemented: Zn ..."), the QEMU patch
regenerated from the kit's device, STUDENT.md (the tasks in order, their
tests, how to run, debug and hand in), handout.json (read by \`lab submit\`),
and a fresh git repository with one commit. The grading rubric, the grader's
fixtures and the solutions never enter it. Prints the cut: each task's
regions with their solution line counts. Regions are marked in the sources
with BEGIN/END SOLUTION comments (scripts/handout/markers.ts).

  --out DIR      where to write the kit
  --tasks LIST   the tasks to cut out, comma-separated (z1, z2, z3)`,
  options: { out: { type: "string", short: "o" }, tasks: { type: "string" } },
  async run({ values }) {
    if (!values.out) throw new UsageError("lab handout: --out DIR is required");
    const out = resolve(values.out);
    const tasks = parseTaskList(values.tasks);
    const patch = async (kitRoot: string) => {
      if ((await pristineVersion()) === qemuSourcePin.version) await ensureQemuSource();
      else await withQemuLock(ensureQemuSource);
      return generatePatch(qemuPristineDir(), await patchInputs(kitRoot));
    };
    const r = await step(`writing the starter kit to ${out}`, () =>
      writeKit(out, { tasks, patch }),
    );
    for (const line of r.cut) process.stdout.write(`${line}\n`);
    info(`${r.files} files, one commit; next: cd ${out} && npm start`);
    return 0;
  },
});
