import { lstat, mkdir, readdir, readFile, readlink, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import {
  type Entry,
  type Limits,
  RejectedSubmission,
  archiveKind,
  checkLink,
  defaultLimits,
  readArchive,
} from "./archive.ts";
import type { Part } from "./rubric.ts";

/**
 * Taking a submission in: a folder or an archive, checked entry by entry
 * before anything is written (archive.ts), its project layout found (at the
 * top or inside one folder), and the student parts copied into the
 * submission's own work folder. Nothing else of it is kept, and the
 * reference tree is never written to.
 */

/** Where each part lives in the project layout, and what marks it as present. */
export const partDirs: Record<Part, { dir: string; marker: RegExp; expected: string }> = {
  driver: {
    dir: "guest-driver/module",
    marker: /^guest-driver\/module\/[^/]+\.c$/,
    expected: "guest-driver/module/*.c with its Kbuild or Makefile (the driver)",
  },
  device: {
    dir: "host-backend/qemu",
    marker: /^host-backend\/qemu\/hw\/.+\.c$/,
    expected: "host-backend/qemu/hw/**/*.c (the QEMU device)",
  },
  chat: {
    dir: "ts-app",
    marker: /^ts-app\/src\/.+\.ts$/,
    expected: "ts-app/src/*.ts (the chat)",
  },
};

export interface Intake {
  /** The student's parts found (others fall back to the reference). */
  parts: Part[];
  /** Folder holding the copied parts, in the project layout. */
  root: string;
  /** Files taken, relative to root. */
  files: string[];
  /** Remarks for the report (ignored files, the folder the layout was found in). */
  notes: string[];
}

/** A submission's name from its path: the file name without the archive extension. */
export function submissionName(path: string): string {
  const b = basename(path.replace(/\/+$/, "")).replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
  const safe = b.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "");
  return safe || "submission";
}

/** Entries of a folder, with the same checks as an archive's (no symlink out, sizes). */
export async function readFolder(dir: string, limits: Limits = defaultLimits): Promise<Entry[]> {
  const out: Entry[] = [];
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const abs = join(dir, r);
      const st = await lstat(abs);
      if (out.length >= limits.entries)
        throw new RejectedSubmission(`more than ${limits.entries} entries`);
      if (st.isSymbolicLink()) {
        const target = await readlink(abs);
        checkLink(r, target);
        out.push({ kind: "symlink", path: r, target });
      } else if (st.isDirectory()) {
        if (n === ".git" || n === "node_modules") continue;
        out.push({ kind: "dir", path: r });
        await walk(r);
      } else if (st.isFile()) {
        if (st.size > limits.fileBytes)
          throw new RejectedSubmission(
            `${r} is ${(st.size / 1024 / 1024).toFixed(0)} MiB (limit ${limits.fileBytes / 1024 / 1024} MiB per file)`,
          );
        total += st.size;
        if (total > limits.totalBytes)
          throw new RejectedSubmission(
            `the files add up to more than ${limits.totalBytes / 1024 / 1024} MiB`,
          );
        out.push({ kind: "file", path: r, data: await readFile(abs), mode: st.mode & 0o777 });
      } else throw new RejectedSubmission(`special file in the submission: ${r}`);
    }
  };
  await walk("");
  return out;
}

/** Follows in-tree symlinks to the file they name (links to folders are dropped). */
function resolveLinks(entries: Entry[]): Entry[] {
  const files = new Map(entries.filter((e) => e.kind === "file").map((e) => [e.path, e]));
  return entries.flatMap((e): Entry[] => {
    if (e.kind !== "symlink") return [e];
    const target = join(dirname(e.path), e.target);
    const f = files.get(target);
    return f && f.kind === "file" ? [{ ...f, path: e.path }] : [];
  });
}

/** The prefix under which the project layout sits: "" or one top folder. */
export function findLayout(paths: readonly string[]): { prefix: string; parts: Part[] } {
  const partsAt = (prefix: string): Part[] =>
    (Object.keys(partDirs) as Part[]).filter((p) =>
      paths.some((f) => f.startsWith(prefix) && partDirs[p].marker.test(f.slice(prefix.length))),
    );
  const top = partsAt("");
  if (top.length) return { prefix: "", parts: top };
  const firsts = [...new Set(paths.map((p) => p.split("/")[0] as string))];
  for (const f of firsts) {
    const ps = partsAt(`${f}/`);
    if (ps.length) return { prefix: `${f}/`, parts: ps };
  }
  return { prefix: "", parts: [] };
}

/**
 * Reads `src` (folder or archive), checks it, and writes its parts under
 * `dest` (which must not exist yet or be empty). Throws RejectedSubmission
 * with the reason when the submission cannot be graded.
 */
export async function intake(
  src: string,
  dest: string,
  gradedParts: readonly Part[],
  limits: Limits = defaultLimits,
): Promise<Intake> {
  let st;
  try {
    st = await stat(src);
  } catch {
    throw new RejectedSubmission(`no such file or folder: ${src}`);
  }
  let entries: Entry[];
  if (st.isDirectory()) entries = await readFolder(src, limits);
  else if (archiveKind(src)) entries = await readArchive(src, limits);
  else
    throw new RejectedSubmission(
      `${basename(src)} is neither a folder nor a .tar, .tar.gz or .zip archive`,
    );
  entries = resolveLinks(entries);
  const files = entries.filter((e) => e.kind === "file");
  if (files.length === 0) throw new RejectedSubmission("empty submission: no files");
  const { prefix, parts } = findLayout(files.map((f) => f.path));
  const wanted = parts.filter((p) => gradedParts.includes(p));
  if (wanted.length === 0) {
    const seen = [...new Set(files.map((f) => f.path.split("/").slice(0, 2).join("/")))]
      .slice(0, 8)
      .join(", ");
    throw new RejectedSubmission(
      `wrong layout: expected ${gradedParts.map((p) => partDirs[p].expected).join(" and/or ")}, ` +
        `at the top or inside one folder; found ${seen}`,
    );
  }
  const notes: string[] = [];
  if (prefix) notes.push(`layout found inside ${prefix.slice(0, -1)}/`);
  for (const p of parts)
    if (!gradedParts.includes(p))
      notes.push(`${partDirs[p].dir}/ ignored (the rubric has no ${p} items)`);
  const taken: string[] = [];
  let ignored = 0;
  await mkdir(dest, { recursive: true });
  for (const f of files) {
    const rel = f.path.slice(prefix.length);
    if (!f.path.startsWith(prefix) || !wanted.some((p) => rel.startsWith(`${partDirs[p].dir}/`))) {
      ignored++;
      continue;
    }
    const out = join(dest, rel);
    if (relative(dest, out).startsWith("..")) throw new RejectedSubmission(`bad path ${rel}`);
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, f.data, { mode: 0o644 });
    taken.push(rel);
  }
  if (ignored)
    notes.push(`${ignored} file(s) outside the graded parts ignored (MANIFEST, notes...)`);
  return { parts: wanted, root: dest, files: taken.sort(), notes };
}
