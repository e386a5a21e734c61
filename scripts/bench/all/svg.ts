/**
 * Small SVG charts for `lab bench all` (pure, no dependencies): a line chart
 * with linear or log axes, and a waterfall of stages. Text is escaped; every
 * number is rounded to 0.1 px.
 */

export interface Series {
  name: string;
  points: [number, number][];
}

const palette = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

export const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const r1 = (x: number) => x.toFixed(1);

function niceLabel(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Tick values of an axis: powers of 10 (log) or 5 even steps (linear). */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  return Array.from({ length: 6 }, (_, i) => lo + ((hi - lo) * i) / 5);
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  logX?: boolean;
  logY?: boolean;
  series: Series[];
  /** Labels of the x ticks (default: the x values of the points). */
  xTick?: (x: number) => string;
}

export function lineChart(c: LineChart): string {
  const W = 760;
  const H = 440;
  const L = 70;
  const R = 250;
  const T = 40;
  const B = 50;
  const ok = (x: number, log?: boolean) => Number.isFinite(x) && (!log || x > 0);
  const series = c.series
    .map((s) => ({
      ...s,
      points: s.points
        .filter(([x, y]) => ok(x, c.logX) && ok(y, c.logY))
        .sort((a, b) => a[0] - b[0]),
    }))
    .filter((s) => s.points.length);
  const xsAll = series.flatMap((s) => s.points.map((p) => p[0]));
  const ysAll = series.flatMap((s) => s.points.map((p) => p[1]));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${(W - R + L) / 2}" y="22" text-anchor="middle" font-size="14">${esc(c.title)}</text>`,
  ];
  if (!xsAll.length) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text>`, "</svg>");
    return parts.join("\n") + "\n";
  }
  const tx = (v: number) => (c.logX ? Math.log10(v) : v);
  const ty = (v: number) => (c.logY ? Math.log10(v) : v);
  let x0 = Math.min(...xsAll.map(tx));
  let x1 = Math.max(...xsAll.map(tx));
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  let y0 = c.logY ? Math.floor(Math.min(...ysAll.map(ty))) : 0;
  let y1 = c.logY ? Math.ceil(Math.max(...ysAll.map(ty))) : Math.max(...ysAll) * 1.1;
  if (y1 <= y0) y1 = y0 + 1;
  if (!c.logY && y1 === 0) [y0, y1] = [0, 1];
  const px = (v: number) => L + ((tx(v) - x0) / (x1 - x0)) * (W - L - R);
  const py = (v: number) => T + (1 - (ty(v) - y0) / (y1 - y0)) * (H - T - B);
  const yTicks = c.logY ? ticks(10 ** y0, 10 ** y1, true) : ticks(0, y1, false);
  for (const v of yTicks)
    parts.push(
      `<line x1="${L}" y1="${r1(py(v))}" x2="${W - R}" y2="${r1(py(v))}" stroke="#ddd"/>`,
      `<text x="${L - 6}" y="${r1(py(v) + 4)}" text-anchor="end">${niceLabel(v)}</text>`,
    );
  for (const v of [...new Set(xsAll)])
    parts.push(
      `<line x1="${r1(px(v))}" y1="${T}" x2="${r1(px(v))}" y2="${H - B}" stroke="#eee"/>`,
      `<text x="${r1(px(v))}" y="${H - B + 16}" text-anchor="middle">${esc(c.xTick ? c.xTick(v) : niceLabel(v))}</text>`,
    );
  parts.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">${esc(c.yLabel)}</text>`,
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>`,
  );
  series.forEach((s, i) => {
    const color = palette[i % palette.length];
    const pts = s.points.map(([x, y]) => `${r1(px(x))},${r1(py(y))}`);
    parts.push(
      `<polyline points="${pts.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`,
      ...s.points.map(
        ([x, y]) => `<circle cx="${r1(px(x))}" cy="${r1(py(y))}" r="3" fill="${color}"/>`,
      ),
      `<line x1="${W - R + 12}" y1="${T + 14 + i * 20}" x2="${W - R + 32}" y2="${T + 14 + i * 20}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - R + 38}" y="${T + 18 + i * 20}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** A waterfall: each stage a bar starting where the previous one ended (ms). */
export function waterfall(title: string, stages: { stage: string; ms: number }[]): string {
  const W = 760;
  const row = 22;
  const L = 300;
  const R = 70;
  const T = 40;
  const H = T + stages.length * row + 40;
  const total = Math.max(
    1,
    stages.reduce((a, s) => a + Math.max(0, s.ms), 0),
  );
  const scale = (W - L - R) / total;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  let at = 0;
  stages.forEach((s, i) => {
    const ms = Math.max(0, s.ms);
    const y = T + i * row;
    parts.push(
      `<text x="${L - 8}" y="${y + 15}" text-anchor="end">${esc(s.stage)}</text>`,
      `<rect x="${r1(L + at * scale)}" y="${y + 3}" width="${r1(Math.max(1, ms * scale))}" height="${row - 6}" fill="${palette[i % palette.length]}"/>`,
      `<text x="${r1(L + (at + ms) * scale + 4)}" y="${y + 15}">${(ms / 1000).toFixed(2)} s</text>`,
    );
    at += ms;
  });
  const axisY = T + stages.length * row + 8;
  parts.push(
    `<line x1="${L}" y1="${axisY}" x2="${W - R}" y2="${axisY}" stroke="#444"/>`,
    `<text x="${L}" y="${axisY + 16}" text-anchor="middle">0</text>`,
    `<text x="${W - R}" y="${axisY + 16}" text-anchor="middle">${(total / 1000).toFixed(2)} s</text>`,
    "</svg>",
  );
  return parts.join("\n") + "\n";
}
