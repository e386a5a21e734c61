import { describe, expect, it } from "vitest";
import { parseSamples, sizeLabel, summarize, svgPlot, table } from "./report.ts";

const guestOut = `lab: noise
{"size":16,"run":0,"ops":100,"seconds":1}
{"size":16,"run":1,"ops":300,"seconds":1}
{"size":16,"run":2,"ops":200,"seconds":1}
{"impl":"guest-node","size":16,"run":0,"ops":50,"seconds":0.5}
{not json
`;

describe("lab bench device: numbers", () => {
  it("reads the speed programs' JSON lines, untagged lines being the device", () => {
    const s = parseSamples(guestOut, "device");
    expect(s.map((x) => x.impl)).toEqual(["device", "device", "device", "guest-node"]);
  });

  it("summarizes medians of MiB/s and ops/s per implementation and size", () => {
    const rows = summarize(parseSamples(guestOut, "device"));
    const dev = rows.find((r) => r.impl === "device");
    expect(dev).toMatchObject({ size: 16, opsps: 200, runs: 3 });
    expect(dev?.mibps).toBeCloseTo((200 * 16) / 2 ** 20);
    expect(rows.find((r) => r.impl === "guest-node")?.opsps).toBe(100);
    expect(table(rows)).toContain("16 B");
  });

  it("reports the device against both in-guest baselines (-cpu max and -cpu qemu64)", () => {
    const rows = summarize([
      { impl: "device", size: 65536, run: 0, ops: 400, seconds: 1 },
      { impl: "guest-node", size: 65536, run: 0, ops: 100, seconds: 1 },
      ...parseSamples(
        '{"impl":"guest-node-qemu64","size":65536,"run":0,"ops":50,"seconds":1}',
        "device",
      ),
    ]);
    const t = table(rows);
    expect(t).toContain("dev/guest(max)");
    expect(t).toContain("dev/guest(qemu64)");
    const line = t.split("\n").find((l) => l.trimStart().startsWith("64 KiB")) ?? "";
    expect(line).toContain("4.00x");
    expect(line).toContain("8.00x");
    expect(svgPlot(rows, "t")).toContain("-cpu qemu64");
  });

  it("labels sizes and draws one line per implementation", () => {
    expect([16, 4096, 65536, 1048576].map(sizeLabel)).toEqual(["16 B", "4 KiB", "64 KiB", "1 MiB"]);
    const svg = svgPlot(
      summarize([
        ...parseSamples(guestOut, "device"),
        { impl: "device", size: 65536, run: 0, ops: 10, seconds: 1 },
        { impl: "host-node", size: 16, run: 0, ops: 1000, seconds: 1 },
        { impl: "host-node", size: 65536, run: 0, ops: 1000, seconds: 1 },
      ]),
      "t",
    );
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
  });
});
