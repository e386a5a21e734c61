import { beforeAll, describe, expect, it } from "vitest";
import { parseKtap, ktapCounts, formatCounts, type KtapReport } from "../../scripts/lib/ktap.ts";
import { testProgram } from "../../scripts/build/conformance.ts";
import { driverDebugModulePath } from "../../scripts/guest/flavour.ts";
import { guestPathOf } from "../../scripts/lib/paths.ts";
import {
  type RunResult,
  ensureBuilt,
  guestArgs,
  runGuest,
  vmUnavailable,
} from "../../scripts/vm/index.ts";
import { formatSplat } from "../../scripts/vm/splat.ts";

/**
 * The driver conformance suite (guest-driver/tests/conformance.c) on the
 * debug kernel: the driver built against it, two devices, `--cpu max`. It
 * must pass as on the default kernel, with no checker report (lockdep,
 * atomic sleep, KASAN, KFENCE, UBSAN, hung task) on the console. One boot.
 * Its slab-growth checks (lifecycle.*) shrink every slab cache before they
 * read SUnreclaim, which also empties KASAN's quarantine of freed objects.
 */

const unavailable = vmUnavailable();

describe.skipIf(unavailable !== undefined)(
  `conformance suite on the debug kernel${unavailable ? ` (skipped: ${unavailable})` : ""}`,
  () => {
    let res: RunResult;
    let report: KtapReport;

    beforeAll(async () => {
      await ensureBuilt("debug", "conformance");
      const t0 = performance.now();
      res = await runGuest(
        guestArgs({
          kernel: "debug",
          devices: 2,
          timeoutS: 1500,
          cpu: "max",
          command: [
            guestPathOf(testProgram("conformance")),
            "--module",
            guestPathOf(driverDebugModulePath),
          ],
        }),
      );
      report = parseKtap(res.stdout);
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      console.log(`conformance, debug kernel: ${formatCounts(ktapCounts(report))} in ${s} s`);
    });

    it("no kernel checker report on the console", () => {
      const text = res.splats.map((s) => formatSplat(s, s.during)).join("\n\n");
      expect(res.splats.length, text).toBe(0);
    });

    it("runs every planned test, all pass, exit 0", () => {
      const c = ktapCounts(report);
      const failed = report.results
        .filter((r) => !r.ok)
        .map((r) => `not ok ${r.num} ${r.name}\n${r.diagnostics.join("\n")}`);
      const detail = `exit ${res.code} ${res.reason ?? ""}\n${failed.join("\n")}\n${res.stderr.slice(-3000)}`;
      expect(report.planned, detail).toBeGreaterThan(0);
      expect(c.missing, detail).toBe(0);
      expect(c.failed, detail).toBe(0);
      expect(c.skipped, detail).toBe(0);
      expect(res.code, detail).toBe(0);
    });
  },
);
