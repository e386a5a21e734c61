import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatCounts, ktapCounts } from "../../scripts/lib/ktap.ts";
import { testProgram } from "../../scripts/build/conformance.ts";
import { driverModulePath, guestPathOf } from "../../scripts/lib/paths.ts";
import {
  type RunResult,
  ensureBuilt,
  parseVmArgs,
  runGuest,
  vmUnavailable,
} from "../../scripts/vm/index.ts";
import {
  buildHostileModule,
  formatRun,
  guestCommand,
  hostileMatrix,
  hostileProblems,
  type HostileRun,
  parseHostileRun,
  shareOpts,
} from "./hostile.ts";
import { findSplats, formatSplat } from "../../scripts/vm/splat.ts";

/**
 * The device against a hostile guest driver (host-backend/test/hostile/),
 * once per property set of the matrix, one boot each; then the real driver's
 * known-answer tests on the same device in the same boot.
 */

const unavailable = vmUnavailable();

describe.skipIf(unavailable !== undefined)(
  `hostile driver against the device${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let moduleDir = "";

    beforeAll(async () => {
      await ensureBuilt("driver", "conformance");
      moduleDir = await buildHostileModule();
    });

    afterAll(async () => {
      if (moduleDir) await rm(moduleDir, { recursive: true, force: true });
    });

    hostileMatrix.forEach((cfg, i) => {
      describe(cfg.name, () => {
        let res: RunResult;
        let run: HostileRun;
        let consoleLog = "";

        beforeAll(async () => {
          const dir = await mkdtemp(join(tmpdir(), "vcd-hostile-run-"));
          const consoleFile = join(dir, "console.log");
          res = await runGuest(
            parseVmArgs(
              [
                ...cfg.opts,
                ...shareOpts(moduleDir),
                "--timeout",
                "400",
                "--console",
                consoleFile,
                "--",
                ...guestCommand(
                  i + 1,
                  guestPathOf(testProgram("conformance")),
                  guestPathOf(driverModulePath),
                ),
              ],
              true,
            ),
          );
          run = parseHostileRun(res.stdout);
          consoleLog = await readFile(consoleFile, "utf8").catch(() => "");
          await rm(dir, { recursive: true, force: true });
          console.log(formatRun(cfg, run));
        });

        it("every case passes (zero out-of-bounds writes, stale answers, hangs, wrong answers)", () => {
          const detail = `exit ${res.code} ${res.reason ?? ""}\n${res.stdout.slice(-6000)}\n${res.stderr.slice(-3000)}`;
          expect(hostileProblems(run, cfg), detail).toEqual([]);
          expect(run.totals.checked, detail).toBeGreaterThan(0);
          expect(run.totals.errors, detail).toBeGreaterThan(0);
        });

        it("then the real driver passes its known-answer tests on the same device", () => {
          const c = ktapCounts(run.kat);
          const detail = `exit ${res.code}: ${formatCounts(c)}\n${res.stdout.slice(-3000)}`;
          expect(c.planned, detail).toBeGreaterThan(0);
          expect(c.passed, detail).toBe(c.planned);
          expect(res.code, detail).toBe(0);
        });

        it("leaves no kernel BUG, WARNING or oops on the console", () => {
          expect(consoleLog.length, "no console log").toBeGreaterThan(0);
          const bad = findSplats(consoleLog).map((s) => formatSplat(s));
          expect(bad, bad.join("\n")).toEqual([]);
        });
      });
    });
  },
);
