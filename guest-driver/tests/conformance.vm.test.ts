import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { testProgram } from "../../scripts/build/conformance.ts";
import { driverModulePath, guestPathOf } from "../../scripts/lib/paths.ts";
import {
  type RunResult,
  ensureBuilt,
  guestArgs,
  runGuest,
  vmUnavailable,
} from "../../scripts/vm/index.ts";
import { type KtapReport, formatCounts, ktapCounts, parseKtap } from "../../scripts/lib/ktap.ts";

/**
 * The in-guest conformance suite (guest-driver/tests/conformance.c) through
 * the real device: once on a CPU without SMAP/SMEP (`qemu64`) and once with
 * `max` (the lab's default), where SMAP/SMEP turn any direct user-pointer
 * access by the driver into an oops.
 * Both runs attach two devices (two at once, then hot-unplug of the second)
 * and reload the module. Each KTAP group is one vitest test.
 */

const groups = [
  "kat",
  "roundtrip",
  "errors",
  "concurrency",
  "lifecycle",
  "twodev",
  "reload",
  "unplug",
] as const;

const runs = [
  { title: "--cpu qemu64 (no SMAP/SMEP)", cpu: "qemu64", suite: [] as string[] },
  { title: "--cpu max (SMAP/SMEP)", cpu: "max", suite: [] as string[] },
];

const unavailable = vmUnavailable();

describe.skipIf(unavailable !== undefined)(
  `guest conformance suite${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    beforeAll(async () => {
      await ensureBuilt("driver", "conformance");
    });

    for (const run of runs) {
      describe(run.title, () => {
        let res: RunResult;
        let report: KtapReport;

        let consoleLog = "";

        beforeAll(async () => {
          const dir = await mkdtemp(join(tmpdir(), "vcd-conformance-"));
          const consoleFile = join(dir, "console.log");
          res = await runGuest(
            guestArgs({
              devices: 2,
              timeoutS: 800,
              console: consoleFile,
              cpu: run.cpu,
              command: [
                guestPathOf(testProgram("conformance")),
                "--module",
                guestPathOf(driverModulePath),
                ...run.suite,
              ],
            }),
          );
          report = parseKtap(res.stdout);
          consoleLog = await readFile(consoleFile, "utf8").catch(() => "");
          await rm(dir, { recursive: true, force: true });
          console.log(`conformance, ${run.title}: ${formatCounts(ktapCounts(report))}`);
        });

        it("runs every planned test and exits 0", () => {
          const c = ktapCounts(report);
          const detail = `exit ${res.code} ${res.reason ?? ""}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-4000)}`;
          expect(report.planned, detail).toBeGreaterThan(0);
          expect(c.missing, detail).toBe(0);
          expect(c.skipped, detail).toBe(0);
          expect(res.code, detail).toBe(0);
        });

        it("leaves no kernel BUG, WARNING or oops on the console", () => {
          expect(consoleLog.length, "no console log").toBeGreaterThan(0);
          const bad = consoleLog
            .split("\n")
            .filter((l) => /\b(BUG:|WARNING:|Oops|general protection|Call Trace)/.test(l));
          expect(bad, bad.join("\n")).toEqual([]);
        });

        it.each(groups)("%s", (group) => {
          const mine = report.results.filter((r) => r.name.startsWith(`${group}.`));
          expect(mine.length, `no ${group} results`).toBeGreaterThan(0);
          for (const r of mine)
            expect(r.ok, `not ok ${r.num} ${r.name}\n${r.diagnostics.join("\n")}`).toBe(true);
        });
      });
    }
  },
);
