import { describe, expect, it } from "vitest";
import type { SplatReport } from "../vm/index.ts";
import { bootTests, boots, bootsFor, chargeSplats } from "./boots.ts";
import { conformanceIds } from "./checks.ts";
import { defaultRubricPath, loadRubric } from "./rubric.ts";

/**
 * The grading boots against the rubric (pure): a rubric item that names a
 * conformance test no boot runs would score "not run" for every submission,
 * the reference included; and how the debug kernel's reports are charged.
 */

describe("grading boots", () => {
  it("run every conformance test a rubric item names, for a driver and for a device", async () => {
    const { rubric } = await loadRubric(defaultRubricPath);
    const suite = new Set(conformanceIds());
    for (const item of rubric.items) {
      const got = bootsFor({ driver: item.part === "driver", device: item.part === "device" });
      for (const id of item.tests.filter((t) => suite.has(t)))
        expect(
          got.some((b) => bootTests(b).includes(id)),
          `${item.id}: no grading boot runs ${id}`,
        ).toBe(true);
    }
  });

  it("keep errors.efault the last test of the basic boot (an oops there takes only it)", () => {
    const basic = boots.find((b) => b.name === "basic");
    expect(bootTests(basic!).at(-1)).toBe("errors.efault");
  });

  it("run the timing groups only on the reference device they are calibrated for", () => {
    for (const b of boots.filter((x) => x.only.some((g) => g === "wait" || g === "throughput")))
      expect(b.referenceDevice, b.name).toBe(true);
  });

  it("run a driver's hot-unplug on the debug kernel only, a device's on Debian's", () => {
    const where = (p: { driver: boolean; device: boolean }) =>
      bootsFor(p)
        .filter((b) => bootTests(b).includes("unplug.open_fd"))
        .map((b) => b.name);
    expect(where({ driver: true, device: false })).toEqual(["debug"]);
    expect(where({ driver: true, device: true })).toEqual(["debug"]);
    expect(where({ driver: false, device: true })).toEqual(["lifetime"]);
    const lifetime = bootsFor({ driver: true, device: false }).find((b) => b.name === "lifetime");
    expect(bootTests(lifetime!)).toEqual(["twodev.two_devices", "reload.reload"]);
  });
});

describe("chargeSplats", () => {
  const tests = ["roundtrip.fresh_pages", "unplug.open_fd"];
  const splat = (kind: SplatReport["kind"], test?: string): SplatReport => ({
    kind,
    title: `${kind} report`,
    lines: [`${kind} report`],
    ...(test ? { test } : {}),
    during: test ?? "the command",
  });

  it("charges a report to the test whose marker came last", () => {
    const m = chargeSplats(tests, [splat("kasan", "unplug.open_fd")]);
    expect([...m.keys()]).toEqual(["unplug.open_fd"]);
  });

  it("charges sleeping in atomic context to the atomic-context test, whatever ran", () => {
    const m = chargeSplats(tests, [
      splat("atomic-sleep", "roundtrip.fresh_pages"),
      splat("atomic-sleep", "unplug.open_fd"),
    ]);
    expect([...m.keys()]).toEqual(["roundtrip.fresh_pages"]);
    expect(m.get("roundtrip.fresh_pages")).toHaveLength(2);
  });

  it("charges a report before any marker (the module's load) to every test", () => {
    const m = chargeSplats(tests, [splat("lockdep")]);
    expect([...m.keys()].sort()).toEqual([...tests].sort());
  });

  it("charges nothing when there is no report", () => {
    expect(chargeSplats(tests, []).size).toBe(0);
  });
});
