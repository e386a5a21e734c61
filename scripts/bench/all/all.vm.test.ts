import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { labProcess, vmUnavailable } from "../../vm/index.ts";
import { type AllReport, missingFigures, requiredFigures } from "./report.ts";

/**
 * The smoke check of `lab bench all --quick` (about 2-3 minutes on an idle
 * 2-core TCG machine): every benchmark runs through the real guest, the
 * device, the chat and the builds, and every figure of the report is
 * produced. Nothing here judges a timing.
 */
const dir = await mkdtemp(join(tmpdir(), "lab-bench-all-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

const why = vmUnavailable();

describe("lab bench all --quick", () => {
  it.skipIf(why !== undefined)(
    `writes report.md, report.json with every figure, and the four plots${why ? ` (skipped: ${why})` : ""}`,
    async () => {
      const r = await labProcess(["bench", "all", "--quick", "--out", dir]);
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const report = JSON.parse(await readFile(join(dir, "report.json"), "utf8")) as AllReport;
      expect(missingFigures(report.figures)).toEqual([]);
      for (const k of requiredFigures)
        expect(report.figures.find((f) => f.key === k)?.value, k).toBeGreaterThan(0);
      expect(report.machine.cores).toBeGreaterThan(0);
      expect(report.machine.cpu).not.toBe("");
      expect(["kvm", "tcg"]).toContain(report.machine.accel);
      expect(report.boot.stages.map((s) => s.stage)).toContain("kernel: boot to /init");
      const md = await readFile(join(dir, "report.md"), "utf8");
      for (const svg of ["boot.svg", "device.svg", "chat-msgs.svg", "chat-p99.svg"]) {
        expect(md).toContain(`(${svg})`);
        expect((await readFile(join(dir, svg), "utf8")).startsWith("<svg")).toBe(true);
      }
    },
    1_200_000,
  );
});
