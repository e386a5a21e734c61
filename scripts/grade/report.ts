import type { Part } from "./rubric.ts";
import type { ItemScore, Scored, TestOutcome } from "./score.ts";

/**
 * The outputs of one graded submission (pure: data in, text out):
 * Gradescope's results.json, JUnit XML, the human report, and the batch's
 * summary.csv and table.
 */

export type GradeStatus = "graded" | "rejected" | "error";

export interface GradeResult {
  name: string;
  source: string;
  status: GradeStatus;
  /** One line: why rejected, or what went wrong overall. */
  reason?: string;
  parts: Part[];
  scored: Scored;
  /** Seconds, the whole submission. */
  seconds: number;
  /** Per phase: intake, build, boots. */
  phases: { name: string; seconds: number; note?: string }[];
  notes: string[];
  /** First oops/BUG lines seen on a console, if any. */
  oops: string[];
  /** Key of the inputs (submission, rubric, lab version) for --resume. */
  key: string;
}

const outcomeText = (t: TestOutcome) =>
  `${t.id}: ${t.status}${t.output ? `\n${t.output.trimEnd()}` : ""}`;

function itemOutput(s: ItemScore, studentFacing: boolean): string {
  if (!s.graded) return "not submitted: this part ran with the reference and is not scored";
  if (studentFacing && s.item.visibility === "hidden") return "";
  const lines = s.tests.map(outcomeText);
  if (s.blockedBy.length)
    lines.unshift(`counts only when ${s.blockedBy.join(" and ")} earn points, and they did not`);
  if (s.score < s.max && s.item.hint) lines.push(`hint: ${s.item.hint}`);
  return lines.join("\n");
}

/** Gradescope's results.json ("tests" in rubric order). */
export function resultsJson(r: GradeResult): object {
  const head =
    r.status === "graded"
      ? `${r.name}: ${r.scored.score} / ${r.scored.max}`
      : `${r.name}: ${r.status}: ${r.reason ?? ""}`;
  return {
    score: r.scored.score,
    execution_time: Math.round(r.seconds),
    output: [head, ...r.notes].join("\n"),
    visibility: "visible",
    stdout_visibility: "hidden",
    tests: r.scored.items.map((s, i) => ({
      name: `${s.item.id}: ${s.item.title}`,
      number: String(i + 1),
      score: s.score,
      max_score: s.max,
      status: s.score >= s.max ? "passed" : "failed",
      output: itemOutput(s, true),
      visibility: s.item.visibility,
      tags: [s.item.part, ...s.item.tags],
    })),
  };
}

/** XML 1.0 has no place for most control characters: each becomes '?'. */
const xmlSafe = (s: string) =>
  [...s].map((c) => (c < " " && c !== "\t" && c !== "\n" && c !== "\r" ? "?" : c)).join("");

const xml = (s: string) =>
  xmlSafe(s)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");

/** JUnit XML: one testsuite per part, one testcase per rubric item. */
export function junitXml(r: GradeResult): string {
  const byPart = new Map<string, ItemScore[]>();
  for (const s of r.scored.items) byPart.set(s.item.part, [...(byPart.get(s.item.part) ?? []), s]);
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`];
  const failures = r.scored.items.filter((s) => s.graded && s.score < s.max).length;
  out.push(
    `<testsuites name="${xml(r.name)}" tests="${r.scored.items.length}" failures="${failures}" time="${r.seconds.toFixed(1)}">`,
  );
  for (const [part, items] of byPart) {
    const f = items.filter((s) => s.graded && s.score < s.max).length;
    const skipped = items.filter((s) => !s.graded).length;
    out.push(
      `  <testsuite name="${xml(`${r.name}.${part}`)}" tests="${items.length}" failures="${f}" skipped="${skipped}">`,
    );
    for (const s of items) {
      out.push(`    <testcase classname="${xml(`${r.name}.${part}`)}" name="${xml(s.item.id)}">`);
      if (!s.graded) out.push(`      <skipped message="part not submitted"/>`);
      else if (s.score < s.max)
        out.push(
          `      <failure message="${xml(`${s.score}/${s.max}: ${s.item.title}`)}">${xml(itemOutput(s, false))}</failure>`,
        );
      out.push(`      <system-out>${xml(`${s.score}/${s.max}`)}</system-out>`, `    </testcase>`);
    }
    out.push(`  </testsuite>`);
  }
  out.push(`</testsuites>`, "");
  return out.join("\n");
}

/** The short human report: the score, what failed and why, oops lines, hints. */
export function reportMd(r: GradeResult): string {
  const o: string[] = [`# ${r.name}`, ""];
  if (r.status !== "graded") o.push(`**${r.status}**: ${r.reason ?? ""}`, "");
  o.push(`Score: **${r.scored.score} / ${r.scored.max}**`);
  for (const [p, v] of Object.entries(r.scored.byPart)) o.push(`- ${p}: ${v.score} / ${v.max}`);
  o.push(
    "",
    `Parts submitted: ${r.parts.join(", ") || "none"}; graded in ${r.seconds.toFixed(0)} s ` +
      `(${r.phases.map((p) => `${p.name} ${p.seconds.toFixed(1)} s`).join(", ")}).`,
  );
  if (r.notes.length) o.push("", ...r.notes.map((n) => `- ${n}`));
  const lost = r.scored.items.filter((s) => s.graded && s.score < s.max);
  if (lost.length) {
    o.push("", "## Lost", "");
    for (const s of lost) {
      o.push(`### ${s.item.id} (${s.score} / ${s.max}): ${s.item.title}`, "");
      for (const t of s.tests.filter((t) => t.status !== "passed")) {
        o.push(`- \`${t.id}\` ${t.status}`);
        const lines = t.output.trim().split("\n").filter(Boolean).slice(0, 8);
        if (lines.length) o.push("", "  ```", ...lines.map((l) => `  ${l}`), "  ```");
      }
      if (s.item.hint) o.push("", `Hint: ${s.item.hint}`);
      o.push("");
    }
  }
  if (r.oops.length) o.push("## First oops lines", "", "```", ...r.oops.slice(0, 20), "```", "");
  o.push("Logs: build.log (compilers' output), console.log (guest consoles).", "");
  return o.join("\n");
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** summary.csv: student, total, max, one column per part, status, time, reason. */
export function summaryCsv(results: readonly GradeResult[], partNames: readonly Part[]): string {
  const head = ["student", "total", "max", ...partNames, "status", "seconds", "reason"];
  const rows = results.map((r) => [
    r.name,
    String(r.scored.score),
    String(r.scored.max),
    ...partNames.map((p) => {
      const v = r.scored.byPart[p];
      return v ? String(v.score) : "";
    }),
    r.status,
    r.seconds.toFixed(1),
    r.reason ?? "",
  ]);
  return [head, ...rows].map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}

/** The table printed on stdout after a batch. */
export function summaryTable(results: readonly GradeResult[], partNames: readonly Part[]): string {
  const head = ["submission", "score", ...partNames, "status", "time"];
  const rows = results.map((r) => [
    r.name,
    `${r.scored.score}/${r.scored.max}`,
    ...partNames.map((p) => {
      const v = r.scored.byPart[p];
      return v ? `${v.score}/${v.max}` : "-";
    }),
    r.status === "graded" ? "graded" : `${r.status}: ${(r.reason ?? "").slice(0, 60)}`,
    `${r.seconds.toFixed(0)} s`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i] as number))).join("  ");
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n") + "\n";
}
