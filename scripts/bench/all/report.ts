import type { BootReport } from "../boot.ts";
import type { BuildTiming } from "../builds.ts";
import type { ChatReport } from "../chat/index.ts";
import { systemLabels } from "../chat/systems.ts";
import type { DeviceReport } from "../device/index.ts";
import { type Impl, sizeLabel, svgPlot } from "../device/report.ts";
import { lineChart, waterfall } from "./svg.ts";

/**
 * `lab bench all`'s report (pure): every figure in one JSON object, the
 * headline figures flattened (the README's table and the smoke test read
 * these), report.md with the tables, and the SVG plots.
 */

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  /** The guest's accelerator (kvm, tcg). */
  accel: string;
  /** 1/5/15-minute load averages when the run started and ended (the machine may be shared). */
  loadStart: number[];
  loadEnd: number[];
}

/** One headline figure. */
export interface Figure {
  key: string;
  what: string;
  value: number;
  unit: string;
  /** The target it is held against, in words. */
  target?: string;
}

export interface AllReport {
  date: string;
  commit: string;
  quick: boolean;
  seconds: number;
  machine: Machine;
  /** The command that produced each part, to reproduce it alone. */
  commands: Record<"boot" | "device" | "chat" | "builds" | "all", string>;
  boot: BootReport;
  device: DeviceReport;
  chat: ChatReport;
  builds: BuildTiming[];
  figures: Figure[];
}

export type ReportParts = Omit<AllReport, "figures">;

/** The figures every report must hold (the smoke test checks each is a finite number). */
export const requiredFigures = [
  "boot.true",
  "boot.node",
  "device.256.ratio-guest",
  "device.65536.ratio-guest",
  "device.65536.ratio-host",
  "chat.host.1",
  "chat.ngircd.1",
  "chat.host-vs-ngircd.1",
  "chat.guest.1",
  "handshake.host.1",
  "handshake.host.8",
  "build.driver",
  "build.app",
] as const;

const bootTarget: Record<string, string> = {
  true: "≤ 1.5 s (TCG)",
  node: "≤ 2.5 s",
};

export function figures(r: ReportParts): Figure[] {
  const f: Figure[] = [];
  for (const row of r.boot.rows)
    f.push({
      key: `boot.${row.key}`,
      what: `warm \`${row.label}\`, median of ${row.ms.length}`,
      value: row.medianMs / 1000,
      unit: "s",
      ...(bootTarget[row.key] ? { target: bootTarget[row.key] } : {}),
    });
  const dev = (impl: Impl, size: number) =>
    r.device.rows.find((x) => x.impl === impl && x.size === size)?.mibps ?? NaN;
  for (const size of r.device.options.sizes) {
    const d = dev("device", size);
    f.push({
      key: `device.${size}`,
      what: `AES-128-CBC ${sizeLabel(size)} through /dev/cryptodev0`,
      value: d,
      unit: "MiB/s",
    });
    f.push({
      key: `device.${size}.ratio-guest`,
      what: `device / in-guest node:crypto at ${sizeLabel(size)}`,
      value: d / dev("guest-node", size),
      unit: "×",
      ...(size === 256 ? { target: "≥ 3×" } : size === 65536 ? { target: "≥ 10×" } : {}),
    });
    f.push({
      key: `device.${size}.ratio-host`,
      what: `device / host node:crypto at ${sizeLabel(size)}`,
      value: d / dev("host-node", size),
      unit: "×",
    });
  }
  const chat = (system: string, clients: number) =>
    r.chat.runs.find((x) => x.system === system && x.clients === clients);
  const labels = new Map<string, string>(Object.entries(systemLabels));
  const clients = [...new Set(r.chat.runs.map((x) => x.clients))].sort((a, b) => a - b);
  for (const n of clients) {
    for (const [key, label] of labels) {
      const run = chat(label, n);
      if (run)
        f.push({
          key: `chat.${key}.${n}`,
          what: `${label}, ${n} client${n > 1 ? "s" : ""}: messages/s`,
          value: run.msgsPerSec,
          unit: "msg/s",
        });
    }
    const host = chat(labels.get("host")!, n);
    const irc = chat(labels.get("ngircd")!, n);
    if (host && irc)
      f.push({
        key: `chat.host-vs-ngircd.${n}`,
        what: `ngircd / chat on the host, ${n} client${n > 1 ? "s" : ""} (msg/s)`,
        value: irc.msgsPerSec / host.msgsPerSec,
        unit: "×",
        ...(n === 1 ? { target: "≤ 2×" } : {}),
      });
    const g = chat(labels.get("guest")!, n);
    const gn = chat(labels.get("guest-node")!, n);
    if (g && gn)
      f.push({
        key: `chat.guest-vs-node.${n}`,
        what: `chat in the guest: device / node:crypto, ${n} client${n > 1 ? "s" : ""} (msg/s)`,
        value: g.msgsPerSec / gn.msgsPerSec,
        unit: "×",
        target: "≥ 1.5×",
      });
  }
  for (const h of r.chat.handshakes) {
    const sys = [...labels].find(([, l]) => l === h.system)?.[0] ?? h.system;
    f.push({
      key: `handshake.${sys}${h.what === "handshake" ? "" : ".login"}.${h.inFlight}`,
      what: `secure v2 ${h.what}, ${h.system}, ${h.inFlight} in flight: connections/s`,
      value: h.perSecond,
      unit: "conn/s",
    });
  }
  for (const b of r.builds)
    f.push({
      key: `build.${b.target}`,
      what: `\`lab build --force ${b.target}\` (that target alone)`,
      value: b.seconds,
      unit: "s",
    });
  return f;
}

/** Required figures that are missing or not a finite number. */
export function missingFigures(fs: readonly Figure[]): string[] {
  return requiredFigures.filter((k) => {
    const x = fs.find((f) => f.key === k);
    return !x || !Number.isFinite(x.value);
  });
}

const fmt = (v: number, unit: string) => {
  if (!Number.isFinite(v)) return "-";
  const digits = unit === "×" || unit === "s" ? 2 : v >= 100 ? 0 : 1;
  if (unit === "×") return `${v.toFixed(digits)}×`;
  return unit ? `${v.toFixed(digits)} ${unit}` : v.toFixed(digits);
};

function mdTable(head: string[], rows: string[][], right: boolean[] = []): string {
  const sep = head.map((_, i) => (right[i] ? "---:" : "---"));
  return [head, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/** The SVG files of the report, by file name. */
export function plots(r: AllReport): Record<string, string> {
  const systems = [...new Set(r.chat.runs.map((x) => x.system))];
  const chatSeries = (y: (x: AllReport["chat"]["runs"][number]) => number) =>
    systems.map((s) => ({
      name: s,
      points: r.chat.runs.filter((x) => x.system === s).map((x) => [x.clients, y(x)]) as [
        number,
        number,
      ][],
    }));
  return {
    "device.svg": svgPlot(
      r.device.rows,
      `AES-128-CBC throughput per request size (guest: ${r.device.accel})`,
    ),
    "chat-msgs.svg": lineChart({
      title: "chat: messages/s vs clients in the channel",
      xLabel: "clients",
      yLabel: "messages/s (log)",
      logX: true,
      logY: true,
      series: chatSeries((x) => x.msgsPerSec),
    }),
    "chat-p99.svg": lineChart({
      title: "chat: p99 delivery latency vs clients",
      xLabel: "clients",
      yLabel: "p99 ms (log)",
      logX: true,
      logY: true,
      series: chatSeries((x) => x.p99ms),
    }),
    "boot.svg": waterfall(
      `one warm \`lab run --devices 0 -- true\` (${r.machine.accel})`,
      r.boot.stages,
    ),
  };
}

/** The headline table, as the README shows it. */
export function figuresTable(r: AllReport): string {
  return mdTable(
    ["figure", "value", "target"],
    r.figures
      .filter(
        (f) =>
          (!/^device\.\d+$/.test(f.key) && !/ratio-host/.test(f.key)) ||
          f.key === "device.65536.ratio-host",
      )
      .map((f) => [f.what, fmt(f.value, f.unit), f.target ?? ""]),
    [false, true, false],
  );
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, node ${m.node}, guest accelerator ${m.accel}; load average ${m.loadStart.map((x) => x.toFixed(1)).join("/")} at the start, ${m.loadEnd.map((x) => x.toFixed(1)).join("/")} at the end`;
}

export function reportMarkdown(r: AllReport): string {
  const out: string[] = [];
  out.push(
    `# lab bench all${r.quick ? " --quick" : ""}`,
    "",
    `${r.date}, commit ${r.commit}, ${Math.round(r.seconds)} s. Machine: ${machineLine(r.machine)}.`,
    "",
    `Reproduce: \`${r.commands.all}\`. Every figure is a median, and every ratio is of two figures measured in this one run.`,
    r.quick
      ? "\n**Quick run** (smoke check): few runs and short measurements; do not quote these figures.\n"
      : "",
    "## Headline figures",
    "",
    figuresTable(r),
    "",
    "## Boot",
    "",
    `\`${r.commands.boot}\` — wall time of whole \`lab run\` processes (${r.boot.runs} runs each, accelerator ${r.boot.accel}).`,
    "",
    mdTable(
      ["command", "median", "min", "max"],
      r.boot.rows.map((x) => [
        `\`${x.label}\``,
        fmt(x.medianMs / 1000, "s"),
        fmt(x.minMs / 1000, "s"),
        fmt(x.maxMs / 1000, "s"),
      ]),
      [false, true, true, true],
    ),
    "",
    "Where one run goes (one traced run; init's stages on the guest clock):",
    "",
    mdTable(
      ["stage", "time"],
      r.boot.stages.map((s) => [s.stage, fmt(s.ms / 1000, "s")]),
      [false, true],
    ),
    "",
    "![boot breakdown](boot.svg)",
    "",
    "## Device",
    "",
    `\`${r.commands.device}\` — AES-128-CBC encryption, one request at a time, median of ${r.device.options.repeat} × ${r.device.options.ms} ms per size (guest: ${r.device.accel}).`,
    "",
    mdTable(
      [
        "size",
        "device MiB/s",
        "guest node:crypto MiB/s",
        "guest node:crypto (qemu64) MiB/s",
        "host node:crypto MiB/s",
        "device / guest",
        "device / host",
      ],
      r.device.options.sizes.map((size) => {
        const m = (impl: Impl) =>
          r.device.rows.find((x) => x.impl === impl && x.size === size)?.mibps ?? NaN;
        return [
          sizeLabel(size),
          fmt(m("device"), ""),
          fmt(m("guest-node"), ""),
          fmt(m("guest-node-qemu64"), ""),
          fmt(m("host-node"), ""),
          fmt(m("device") / m("guest-node"), "×"),
          fmt(m("device") / m("host-node"), "×"),
        ];
      }),
      [false, true, true, true, true, true, true],
    ),
    "",
    "![device throughput](device.svg)",
    "",
    "## Chat",
    "",
    `\`${r.commands.chat}\` — one channel, min(N, 10) senders in a closed loop; a message is complete when acknowledged and received by every other member.`,
    "",
    mdTable(
      ["server", "clients", "msgs", "msg/s", "deliveries/s", "p50 ms", "p99 ms"],
      r.chat.runs.map((x) => [
        x.system,
        String(x.clients),
        String(x.messages),
        x.msgsPerSec.toFixed(0),
        x.deliveriesPerSec.toFixed(0),
        x.p50ms.toFixed(2),
        x.p99ms.toFixed(2),
      ]),
      [false, true, true, true, true, true, true],
    ),
    "",
    "Secure handshakes (v2: X25519 + Ed25519; each connection opened, optionally logged in, closed):",
    "",
    mdTable(
      ["server", "connection", "in flight", "conns", "conns/s", "p50 ms", "p99 ms"],
      r.chat.handshakes.map((h) => [
        h.system,
        h.what,
        String(h.inFlight),
        String(h.connections),
        h.perSecond.toFixed(0),
        h.p50ms.toFixed(2),
        h.p99ms.toFixed(2),
      ]),
      [false, false, true, true, true, true, true],
    ),
    "",
    ...(r.chat.failures.length
      ? ["Not measured:", "", ...r.chat.failures.map((x) => `- ${x}`), ""]
      : []),
    "![chat messages/s](chat-msgs.svg) ![chat p99](chat-p99.svg)",
    "",
    "## Rebuilds",
    "",
    `\`${r.commands.builds}\` — each target forced alone, its dependencies up to date.`,
    "",
    mdTable(
      ["target", "seconds"],
      r.builds.map((b) => [b.target, fmt(b.seconds, "s")]),
      [false, true],
    ),
    "",
  );
  return out.join("\n");
}

/** Replaces the README's figures block (between the markers) with this report's. */
export function readmeWithFigures(readme: string, r: AllReport, reportPath: string): string {
  const begin = "<!-- bench-all:begin -->";
  const end = "<!-- bench-all:end -->";
  const i = readme.indexOf(begin);
  const j = readme.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${begin} ... ${end} block`);
  const block = [
    begin,
    "",
    `From \`${r.commands.all}\` (${r.date}, commit ${r.commit}; ${reportPath}). Machine: ${machineLine(r.machine)}.`,
    "",
    figuresTable(r),
    "",
    end,
  ].join("\n");
  return readme.slice(0, i) + block + readme.slice(j + end.length);
}
