/**
 * A small KTAP (kernel TAP) reader for the guest test programs' output:
 * the plan, each test's result and the diagnostic lines ("# ...") printed
 * before it. Lines from elsewhere (the console, lab's own) are ignored.
 */

export interface KtapResult {
  num: number;
  ok: boolean;
  name: string;
  /** Set for `# SKIP reason`. */
  skip?: string;
  /** The "# ..." lines printed since the previous result. */
  diagnostics: string[];
}

export interface KtapReport {
  version?: string;
  /** N of the `1..N` plan line, if one was seen. */
  planned?: number;
  results: KtapResult[];
  /** Diagnostics after the last result (totals and the like). */
  trailer: string[];
}

export interface KtapCounts {
  planned: number;
  passed: number;
  failed: number;
  skipped: number;
  /** Planned tests that never reported (the program died). */
  missing: number;
}

const resultRe = /^(not ok|ok) (\d+)(?: (.*?))?(?: # (SKIP|skip|TODO)\b ?(.*))?$/;

export function parseKtap(text: string): KtapReport {
  const report: KtapReport = { results: [], trailer: [] };
  let pending: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const v = /^KTAP version (\S+)$/.exec(line);
    if (v) {
      report.version = v[1];
      continue;
    }
    const plan = /^1\.\.(\d+)$/.exec(line);
    if (plan) {
      report.planned = Number(plan[1]);
      continue;
    }
    if (line.startsWith("# ")) {
      pending.push(line.slice(2));
      continue;
    }
    const m = resultRe.exec(line);
    if (!m) continue;
    const r: KtapResult = {
      num: Number(m[2]),
      ok: m[1] === "ok",
      name: m[3] ?? "",
      diagnostics: pending,
    };
    if (m[4]?.toUpperCase() === "SKIP") r.skip = m[5] ?? "";
    report.results.push(r);
    pending = [];
  }
  report.trailer = pending;
  return report;
}

export function ktapCounts(r: KtapReport): KtapCounts {
  const skipped = r.results.filter((x) => x.ok && x.skip !== undefined).length;
  const passed = r.results.filter((x) => x.ok && x.skip === undefined).length;
  const failed = r.results.filter((x) => !x.ok).length;
  const planned = r.planned ?? r.results.length;
  return { planned, passed, failed, skipped, missing: Math.max(0, planned - r.results.length) };
}

export function formatCounts(c: KtapCounts): string {
  const miss = c.missing ? `, ${c.missing} missing` : "";
  return `${c.planned} planned: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${miss}`;
}
