/**
 * What is left to do in a starter kit: the `STUDENT TODO Zn` lines still in
 * the student's files (`npm start` lists them and names the next task).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readKitManifest } from "./kit.ts";
import { todoWord } from "./markers.ts";
import { labTasks } from "./tasks.ts";

export interface TodoSite {
  task: string;
  path: string;
  /** 1-based. */
  line: number;
  what: string;
}

const todoRe = new RegExp(`(?:/\\*|//)\\s*${todoWord} (Z\\d+): (.*?)\\s*(?:\\*/)?\\s*$`);

/** The TODO sites left in a kit, in task order; undefined outside a kit. */
export async function findTodos(root: string): Promise<TodoSite[] | undefined> {
  const kit = await readKitManifest(root);
  if (!kit) return undefined;
  const out: TodoSite[] = [];
  for (const { path } of kit.marked) {
    const abs = join(root, path);
    if (!existsSync(abs)) continue;
    const lines = (await readFile(abs, "utf8")).split("\n");
    lines.forEach((l, i) => {
      const m = todoRe.exec(l);
      if (m) out.push({ task: m[1]!, path, line: i + 1, what: m[2]! });
    });
  }
  const order = labTasks.map((t) => t.id);
  return out.sort((a, b) => order.indexOf(a.task) - order.indexOf(b.task));
}

/** Lines for the terminal: each task not done, its sites, and what to run first. */
export function formatTodos(todos: TodoSite[], max = 4): string[] {
  const lines: string[] = [];
  for (const t of labTasks) {
    const sites = todos.filter((s) => s.task === t.id);
    if (!sites.length) continue;
    lines.push(`${t.id} (${t.title}) is not done yet: ${sites.length} STUDENT TODO left`);
    for (const s of sites.slice(0, max)) lines.push(`    ${s.path}:${s.line}  ${s.what}`);
    if (sites.length > max) lines.push(`    ... (grep -rn "${todoWord} ${t.id}" .)`);
  }
  const next = labTasks.find((t) => todos.some((s) => s.task === t.id));
  if (next) lines.push(`next: ${next.id} (STUDENT.md says what to write); run: ${next.start}`);
  return lines;
}
