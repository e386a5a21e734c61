import { describe, expect, it } from "vitest";
import { parseTap, runHostUnitTests } from "../../scripts/ctest/harness.ts";

describe("device host C unit tests (decoder/validator, handle table, host engine on a fake /dev/crypto)", () => {
  it("parses TAP summaries and failures", () => {
    const s = parseTap("ok 1 - a\nnot ok 2 - b\n1..2\n1 passed, 1 failed\n");
    expect(s).toEqual({ passed: 1, failed: 1, failures: ["not ok 2 - b"] });
  });

  it("builds with gcc and passes, plain and under ASan/UBSan", async () => {
    const r = await runHostUnitTests();
    if (r.exitCode !== 0 || r.failed > 0) console.error(r.output.slice(-6000));
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
    expect(r.exitCode).toBe(0);
    // two runs (plain and sanitized) of the same suite, each well over 100 checks
    expect(r.passed).toBeGreaterThan(200);
    // two gcc builds (one with ASan/UBSan) and two runs: minutes on a loaded machine
  }, 300_000);
});
