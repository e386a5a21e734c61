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
import { findSplats, formatSplat } from "../../scripts/vm/splat.ts";

/**
 * The in-guest conformance suite (guest-driver/tests/conformance.c) through
 * the real device: once on a CPU without SMAP/SMEP (`qemu64`), once with
 * `max` (the lab's default), where SMAP/SMEP turn any direct user-pointer
 * access by the driver into an oops, and once on a ring without indirect
 * descriptors (`indirect_desc=off`) with zero copy off (`zc_min=0`): the
 * driver's copy path, descriptor-count limit and hot-unplug without them;
 * and the suite built as a 32-bit program (compat_ioctl).
 * Both runs attach two devices (two at once, then hot-unplug of the second)
 * and reload the module. Each KTAP group is one vitest test.
 */

const groups = [
  "kat",
  "hash",
  "aead",
  "roundtrip",
  "errors",
  "concurrency",
  "lifecycle",
  "twodev",
  "reload",
  "unplug",
] as const;

interface SuiteRun {
  title: string;
  cpu: string;
  smp?: number;
  deviceOpts?: string;
  /** the suite built as a 32-bit program (the driver's compat_ioctl) */
  program?: "conformance" | "conformance32";
  suite: string[];
}

const runs: SuiteRun[] = [
  { title: "--cpu qemu64 (no SMAP/SMEP)", cpu: "qemu64", suite: [] },
  // two vCPUs: requests of one session from two CPUs at once reach the
  // device's thread pool together (the per-session ordering test)
  { title: "--cpu max (SMAP/SMEP), --smp 2", cpu: "max", smp: 2, suite: [] },
  {
    title: "indirect_desc=off, zc_min=0 (copies only)",
    cpu: "max",
    deviceOpts: "indirect_desc=off",
    suite: ["--zc-min", "0"],
  },
  {
    title: "32-bit program (gcc -m32 -static): compat_ioctl",
    cpu: "max",
    program: "conformance32",
    suite: [],
  },
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
              ...(run.smp ? { smp: run.smp } : {}),
              ...(run.deviceOpts ? { deviceOpts: run.deviceOpts } : {}),
              command: [
                guestPathOf(testProgram(run.program ?? "conformance")),
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
          const bad = findSplats(consoleLog).map((s) => formatSplat(s));
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
