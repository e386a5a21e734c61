import { median } from "../../lib/stats.ts";

/**
 * The numbers of `lab bench device` (pure): samples from the speed
 * programs, their medians per implementation and size, the table and the
 * log-log SVG plot.
 */

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
