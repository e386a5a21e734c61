/**
 * `lab submit` in a starter kit: one tarball of the student's folders (the
 * tasks' folders: the files that had stubs, the files added or changed
 * since the kit's first commit, and the given files beside them, so each
 * part is complete as the grader builds it, e.g. the whole module folder;
 * git's ignore rules keep build output out) with a MANIFEST.json: every
 * file's kind, size and sha256, the lab version, the kit's origin and the
 * last local test summary. The paths are the repository's, as `lab grade`
 * takes them.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LabError } from "../lib/errors.ts";
import { sh } from "../lib/sh.ts";
import { type KitManifest, readKitManifest } from "./kit.ts";
import { type TaskSummary, readTestSummary } from "./summary.ts";

/** Largest file packed, and largest total: sources are small; a bigger file is build output. */
export const maxFileBytes = 512 * 1024;
export const maxTotalBytes = 4 * 1024 * 1024;
export const submissionManifestName = "MANIFEST.json";

/** marked: had stubs; new/changed: since the kit; given: in a task folder, untouched. */
export type SubmittedKind = "marked" | "new" | "changed" | "given";

export interface SubmittedFile {
  path: string;
  kind: SubmittedKind;
  size: number;
  sha256: string;
}

export interface SubmissionManifest {
  format: 1;
  lab: string;
  version: string;
  /** The reference commit the kit was made from. */
  kitFrom: string;
  tasks: string[];
  created: string;
  files: SubmittedFile[];
  /** The last local `npm test`/`lab test` run, when there was one. */
  tests: TaskSummary | null;
}

async function gitLines(root: string, args: string[]): Promise<string[]> {
  const r = await sh({ cwd: root, nothrow: true })`git ${args}`;
  if (r.exitCode !== 0)
    throw new LabError(
      `git ${args[0]} failed in ${root}: ${r.stderr.trim().split("\n")[0] ?? ""}`,
      1,
      "lab submit needs the kit's git repository (the one `lab handout` made)",
    );
  return r.stdout.split("\0").filter(Boolean);
}

/** The files to pack, with why each is the student's. */
export async function collectSubmission(root: string, kit: KitManifest): Promise<SubmittedFile[]> {
  const first = (await gitLines(root, ["rev-list", "--max-parents=0", "-z", "HEAD"]))[0]?.trim();
  if (!first) throw new LabError("the kit's git repository has no commit");
  const base = first.split("\n")[0]!;
  const inKit = new Set(await gitLines(root, ["ls-tree", "-r", "-z", "--name-only", base]));
  const present = await gitLines(root, [
    "ls-files",
    "-z",
    "--cached",
    "--others",
    "--exclude-standard",
  ]);
  const changed = new Set(await gitLines(root, ["diff", "--name-only", "-z", base, "--", "."]));
  const markedPaths = new Set(kit.marked.map((m) => m.path));
  const inFolders = (f: string) => kit.folders.some((d) => f.startsWith(`${d}/`));

  const out: SubmittedFile[] = [];
  const seen = new Set<string>();
  const add = async (path: string, kind: SubmittedKind) => {
    if (seen.has(path)) return;
    seen.add(path);
    const abs = join(root, path);
    const st = await stat(abs);
    if (!st.isFile()) return;
    if (st.size > maxFileBytes)
      throw new LabError(
        `${path} is ${st.size} bytes, over the ${maxFileBytes}-byte limit for one file`,
        1,
        "a source file is never this big: is it build output? add it to .gitignore or remove it",
      );
    const data = await readFile(abs);
    out.push({
      path,
      kind,
      size: st.size,
      sha256: createHash("sha256").update(data).digest("hex"),
    });
  };
  for (const p of [...markedPaths].sort()) {
    if (!existsSync(join(root, p)))
      throw new LabError(
        `${p} is missing`,
        1,
        "it is one of your files: restore it with `git checkout -- " + p + "`",
      );
    await add(p, "marked");
  }
  for (const p of present.sort()) {
    if (!inFolders(p) || markedPaths.has(p) || !existsSync(join(root, p))) continue;
    await add(p, !inKit.has(p) ? "new" : changed.has(p) ? "changed" : "given");
  }
  const total = out.reduce((n, f) => n + f.size, 0);
  if (total > maxTotalBytes)
    throw new LabError(`the submission is ${total} bytes, over the ${maxTotalBytes}-byte limit`, 1);
  const touched = out.some(
    (f) => f.kind === "new" || f.kind === "changed" || (f.kind === "marked" && changed.has(f.path)),
  );
  if (!touched)
    throw new LabError(
      "nothing to submit: no file differs from the starter kit",
      1,
      `write your code in the STUDENT TODO places (${[...markedPaths].join(", ")}), then run \`npm test\` and \`lab submit\``,
    );
  return out;
}

export interface SubmitResult {
  file: string;
  manifest: SubmissionManifest;
}

/** Writes the tarball of the kit at `root` to `outFile`. */
export async function writeSubmission(root: string, outFile: string): Promise<SubmitResult> {
  const kit = await readKitManifest(root);
  if (!kit)
    throw new LabError(
      "lab submit runs in a starter kit: handout.json is missing here",
      1,
      "this is the reference repository; make a kit with `lab handout --out DIR`",
    );
  const files = await collectSubmission(root, kit);
  const manifest: SubmissionManifest = {
    format: 1,
    lab: kit.lab,
    version: kit.version,
    kitFrom: kit.from,
    tasks: kit.tasks,
    created: new Date().toISOString(),
    files,
    tests: await readTestSummary(root),
  };
  const tmp = await mkdtemp(join(tmpdir(), "lab-submit-"));
  try {
    await writeFile(join(tmp, submissionManifestName), JSON.stringify(manifest, null, 2) + "\n");
    const list = join(tmp, "files");
    await writeFile(list, files.map((f) => f.path).join("\n") + "\n");
    const tarFlags = ["--owner=0", "--group=0", "--numeric-owner", "--format=gnu"];
    await sh()`tar -czf ${outFile} ${tarFlags} -C ${tmp} ${submissionManifestName} -C ${root} --verbatim-files-from -T ${list}`;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { file: outFile, manifest };
}

/** Reads MANIFEST.json out of a submission tarball (for the grader and tests). */
export async function readSubmissionManifest(tarball: string): Promise<SubmissionManifest> {
  const r = await sh()`tar -xzOf ${tarball} ${submissionManifestName}`;
  return JSON.parse(r.stdout) as SubmissionManifest;
}
