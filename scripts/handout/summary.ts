/**
 * Test results by task: vitest's JSON report (`out/vitest-results.json`,
 * written by `lab test`) grouped with the task map of tasks.ts, so a
 * student sees which task the failures belong to, and `lab submit` packs
 * the summary.
 */
import { readFile, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { labTasks, taskOfTest } from "./tasks.ts";

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** Failures whose message says "not implemented: Zn". */
  notImplemented: number;
}

export interface TaskSummary {
  /** When the results were written. */
  ranAt: string;
  total: Counts;
  /** Per task id, and "other" for the lab's own tests. */
  byTask: Record<string, Counts>;
}

/** The part of vitest's JSON report read here. */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults?: {
    name: string;
    status?: string;
    message?: string;
    assertionResults?: { status: string; failureMessages?: string[] }[];
  }[];
}

export const resultsFile = (root: string) => join(root, "out", "vitest-results.json");

const zero = (): Counts => ({ passed: 0, failed: 0, skipped: 0, notImplemented: 0 });

export function summarize(report: VitestReport, root: string, ranAt: string): TaskSummary {
  const byTask: Record<string, Counts> = {};
  const total = zero();
  for (const file of report.testResults ?? []) {
    const rel = relative(root, file.name).split(sep).join("/");
    const key = taskOfTest(rel)?.id ?? "other";
    const c = (byTask[key] ??= zero());
    const results = file.assertionResults ?? [];
    const bump = (status: string, messages: string[]) => {
      const k = status === "passed" ? "passed" : status === "failed" ? "failed" : "skipped";
      c[k]++;
      total[k]++;
      if (k === "failed" && messages.some((m) => /not implemented: Z\d/.test(m))) {
        c.notImplemented++;
        total.notImplemented++;
      }
    };
    for (const a of results) bump(a.status, a.failureMessages ?? []);
    // A file that failed before any test ran (an import threw) counts once.
    if (!results.length && file.status === "failed") bump("failed", [file.message ?? ""]);
  }
  return { ranAt, total, byTask };
}

/** The summary of the last `lab test` run in `root`, or null when there is none. */
export async function readTestSummary(root: string): Promise<TaskSummary | null> {
  const f = resultsFile(root);
  try {
    const report = JSON.parse(await readFile(f, "utf8")) as VitestReport;
    return summarize(report, root, (await stat(f)).mtime.toISOString());
  } catch {
    return null;
  }
}

/** Lines for the terminal: one per task that has tests in the run. */
export function formatSummary(s: TaskSummary): string[] {
  const lines = ["by task:"];
  const keys = [...labTasks.map((t) => t.id), "other"].filter((k) => s.byTask[k]);
  for (const k of keys) {
    const c = s.byTask[k]!;
    const task = labTasks.find((t) => t.id === k);
    const name = task ? `${k} ${task.title}` : "the lab's own tests";
    const ni = c.notImplemented ? `  (${c.notImplemented} say "not implemented: ${k}")` : "";
    const state = !task || !c.failed ? "" : c.notImplemented ? "  <- not done yet" : "  <- failing";
    lines.push(
      `  ${name.padEnd(44)} ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${ni}${state}`,
    );
  }
  return lines;
}
