import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type KtapReport, formatCounts, ktapCounts, parseKtap } from "./ktap.ts";
import {
  type GuestRun,
  guestModule,
  guestTests,
  labBuild,
  labRun,
  vmUnavailable,
} from "./guest.ts";

/**
 * The in-guest conformance suite (guest-driver/tests/conformance.c) through
 * the real device: once on the default CPU and once with `--cpu max`, so
 * SMAP/SMEP turn any direct user-pointer access by the driver into an oops.
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
  { title: "default CPU", opts: [] as string[], suite: [] as string[] },
  { title: "--cpu max (SMAP/SMEP)", opts: ["--cpu", "max"], suite: [] as string[] },
];

const unavailable = vmUnavailable();

describe.skipIf(unavailable !== undefined)(
  `guest conformance suite${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    beforeAll(async () => {
      await labBuild("driver", "conformance");
    });

    for (const run of runs) {
      describe(run.title, () => {
        let res: GuestRun;
        let report: KtapReport;

        let consoleLog = "";

        beforeAll(async () => {
          const dir = await mkdtemp(join(tmpdir(), "vcd-conformance-"));
          const consoleFile = join(dir, "console.log");
          res = await labRun(
            ["--devices", "2", "--timeout", "800", "--console", consoleFile, ...run.opts],
            [`${guestTests}/conformance`, "--module", guestModule, ...run.suite],
          );
          report = parseKtap(res.stdout);
          consoleLog = await readFile(consoleFile, "utf8").catch(() => "");
          await rm(dir, { recursive: true, force: true });
          console.log(`conformance, ${run.title}: ${formatCounts(ktapCounts(report))}`);
        });

        it("runs every planned test and exits 0", () => {
          const c = ktapCounts(report);
          const detail = `exit ${res.exitCode}\n${res.stdout.slice(-4000)}\n${res.stderr.slice(-4000)}`;
          expect(report.planned, detail).toBeGreaterThan(0);
          expect(c.missing, detail).toBe(0);
          expect(c.skipped, detail).toBe(0);
          expect(res.exitCode, detail).toBe(0);
        });

        it("leaves no kernel BUG, WARNING or oops on the console", () => {
          expect(consoleLog.length, "no console log").toBeGreaterThan(0);
          const bad = consoleLog
            .split("\n")
            .filter((l) => /\b(BUG:|WARNING:|Oops|general protection|Call Trace)/.test(l));
          expect(bad, bad.join("\n")).toEqual([]);
        });

        it.each(groups)("%s", (group) => {
          const mine = report.results.filter((r) => r.name.startsWith(`${group}: `));
          expect(mine.length, `no ${group} results`).toBeGreaterThan(0);
          for (const r of mine)
            expect(r.ok, `not ok ${r.num} ${r.name}\n${r.diagnostics.join("\n")}`).toBe(true);
        });
      });
    }
  },
);
