import { optInSkip } from "../lib/opt-in.ts";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../lib/paths.ts";
import { vmUnavailable } from "../vm/index.ts";
import { gradeBatch } from "./batch.ts";
import type { GradeResult } from "./report.ts";
import { sandboxUnavailable } from "./sandbox.ts";
import { patchedDriver, referenceDriver } from "./test/fixtures.ts";

/**
 * The rubric discriminates: the reference driver gets full marks and each
 * deliberately broken variant (grading/pitfalls/, one pitfall each, a patch
 * applied to a copy at test time) loses exactly the items listed for it and
 * keeps every other one. All in one `lab grade -j auto` batch.
 */

const pitfallDir = join(repoRoot, "grading", "pitfalls");
interface Pitfall {
  name: string;
  patch: string;
  what: string;
  loses: string[];
}
const pitfalls = parse(await readFile(join(pitfallDir, "pitfalls.yaml"), "utf8")) as Pitfall[];

const unavailable =
  optInSkip(
    "LAB_TEST_PITFALLS",
    "grades seven variants, ~15 min; not yet run green on the lab machines with its last expectations",
  ) ??
  vmUnavailable() ??
  sandboxUnavailable();

describe.skipIf(unavailable !== undefined)(
  `pitfall variants${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let tmp: string;
    const byName = new Map<string, GradeResult>();

    beforeAll(async () => {
      tmp = await mkdtemp(join(tmpdir(), "grade-pitfalls-"));
      const subs = join(tmp, "subs");
      await referenceDriver(join(subs, "reference"));
      for (const p of pitfalls) await patchedDriver(join(subs, p.name), join(pitfallDir, p.patch));
      const results = await gradeBatch([subs], {
        outDir: join(tmp, "out"),
        jobs: "auto",
        resume: false,
      });
      for (const r of results) byName.set(r.name, r);
    }, 3_600_000);

    afterAll(async () => {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    const lost = (r: GradeResult) =>
      r.scored.items.filter((s) => s.graded && s.score < s.max).map((s) => s.item.id);
    const detail = (r: GradeResult) =>
      r.scored.items
        .filter((s) => s.graded && s.score < s.max)
        .map(
          (s) =>
            `${s.item.id}: ${s.tests.map((t) => `${t.id} ${t.status} ${t.output}`).join("; ")}`,
        )
        .join("\n");

    it("the reference driver gets full marks", () => {
      const r = byName.get("reference") as GradeResult;
      expect(r.status).toBe("graded");
      expect(lost(r), detail(r)).toEqual([]);
      expect(r.scored.byPart.driver?.score).toBe(r.scored.byPart.driver?.max);
    });

    it.each(pitfalls)("$name ($what) loses exactly $loses", (p) => {
      const r = byName.get(p.name) as GradeResult;
      expect(r.status).toBe("graded");
      expect(lost(r).sort(), detail(r)).toEqual([...p.loses].sort());
    });
  },
);
