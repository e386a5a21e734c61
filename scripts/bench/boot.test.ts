import { describe, expect, it } from "vitest";
import { UsageError } from "../lib/errors.ts";
import { bootFlavours, parseInitMarks, selectFlavours } from "./boot.ts";

describe("lab bench boot --only", () => {
  it("every flavour without it", () => {
    expect(selectFlavours(undefined)).toBe(bootFlavours);
  });
  it("the named flavours, in the table's order", () => {
    expect(selectFlavours("true-debug-kernel, true").map((f) => f.key)).toEqual([
      "true",
      "true-debug-kernel",
    ]);
  });
  it("an unknown key is a usage error naming the known ones", () => {
    expect(() => selectFlavours("true,debug")).toThrow(UsageError);
    expect(() => selectFlavours("debug")).toThrow(/true-debug-kernel/);
  });
});

describe("parseInitMarks", () => {
  it("the first uptime of each stage, in ms", () => {
    const m = parseInitMarks([
      "[    1.0] lab-init: 1.250 start",
      "lab-init: 2.5 network up",
      "lab-init: 3.0 start",
    ]);
    expect(m.get("start")).toBe(1250);
    expect(m.get("network up")).toBe(2500);
  });
});
