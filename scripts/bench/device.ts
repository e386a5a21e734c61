import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { guestTests, labRun, vmUnavailable } from "../../guest-driver/tests/guest.ts";
import { buildTargets } from "../lib/build-runner.ts";
import { LabError, UsageError } from "../lib/errors.ts";
import { info, step } from "../lib/log.ts";
import { guestRepoPath, repoRoot } from "../lib/paths.ts";

/**
 * `lab bench device`: AES-128-CBC encryption, one request at a time, per
 * request size, four ways: through /dev/cryptodev0 in the guest (the speed
 * program); with node:crypto in the same guest boot (the lab's default
 * `-cpu max`, whose AES-NI instructions TCG emulates); with node:crypto in a
 * second boot under `-cpu qemu64` (no AES-NI, no SSSE3: OpenSSL's table
 * AES, the brief's software reference); and with node:crypto on the host
 * (the physical limit the device's host-native engine can approach). Each
 * size runs for a fixed time, repeated; medians are reported as a table, a
 * JSON file and an SVG plot.
 */

const usage = `usage: lab bench device [--sizes 16,256,4096,65536,1048576] [--ms 1000]
                        [--repeat 3] [--out out/bench-device.svg] [--accel auto|kvm|tcg]

Prints MiB/s and ops/s (medians of --repeat runs of --ms each) for
/dev/cryptodev0 in the guest, node:crypto in the guest under the default
-cpu max (TCG emulates its AES-NI) and, in a second boot, under -cpu qemu64
(software AES), node:crypto on the host, and the device's ratios to each at
64 KiB. Writes the plot to --out and the numbers beside it (.json).`;

export type Impl = "device" | "guest-node" | "guest-node-qemu64" | "host-node";
export const impls: readonly Impl[] = ["device", "guest-node", "guest-node-qemu64", "host-node"];

/** The guest CPU model of the second boot: no AES-NI, so node:crypto runs software AES. */
export const softCpu = "qemu64";

const implLabel: Record<Impl, string> = {
  device: "/dev/cryptodev0 (guest)",
  "guest-node": "node:crypto (guest, -cpu max)",
  "guest-node-qemu64": `node:crypto (guest, -cpu ${softCpu})`,
  "host-node": "node:crypto (host)",
};

/** Table column names of the in-guest baselines (the ratio columns say which). */
const ratioName: Partial<Record<Impl, string>> = {
  "guest-node": "dev/guest(max)",
  "guest-node-qemu64": `dev/guest(${softCpu})`,
  "host-node": "dev/host",
};

export interface Sample {
  impl: Impl;
  size: number;
  run: number;
  ops: number;
  seconds: number;
}

export interface Row {
  impl: Impl;
  size: number;
  /** medians over the runs */
  mibps: number;
  opsps: number;
  runs: number;
}

interface Options {
  sizes: number[];
  ms: number;
  repeat: number;
  out: string;
  accel: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    sizes: [16, 256, 4096, 65536, 1048576],
    ms: 1000,
    repeat: 3,
    out: join(repoRoot, "out", "bench-device.svg"),
    accel: "auto",
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) throw new UsageError(`lab bench device: ${a} needs a value`);
    i++;
    if (a === "--sizes") o.sizes = v.split(",").map((s) => Number(s));
    else if (a === "--ms") o.ms = Number(v);
    else if (a === "--repeat") o.repeat = Number(v);
    else if (a === "--out") o.out = resolve(v);
    else if (a === "--accel") o.accel = v;
    else throw new UsageError(`lab bench device: unknown option ${a}`);
  }
  if (o.sizes.some((s) => !Number.isInteger(s) || s <= 0 || s % 16))
    throw new UsageError("--sizes: positive multiples of 16");
  if (!(o.ms > 0) || !(o.repeat >= 1)) throw new UsageError("--ms and --repeat must be positive");
  return o;
}

/** JSON lines from the speed programs; anything else is ignored. */
export function parseSamples(text: string, defaultImpl: Impl): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const j = JSON.parse(line) as Partial<Sample>;
      if (typeof j.size !== "number" || typeof j.ops !== "number" || typeof j.seconds !== "number")
        continue;
      out.push({
        impl: j.impl && impls.includes(j.impl) ? j.impl : defaultImpl,
        size: j.size,
        run: j.run ?? 0,
        ops: j.ops,
        seconds: j.seconds,
      });
    } catch {
      // a console line that happened to start with "{"
    }
  }
  return out;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function summarize(samples: readonly Sample[]): Row[] {
  const rows: Row[] = [];
  for (const impl of impls) {
    const sizes = [...new Set(samples.filter((s) => s.impl === impl).map((s) => s.size))];
    for (const size of sizes.sort((a, b) => a - b)) {
      const mine = samples.filter((s) => s.impl === impl && s.size === size && s.seconds > 0);
      rows.push({
        impl,
        size,
        mibps: median(mine.map((s) => (s.ops * size) / s.seconds / 2 ** 20)),
        opsps: median(mine.map((s) => s.ops / s.seconds)),
        runs: mine.length,
      });
    }
  }
  return rows;
}

export function sizeLabel(n: number): string {
  if (n >= 2 ** 20 && n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function fmt(x: number | undefined, digits = 1): string {
  return x === undefined || Number.isNaN(x) ? "-" : x.toFixed(digits);
}

export function table(rows: readonly Row[]): string {
  const sizes = [...new Set(rows.map((r) => r.size))].sort((a, b) => a - b);
  const get = (impl: Impl, size: number) => rows.find((r) => r.impl === impl && r.size === size);
  const bases = impls.filter((i) => i !== "device");
  const head = [
    "size",
    ...impls.flatMap((i) => [`${i} MiB/s`, `${i} ops/s`]),
    ...bases.map((i) => ratioName[i] ?? `dev/${i}`),
  ];
  const lines = [head];
  for (const size of sizes) {
    const d = get("device", size);
    lines.push([
      sizeLabel(size),
      ...impls.map((i) => get(i, size)).flatMap((r) => [fmt(r?.mibps), fmt(r?.opsps, 0)]),
      ...bases.map((i) => {
        const b = get(i, size);
        return d && b ? `${fmt(d.mibps / b.mibps, 2)}x` : "-";
      }),
    ]);
  }
  const widths = head.map((_, c) => Math.max(...lines.map((l) => (l[c] ?? "").length)));
  return lines.map((l) => l.map((cell, c) => cell.padStart(widths[c] ?? 0)).join("  ")).join("\n");
}

const colors: Record<Impl, string> = {
  device: "#d62728",
  "guest-node": "#1f77b4",
  "guest-node-qemu64": "#9467bd",
  "host-node": "#2ca02c",
};

/** A log-log plot of MiB/s per request size, one line per implementation. */
export function svgPlot(rows: readonly Row[], title: string): string {
  const W = 720;
  const H = 440;
  const L = 70;
  const R = 200;
  const T = 40;
  const B = 50;
  const good = rows.filter((r) => r.mibps > 0 && Number.isFinite(r.mibps));
  const sizes = [...new Set(good.map((r) => r.size))].sort((a, b) => a - b);
  const xs = sizes.map(Math.log2);
  const ys = good.map((r) => Math.log10(r.mibps));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.floor(Math.min(...ys, 0));
  const y1 = Math.ceil(Math.max(...ys, y0 + 1));
  const px = (size: number) => L + ((Math.log2(size) - x0) / (x1 - x0)) * (W - L - R);
  const py = (mibps: number) => T + (1 - (Math.log10(mibps) - y0) / (y1 - y0)) * (H - T - B);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let e = y0; e <= y1; e++) {
    const y = T + (1 - (e - y0) / (y1 - y0)) * (H - T - B);
    parts.push(
      `<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${y + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`,
    );
  }
  for (const s of sizes)
    parts.push(
      `<line x1="${px(s)}" y1="${T}" x2="${px(s)}" y2="${H - B}" stroke="#eee"/>`,
      `<text x="${px(s)}" y="${H - B + 16}" text-anchor="middle">${sizeLabel(s)}</text>`,
    );
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">request size</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">MiB/s (log)</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>`,
  );
  impls.forEach((impl, i) => {
    const pts = good.filter((r) => r.impl === impl).sort((a, b) => a.size - b.size);
    if (pts.length === 0) return;
    const d = pts.map((r) => `${px(r.size).toFixed(1)},${py(r.mibps).toFixed(1)}`).join(" ");
    parts.push(
      `<polyline points="${d}" fill="none" stroke="${colors[impl]}" stroke-width="2"/>`,
      ...pts.map(
        (r) =>
          `<circle cx="${px(r.size).toFixed(1)}" cy="${py(r.mibps).toFixed(1)}" r="3" fill="${colors[impl]}"/>`,
      ),
      `<line x1="${W - R + 12}" y1="${T + 14 + i * 20}" x2="${W - R + 32}" y2="${T + 14 + i * 20}" stroke="${colors[impl]}" stroke-width="2"/>`,
      `<text x="${W - R + 38}" y="${T + 18 + i * 20}">${esc(implLabel[impl])}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

const nodeSpeed = join("guest-driver", "tests", "node-speed.mjs");

export async function run(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage + "\n");
    return 0;
  }
  const o = parseArgs(argv);
  await buildTargets(["qemu", "initramfs", "noderoot", "driver", "conformance"], { force: false });
  const why = vmUnavailable();
  if (why) throw new LabError(why);
  const sizes = o.sizes.join(",");
  const rep = String(o.repeat);
  const ms = String(o.ms);
  // One boot: the device first, then software AES in the same guest.
  const guestCmd =
    `if dmesg | grep -q "Hypervisor detected: KVM"; then echo ACCEL=KVM; else echo ACCEL=TCG; fi; ` +
    `${guestTests}/speed --repeat ${rep} --ms ${ms} --sizes ${sizes} && ` +
    `node ${guestRepoPath}/${nodeSpeed} guest-node ${rep} ${ms} ${sizes}`;
  const budget = Math.ceil((2 * o.repeat * o.sizes.length * o.ms) / 1000) + 300;
  const failed = (what: string, r: { exitCode: number; stderr: string }) =>
    new LabError(
      `the ${what} benchmark failed (exit ${r.exitCode}):\n${r.stderr.trim().split("\n").slice(-15).join("\n")}`,
    );
  const guest = await step("guest: /dev/cryptodev0 and node:crypto (-cpu max)", () =>
    labRun(
      ["--devices", "1", "--accel", o.accel, "--timeout", String(budget)],
      ["sh", "-c", guestCmd],
    ),
  );
  if (guest.exitCode !== 0) throw failed("guest", guest);
  // A second boot without AES-NI: node:crypto's software AES, the reference
  // the device is meant to beat by 10x (under -cpu max, TCG emulates AES-NI
  // and node:crypto is faster than real software AES would be).
  const soft = await step(`guest: node:crypto (-cpu ${softCpu})`, () =>
    labRun(
      [
        "--devices",
        "0",
        "--cpu",
        softCpu,
        "--accel",
        o.accel,
        "--timeout",
        String(Math.ceil(budget / 2) + 150),
      ],
      [
        "sh",
        "-c",
        `node ${guestRepoPath}/${nodeSpeed} guest-node-${softCpu} ${rep} ${ms} ${sizes}`,
      ],
    ),
  );
  if (soft.exitCode !== 0) throw failed(`-cpu ${softCpu} guest`, soft);
  const host = await step("host: node:crypto", () =>
    execa(process.execPath, [join(repoRoot, nodeSpeed), "host-node", rep, ms, sizes]),
  );
  const samples = [
    ...parseSamples(guest.stdout, "device"),
    ...parseSamples(soft.stdout, "guest-node-qemu64"),
    ...parseSamples(host.stdout, "host-node"),
  ];
  const rows = summarize(samples);
  const accel = /^ACCEL=(\w+)$/m.exec(guest.stdout)?.[1] ?? o.accel;

  process.stdout.write(
    `AES-128-CBC encrypt, one request at a time, median of ${o.repeat} x ${o.ms} ms (guest accel: ${accel})\n`,
  );
  process.stdout.write(table(rows) + "\n");
  const at = (impl: Impl) => rows.find((r) => r.impl === impl && r.size === 65536)?.mibps;
  const d = at("device");
  const g = at("guest-node");
  const q = at("guest-node-qemu64");
  const h = at("host-node");
  const ratio = (b: number | undefined, digits: number) => (d && b ? (d / b).toFixed(digits) : "-");
  if (d)
    process.stdout.write(
      `64 KiB (target >= 10x in-guest node:crypto under TCG): ` +
        `device/in-guest node:crypto -cpu max (AES-NI emulated) = ${ratio(g, 1)}x, ` +
        `device/in-guest node:crypto -cpu ${softCpu} (software AES) = ${ratio(q, 1)}x, ` +
        `device/host-native = ${ratio(h, 2)}x\n`,
    );

  await mkdir(dirname(o.out), { recursive: true });
  await writeFile(
    o.out,
    svgPlot(rows, `AES-128-CBC throughput per request size (guest: ${accel})`),
  );
  const jsonOut = o.out.replace(/\.svg$/, "") + ".json";
  await writeFile(jsonOut, JSON.stringify({ accel, options: o, rows, samples }, null, 2) + "\n");
  info(`plot: ${o.out}, numbers: ${jsonOut}`);
  return 0;
}
