/**
 * The student's starter kit, generated from the reference (`lab handout`):
 * every file of the lab, the marked solution regions of the chosen tasks
 * replaced by their stubs, the QEMU patch regenerated from the stubbed
 * device, STUDENT.md from its template, a `handout.json` that `lab submit`
 * reads, and a fresh git repository with one commit. Reference-only files
 * (the grading rubric and fixtures, the tests of this generator) stay out.
 */
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LabError } from "../lib/errors.ts";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import {
  isKitOnly,
  type MarkedFile,
  parseMarkers,
  solutionLines,
  stubOut,
  todoWord,
} from "./markers.ts";
import { globToRegExp, labTasks, type LabTask, taskIds } from "./tasks.ts";

/** Files that never enter a kit (globs, relative to the repository). */
export const referenceOnly: readonly string[] = [
  // the rubric (hidden items), pitfall fixtures, and the grader's tests that read them
  "grading/**",
  "scripts/grade/fixtures/**",
  "scripts/grade/**/test/**",
  "scripts/grade/**/*.test.ts",
  "scripts/handout/*.test.ts",
  "scripts/handout/*.vm.test.ts",
  "scripts/handout/fixtures/**",
  // regenerated from the kit's own sources
  "host-backend/patches/0001-virtio-cryptodev.patch",
];

/** Extensions scanned for solution markers (in the tasks' folders). */
const markedExtensions = /\.(c|h|cc|ts|mts|mjs|js)$/;

export const kitManifestName = "handout.json";
export const studentDocName = "STUDENT.md";
const templatePath = join(repoRoot, "scripts", "handout", "STUDENT.template.md");

/** What `lab submit` and the per-task summary read from a kit. */
export interface KitManifest {
  lab: string;
  version: string;
  /** The reference commit the kit was made from ("" when unknown). */
  from: string;
  tasks: string[];
  /** Files with stubs: the student's files, with the tasks in each. */
  marked: { path: string; tasks: string[] }[];
  /** Folders where new files of the student belong (packed by `lab submit`). */
  folders: string[];
}

export interface MarkedSource {
  path: string;
  marked: MarkedFile;
}

export interface KitPlan {
  files: string[];
  marked: MarkedSource[];
  tasks: LabTask[];
}

/** The repository's files (tracked and new, not ignored), relative, posix. */
export async function repoFiles(root = repoRoot): Promise<string[]> {
  const r = await sh({ cwd: root })`git ls-files -z --cached --others --exclude-standard`;
  const seen = new Set<string>();
  for (const f of r.stdout.split("\0")) if (f && existsSync(join(root, f))) seen.add(f);
  return [...seen].sort();
}

const isReferenceOnly = (f: string) => referenceOnly.some((g) => globToRegExp(g).test(f));
const inFolders = (f: string, folders: readonly string[]) =>
  folders.some((d) => f === d || f.startsWith(`${d}/`));

/** Every task's folders (where markers may be). */
export const markedFolders = [...new Set(labTasks.flatMap((t) => t.folders))];

/** Parses the markers of every candidate file; MarkerError on a broken one. */
export async function readMarkedSources(
  root = repoRoot,
  files?: string[],
): Promise<MarkedSource[]> {
  const out: MarkedSource[] = [];
  for (const path of files ?? (await repoFiles(root))) {
    if (!inFolders(path, markedFolders) || !markedExtensions.test(path) || isReferenceOnly(path))
      continue;
    const marked = parseMarkers(await readFile(join(root, path), "utf8"), path, taskIds);
    if (marked.blocks.length) out.push({ path, marked });
  }
  return out;
}

export function parseTaskList(list: string | undefined): LabTask[] {
  if (!list) return [...labTasks];
  const out: LabTask[] = [];
  for (const w of list
    .split(",")
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean)) {
    const t = labTasks.find((x) => x.id === w);
    if (!t) throw new LabError(`unknown task '${w}' (the lab's tasks: ${taskIds.join(", ")})`, 2);
    if (!out.includes(t)) out.push(t);
  }
  if (!out.length) throw new LabError("--tasks names no task", 2);
  return out.sort((a, b) => taskIds.indexOf(a.id) - taskIds.indexOf(b.id));
}

export async function planKit(tasks: LabTask[], root = repoRoot): Promise<KitPlan> {
  const files = (await repoFiles(root)).filter((f) => !isReferenceOnly(f));
  const marked = await readMarkedSources(root, files);
  for (const t of tasks)
    if (!marked.some((m) => m.marked.blocks.some((b) => b.task === t.id)))
      throw new LabError(
        `no solution markers for ${t.id} in ${t.folders.join(", ")}`,
        1,
        `is ${root} the reference? a kit has no markers left`,
      );
  return { files, marked, tasks };
}

/** Per task: the functions (regions) asked for, with their solution line counts. */
export function cutSummary(plan: Pick<KitPlan, "marked" | "tasks">): string[] {
  const lines: string[] = [];
  for (const t of plan.tasks) {
    let total = 0;
    lines.push(`${t.id} ${t.title}:`);
    for (const m of plan.marked)
      for (const b of m.marked.blocks.filter((x) => x.task === t.id && !isKitOnly(x))) {
        const n = b.solution.filter((l) => l.trim()).length;
        total += n;
        lines.push(`  ${m.path}:${b.begin + 1}  ${b.what}  (${n} lines)`);
      }
    lines.push(`  total ${total} lines`);
  }
  return lines;
}

async function labVersion(root: string): Promise<{ name: string; version: string }> {
  const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  return { name: pkg.name, version: pkg.version };
}

async function headCommit(root: string): Promise<string> {
  const r = await sh({ cwd: root, nothrow: true })`git rev-parse HEAD`;
  return r.exitCode === 0 ? r.stdout.trim() : "";
}

/** STUDENT.md: the template with the task list, the tests and the cut filled in. */
export async function renderStudentDoc(plan: KitPlan, version: string): Promise<string> {
  const template = await readFile(templatePath, "utf8");
  const taskText = plan.tasks
    .map((t, i) => {
      const todos = plan.marked.flatMap((m) =>
        m.marked.blocks
          .filter((b) => b.task === t.id && !isKitOnly(b))
          .map((b) => `   - \`${m.path}\`: ${b.what}`),
      );
      const tests = t.tests.map((g) => `   - \`${g.glob}\`: ${g.checks}`);
      return [
        `### ${i + 1}. ${t.id}: ${t.title}`,
        "",
        t.goal,
        "",
        `Start with: \`${t.start}\``,
        "",
        "What you write (search for `" + todoWord + " " + t.id + "`):",
        "",
        ...todos,
        "",
        "What checks it:",
        "",
        ...tests,
      ].join("\n");
    })
    .join("\n\n");
  return template
    .replaceAll("{{version}}", version)
    .replaceAll("{{taskIds}}", plan.tasks.map((t) => t.id).join(", "))
    .replaceAll("{{tasks}}", taskText);
}

async function writeKitFile(out: string, rel: string, data: string | Buffer, mode?: number) {
  const dst = join(out, rel);
  await mkdir(dirname(dst), { recursive: true });
  await writeFile(dst, data);
  if (mode !== undefined) await chmod(dst, mode);
}

export interface KitResult {
  out: string;
  manifest: KitManifest;
  cut: string[];
  files: number;
}

export interface KitOptions {
  tasks: LabTask[];
  root?: string;
  /** Regenerates the QEMU patch from the kit's device (the pristine QEMU tree must exist). */
  patch?: (kitRoot: string) => Promise<string>;
}

/** Writes the kit into `out` (absent or empty) and commits it. */
export async function writeKit(out: string, opts: KitOptions): Promise<KitResult> {
  const root = opts.root ?? repoRoot;
  if (existsSync(out) && (await readdir(out)).length)
    throw new LabError(`${out} exists and is not empty`, 2, "give a new folder to --out");
  const plan = await planKit(opts.tasks, root);
  const ids = plan.tasks.map((t) => t.id);
  const byPath = new Map(plan.marked.map((m) => [m.path, m]));
  await mkdir(out, { recursive: true });
  for (const f of plan.files) {
    const src = join(root, f);
    const m = byPath.get(f);
    const st = await stat(src);
    if (m) {
      const text = stubOut(m.marked, ids);
      if (/\b(BEGIN|END) SOLUTION\b/.test(text))
        throw new LabError(`internal: marker text left in ${f} after stubbing`);
      await writeKitFile(out, f, text, st.mode & 0o777);
    } else {
      await mkdir(dirname(join(out, f)), { recursive: true });
      await copyFile(src, join(out, f));
    }
  }
  const { name, version } = await labVersion(root);
  const manifest: KitManifest = {
    lab: name,
    version,
    from: await headCommit(root),
    tasks: ids,
    marked: plan.marked
      .filter((m) => m.marked.blocks.some((b) => ids.includes(b.task)))
      .map((m) => ({
        path: m.path,
        tasks: [...new Set(m.marked.blocks.map((b) => b.task).filter((t) => ids.includes(t)))],
      })),
    folders: [...new Set(plan.tasks.flatMap((t) => t.folders))],
  };
  // formatted as the kit's own `prettier --check` wants it
  const { format } = await import("prettier");
  await writeKitFile(
    out,
    kitManifestName,
    await format(JSON.stringify(manifest), { parser: "json" }),
  );
  await writeKitFile(out, studentDocName, await renderStudentDoc(plan, version));
  if (opts.patch) {
    await writeKitFile(
      out,
      "host-backend/patches/0001-virtio-cryptodev.patch",
      await opts.patch(out),
    );
  }
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: "lab handout",
    GIT_AUTHOR_EMAIL: "handout@lab.invalid",
    GIT_COMMITTER_NAME: "lab handout",
    GIT_COMMITTER_EMAIL: "handout@lab.invalid",
  };
  const git = sh({ cwd: out, env });
  await git`git -c init.defaultBranch=main init -q`;
  await git`git add -A`;
  await git`git -c commit.gpgsign=false commit -q --no-verify -m ${`Starter kit: ${name} ${version} (${ids.join(", ")})`}`;
  return { out, manifest, cut: cutSummary(plan), files: plan.files.length + 2 };
}

/** Solution lines per task over the whole reference (for reports). */
export function solutionTotals(marked: MarkedSource[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const m of marked)
    for (const [t, c] of solutionLines(m.marked)) n.set(t, (n.get(t) ?? 0) + c);
  return n;
}

/** Reads a kit's handout.json; undefined outside a kit (the reference). */
export async function readKitManifest(root = repoRoot): Promise<KitManifest | undefined> {
  try {
    return JSON.parse(await readFile(join(root, kitManifestName), "utf8")) as KitManifest;
  } catch {
    return undefined;
  }
}
