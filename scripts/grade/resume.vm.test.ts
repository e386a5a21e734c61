import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kernelPresent } from "../guest/kernel.ts";
import { edit } from "./edit.ts";
import { gradeOne } from "./grade-one.ts";
import { loadRubric } from "./rubric.ts";
import { sandboxUnavailable } from "./sandbox.ts";
import { referenceDriver } from "./samples.ts";

/**
 * --resume: a submission graded again with the same inputs is not graded
 * again (same result, results.json untouched); a changed submission is.
 * A driver that does not build keeps this short (one sandboxed build, no boot).
 */
const unavailable = sandboxUnavailable() ?? (kernelPresent() ? undefined : "no kernel headers");

describe.skipIf(unavailable !== undefined)(
  `lab grade --resume${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let tmp: string;
    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "grade-resume-"));
    });
    afterAll(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it("skips what was graded with the same inputs, regrades a change", async () => {
      const { rubric, text } = await loadRubric();
      const sub = await referenceDriver(join(tmp, "bob"));
      await edit(sub, "guest-driver/module/main.c", "#include", "not C;\n#include");
      const phases: string[] = [];
      const o = {
        rubric,
        rubricText: text,
        outDir: join(tmp, "out"),
        workDir: join(tmp, "work"),
        slot: 0,
        accel: "tcg" as const,
        resume: true,
        progress: (p: string) => phases.push(p),
      };
      const first = await gradeOne(sub, o);
      expect(first.reason).toMatch(/driver build failed/);
      const mtime = (await stat(join(tmp, "out", "bob", "results.json"))).mtimeMs;
      phases.length = 0;
      const again = await gradeOne(sub, o);
      expect(phases).toEqual(["intake", "resumed"]);
      expect(again.key).toBe(first.key);
      expect(again.scored.score).toBe(first.scored.score);
      expect((await stat(join(tmp, "out", "bob", "results.json"))).mtimeMs).toBe(mtime);
      await edit(sub, "guest-driver/module/main.c", "not C;", "still not C;");
      phases.length = 0;
      const changed = await gradeOne(sub, o);
      expect(changed.key).not.toBe(first.key);
      expect(phases).toContain("build driver");
    });
  },
);
