import { describe, expect, it } from "vitest";
import { compareDebVersions, newestFirst, parseDebVersion, upstreamOf } from "./version.ts";

describe("Debian versions", () => {
  it("parse into epoch, upstream and revision", () => {
    expect(parseDebVersion("1:7.2+dfsg-7+deb12u18")).toEqual({
      epoch: 1,
      upstream: "7.2+dfsg",
      revision: "7+deb12u18",
    });
    expect(parseDebVersion("6.1.192-3")).toEqual({ epoch: 0, upstream: "6.1.192", revision: "3" });
    expect(parseDebVersion("1.0")).toEqual({ epoch: 0, upstream: "1.0", revision: "" });
    expect(upstreamOf("6.1.192-3")).toBe("6.1.192");
    expect(upstreamOf("1:1.35.0-4+deb12u1+b1")).toBe("1:1.35.0");
  });

  // Each pair: a < b, as `dpkg --compare-versions a lt b` says.
  const ordered: [string, string][] = [
    ["6.1.192-2", "6.1.192-3"],
    ["6.1.176-1", "6.1.192-1"],
    ["6.1.9-1", "6.1.10-1"],
    ["1.0~rc1", "1.0"],
    ["1.0", "1.0+b1"],
    ["1.0-1", "1.0-1+b1"],
    ["1.0a", "1.0b"],
    ["1.0", "1.0a"],
    ["1.0a", "1.0+"],
    ["7.2+dfsg-7+deb12u15", "7.2+dfsg-7+deb12u18"],
    ["9:1.0", "1:2.0"].reverse() as [string, string],
    ["0:1.0", "1:0.1"],
    ["1.001", "1.2"],
  ];
  it.each(ordered)("%s < %s", (a, b) => {
    expect(compareDebVersions(a, b)).toBeLessThan(0);
    expect(compareDebVersions(b, a)).toBeGreaterThan(0);
  });

  it("treats leading zeros and an explicit zero epoch as equal", () => {
    expect(compareDebVersions("1.01", "1.1")).toBe(0);
    expect(compareDebVersions("0:6.1.192-3", "6.1.192-3")).toBe(0);
  });

  it("sorts newest first", () => {
    expect(newestFirst(["6.1.176-1", "6.1.192-3", "6.1.192-2", "6.1.190-1"])).toEqual([
      "6.1.192-3",
      "6.1.192-2",
      "6.1.190-1",
      "6.1.176-1",
    ]);
  });
});
