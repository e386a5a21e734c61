import { describe, expect, it } from "vitest";
import { ktapCounts, parseKtap } from "../../scripts/lib/ktap.ts";

const sample = `lab: booting
KTAP version 1
1..4
# F.2.1: ok
ok 1 kat: known answers
# kat.c:12: memcmp(...)
# size 16: round trip differs
not ok 2 roundtrip: in place
ok 3 twodev: two devices at once # SKIP no second device (run with --devices 2)
[   12.3] some console line
# totals: pass:1 fail:1 skip:1
`;

describe("parseKtap", () => {
  it("reads the version, the plan, results, skips and diagnostics", () => {
    const r = parseKtap(sample);
    expect(r.version).toBe("1");
    expect(r.planned).toBe(4);
    expect(r.results.map((x) => [x.num, x.ok, x.name])).toEqual([
      [1, true, "kat: known answers"],
      [2, false, "roundtrip: in place"],
      [3, true, "twodev: two devices at once"],
    ]);
    expect(r.results[0]?.diagnostics).toEqual(["F.2.1: ok"]);
    expect(r.results[1]?.diagnostics).toHaveLength(2);
    expect(r.results[2]?.skip).toBe("no second device (run with --devices 2)");
    expect(r.trailer).toEqual(["totals: pass:1 fail:1 skip:1"]);
  });

  it("counts passes, failures, skips and results that never came", () => {
    expect(ktapCounts(parseKtap(sample))).toEqual({
      planned: 4,
      passed: 1,
      failed: 1,
      skipped: 1,
      missing: 1,
    });
  });

  it("treats output without a plan as planning what it reported", () => {
    const c = ktapCounts(parseKtap("ok 1 a\nnot ok 2 b\n"));
    expect(c).toMatchObject({ planned: 2, passed: 1, failed: 1, missing: 0 });
  });
});
