import { describe, expect, it } from "vitest";
import { runFuzz } from "../../scripts/ctest/harness.ts";

describe("device decoder fuzzing (libFuzzer, ASan/UBSan)", () => {
  it("runs 30 s without a crash, leak or hang", { timeout: 300_000 }, async () => {
    const r = await runFuzz(30);
    if (r.exitCode !== 0 || r.artifacts.length) console.error(r.tail);
    expect(r.artifacts).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.execs).toBeGreaterThan(0);
  });
});
