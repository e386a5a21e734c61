import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultRubricPath, loadRubric } from "./rubric.ts";
import {
  partDir,
  pitfallDir,
  pitfallPatches,
  loadPitfalls,
  pitfallSubmission,
} from "./pitfalls.ts";

/**
 * Cheap guard for the pitfall suite: every patch in grading/pitfalls/
 * applies exactly (no fuzz) to the current reference, touches only its own
 * part and names rubric items that exist, so the next reshaping of the
 * driver or device fails here, in seconds, with the pitfall's name.
 */

const pitfalls = await loadPitfalls();
const tmp = await mkdtemp(join(tmpdir(), "grade-pitfall-patches-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("grading/pitfalls", () => {
  it("lists every patch once, and each names rubric items of its part", async () => {
    expect(pitfalls.map((p) => p.patch).sort()).toEqual(await pitfallPatches());
    expect(new Set(pitfalls.map((p) => p.name)).size).toBe(pitfalls.length);
    const { rubric } = await loadRubric(defaultRubricPath);
    const ids = new Map(rubric.items.map((i) => [i.id, i.part]));
    for (const p of pitfalls)
      for (const id of p.loses)
        expect(ids.has(id), `${p.name}: ${id} is not a rubric item`).toBe(true);
  });

  it.each(pitfalls)("$name applies cleanly to the current $part", async (p) => {
    const text = await readFile(join(pitfallDir, p.patch), "utf8");
    const files = [...text.matchAll(/^\+\+\+ b\/(\S+)/gm)].map((m) => m[1] as string);
    expect(files.length, `${p.patch} patches no file`).toBeGreaterThan(0);
    for (const f of files) expect(f.startsWith(partDir[p.part]), `${p.patch}: ${f}`).toBe(true);
    await expect(pitfallSubmission(p, join(tmp, p.name))).resolves.toBe(join(tmp, p.name));
  });
});
