import { describe, expect, it } from "vitest";
import { systemLabels } from "../chat/systems.ts";
import {
  type ReportParts,
  figures,
  missingFigures,
  plots,
  readmeWithFigures,
  reportMarkdown,
  requiredFigures,
} from "./report.ts";
import { lineChart, waterfall } from "./svg.ts";

const run = (system: string, clients: number, msgsPerSec: number) => ({
  system,
  clients,
  messages: 100,
  seconds: 100 / msgsPerSec,
  msgsPerSec,
  deliveriesPerSec: msgsPerSec * Math.max(1, clients - 1),
  p50ms: 1000 / msgsPerSec,
  p99ms: 3000 / msgsPerSec,
});

const parts: ReportParts = {
  date: "2026-12-01T00:00:00.000Z",
  commit: "abc1234",
  quick: true,
  seconds: 120,
  machine: {
    cpu: "Test CPU <1>",
    cores: 2,
    kernel: "6.1.0",
    node: "v20.20.0",
    accel: "tcg",
    loadStart: [1, 1, 1],
    loadEnd: [2, 2, 2],
  },
  commands: { all: "a", boot: "b", device: "d", chat: "c", builds: "x" },
  boot: {
    accel: "tcg",
    runs: 1,
    rows: [
      {
        key: "true",
        label: "lab run -- true",
        ms: [1400],
        medianMs: 1400,
        minMs: 1400,
        maxMs: 1400,
      },
      {
        key: "node",
        label: "lab run -- node -e 0",
        ms: [2400],
        medianMs: 2400,
        minMs: 2400,
        maxMs: 2400,
      },
    ],
    stages: [
      { stage: "QEMU start", ms: 100 },
      { stage: "kernel: boot to /init", ms: 900 },
      { stage: "init: modules", ms: 400 },
    ],
  },
  device: {
    accel: "TCG",
    options: { sizes: [256, 65536], ms: 100, repeat: 1, accel: "auto" },
    samples: [],
    rows: [
      { impl: "device", size: 256, mibps: 30, opsps: 122880, runs: 1 },
      { impl: "guest-node", size: 256, mibps: 10, opsps: 40960, runs: 1 },
      { impl: "host-node", size: 256, mibps: 300, opsps: 1228800, runs: 1 },
      { impl: "device", size: 65536, mibps: 600, opsps: 9600, runs: 1 },
      { impl: "guest-node", size: 65536, mibps: 40, opsps: 640, runs: 1 },
      { impl: "host-node", size: 65536, mibps: 800, opsps: 12800, runs: 1 },
    ],
  },
  chat: {
    runs: [
      run(systemLabels.host, 1, 2000),
      run(systemLabels.ngircd, 1, 4000),
      run(systemLabels.guest, 1, 100),
      run(systemLabels["guest-node"], 1, 50),
      run(systemLabels.host, 10, 900),
    ],
    handshakes: [1, 8].map((inFlight) => ({
      system: systemLabels.host,
      what: "handshake",
      inFlight,
      connections: 10,
      perSecond: 100 * inFlight,
      p50ms: 2,
      p99ms: 5,
    })),
    failures: [],
    profiles: [],
  },
  builds: [
    { target: "driver", seconds: 3 },
    { target: "app", seconds: 1 },
  ],
};

describe("lab bench all report", () => {
  it("flattens every required figure, with ratios of the same run", () => {
    const fs = figures(parts);
    expect(missingFigures(fs)).toEqual([]);
    const v = (k: string) => fs.find((f) => f.key === k)?.value;
    expect(v("boot.true")).toBe(1.4);
    expect(v("device.256.ratio-guest")).toBe(3);
    expect(v("device.65536.ratio-host")).toBe(0.75);
    expect(v("chat.host-vs-ngircd.1")).toBe(2);
    expect(v("chat.guest-vs-node.1")).toBe(2);
    expect(v("handshake.host.8")).toBe(800);
    expect(v("build.driver")).toBe(3);
    expect(requiredFigures.length).toBeGreaterThan(10);
  });

  it("names what is missing or not a number", () => {
    const noDevice = { ...parts, device: { ...parts.device, rows: [] } };
    const missing = missingFigures(figures(noDevice));
    expect(missing).toContain("device.256.ratio-guest");
    expect(missing).not.toContain("boot.true");
    const noIrc = { ...parts, chat: { ...parts.chat, runs: parts.chat.runs.slice(0, 1) } };
    expect(missingFigures(figures(noIrc))).toEqual([
      "chat.ngircd.1",
      "chat.host-vs-ngircd.1",
      "chat.guest.1",
    ]);
  });

  it("writes the markdown, the four plots and the README block", () => {
    const report = { ...parts, figures: figures(parts) };
    const md = reportMarkdown(report);
    expect(md).toContain("| ngircd / chat on the host, 1 client (msg/s) | 2.00× | ≤ 2× |");
    expect(md).toContain("![device throughput](device.svg)");
    expect(md).toContain("Test CPU <1>, 2 cores");
    const svgs = plots(report);
    expect(Object.keys(svgs).sort()).toEqual([
      "boot.svg",
      "chat-msgs.svg",
      "chat-p99.svg",
      "device.svg",
    ]);
    for (const svg of Object.values(svgs)) {
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
      expect(svg).not.toContain("NaN");
    }
    // Four chat systems: one line each (the host has two points).
    expect(svgs["chat-msgs.svg"]!.match(/<polyline/g)).toHaveLength(4);
    expect(svgs["boot.svg"]).toContain("kernel: boot to /init");
    const readme = "intro\n<!-- bench-all:begin -->\nold\n<!-- bench-all:end -->\nrest\n";
    const next = readmeWithFigures(readme, report, "out/bench/report.md");
    expect(next).toMatch(/^intro\n<!-- bench-all:begin -->\n\nFrom `a`/);
    expect(next).not.toContain("old");
    expect(next.endsWith("<!-- bench-all:end -->\nrest\n")).toBe(true);
    expect(() => readmeWithFigures("no block", report, "x")).toThrow(/bench-all:begin/);
  });

  it("charts escape text and leave out points a log axis cannot show", () => {
    const svg = lineChart({
      title: "a < b & c",
      xLabel: "x",
      yLabel: "y",
      logY: true,
      series: [
        {
          name: "s",
          points: [
            [1, 10],
            [2, 0],
            [3, NaN],
            [4, 1000],
          ],
        },
      ],
    });
    expect(svg).toContain("a &lt; b &amp; c");
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(lineChart({ title: "t", xLabel: "x", yLabel: "y", series: [] })).toContain("no data");
    const w = waterfall("w", [
      { stage: "one", ms: 500 },
      { stage: "two", ms: 1500 },
    ]);
    expect(w).toContain("2.00 s");
    expect(w.match(/<rect /g)).toHaveLength(3);
  });
});
