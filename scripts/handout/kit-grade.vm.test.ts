import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lib/paths.ts";
import { vmUnavailable } from "../vm/index.ts";
import { gradeBatch } from "../grade/batch.ts";
import type { GradeResult } from "../grade/report.ts";
import { sandboxUnavailable } from "../grade/sandbox.ts";
import { writeKit } from "./kit.ts";
import { restoreKit } from "./restore.ts";
import { labTasks } from "./tasks.ts";

/**
 * The kit through the grader, as course staff would meet it: the untouched
 * kit (every task a stub) graded as a submission gets only what a stub
 * earns, and the tarball `lab submit` makes in a clone of the kit whose
 * stubs a "student" filled with the reference's solutions gets full marks.
 * Both in one `lab grade -j auto` batch.
 */

const unavailable = vmUnavailable() ?? sandboxUnavailable();

let tmp: string;
const byName = new Map<string, GradeResult>();
let submitLog = "";

const lost = (r: GradeResult) =>
  r.scored.items.filter((s) => s.graded && s.score < s.max).map((s) => s.item.id);
const kept = (r: GradeResult) =>
  r.scored.items.filter((s) => s.graded && s.score > 0).map((s) => s.item.id);
const detail = (r: GradeResult) =>
  `${r.status} ${r.reason ?? ""} ${r.scored.score}/${r.scored.max}\n` +
  r.scored.items
    .filter((s) => s.graded)
    .map((s) => `${s.item.id} ${s.score}/${s.max}`)
    .join("\n");

describe.skipIf(unavailable !== undefined)(
  `the starter kit graded by lab grade${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "lab-kit-grade-"));
      const kit = await writeKit(join(tmp, "kit"), { tasks: [...labTasks] });
      const student = join(tmp, "student");
      await execa("git", ["clone", "-q", kit.out, student]);
      await restoreKit(kit.out, student);
      await symlink(join(repoRoot, "node_modules"), join(student, "node_modules"));
      const tarball = join(tmp, "finished.tar.gz");
      const r = await execa("node", [join(student, "bin", "lab.mjs"), "submit", "--out", tarball], {
        cwd: student,
        env: { CI: "true" },
        reject: false,
        all: true,
        timeout: 300_000,
      });
      submitLog = `lab submit exit ${r.exitCode}\n${r.all ?? ""}`;
      expect(r.exitCode, submitLog).toBe(0);
      for (const g of await gradeBatch([kit.out, tarball], {
        outDir: join(tmp, "grades"),
        jobs: "auto",
        resume: false,
      }))
        byName.set(g.name, g);
    }, 2_400_000);

    afterAll(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it("the untouched kit is graded (driver, device and chat), not rejected", () => {
      const r = byName.get("kit");
      expect(r, [...byName.keys()].join(", ")).toBeDefined();
      expect(r!.status, detail(r!)).toBe("graded");
      expect(Object.keys(r!.scored.byPart).sort()).toEqual(["chat", "device", "driver"]);
    });

    it("the untouched kit earns only what compiling stubs earns", () => {
      const r = byName.get("kit")!;
      // The stubs compile without warnings; nothing that needs a working
      // driver, device or chat may score (the chat's stubs earn nothing).
      const allowed = new Set(["driver.build", "driver.warnings", "device.build"]);
      const extra = kept(r).filter((id) => !allowed.has(id));
      expect(extra, detail(r)).toEqual([]);
      expect(r.scored.score, detail(r)).toBeLessThan(r.scored.max * 0.2);
    });

    it("the kit's `lab submit` tarball of the finished tasks gets full marks", () => {
      const r = byName.get("finished");
      expect(r, [...byName.keys()].join(", ")).toBeDefined();
      expect(r!.status, detail(r!)).toBe("graded");
      expect(Object.keys(r!.scored.byPart).sort()).toEqual(["chat", "device", "driver"]);
      expect(lost(r!), `${detail(r!)}\n${submitLog}`).toEqual([]);
      expect(r!.scored.score).toBe(r!.scored.max);
    });
  },
);
