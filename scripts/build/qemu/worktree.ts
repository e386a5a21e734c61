import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LabError } from "../../lib/errors.ts";
import { debug, info } from "../../lib/log.ts";
import { cachePath } from "../../lib/paths.ts";
import { sh } from "../../lib/sh.ts";
import { dropBuild, qemuSrcDir } from "./configure.ts";
import { pathsInDiff } from "./patch.ts";

/**
 * The work tree QEMU is built from: a copy of the pristine tree with the
 * patch applied. A new patch replaces the old one by reversing it and
 * applying the new one (`patch -p1`), and files whose bytes did not change
 * get their old modification time back, so ninja recompiles only what the
 * change really touched.
 */

const appliedFile = (): string => cachePath("qemu", "applied.patch");
const srcVersionFile = (): string => cachePath("qemu", "src.version");

async function readOr(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

/** The patch applied to the work tree now, if the tree is known to be in that state. */
export const appliedPatch = (): Promise<string | undefined> => readOr(appliedFile());

async function runPatch(patch: string, reverse: boolean, dryRun: boolean): Promise<string | null> {
  const flags = [...(reverse ? ["-R"] : []), ...(dryRun ? ["--dry-run"] : [])];
  const file = cachePath("qemu", `patch.${process.pid}.tmp`);
  await writeFile(file, patch);
  const r = await sh({ cwd: qemuSrcDir(), nothrow: true })`
    patch -p1 -s -f --no-backup-if-mismatch --reject-file=- ${flags} -i ${file}`;
  await rm(file, { force: true });
  return r.exitCode === 0 ? null : (r.stdout + r.stderr).trim();
}

/** Applies (or reverses) a patch only if it applies cleanly as a whole; else the reason. */
async function applyWhole(patch: string, reverse: boolean): Promise<string | null> {
  const why = await runPatch(patch, reverse, true);
  if (why !== null) return why;
  return runPatch(patch, reverse, false);
}

interface Snapshot {
  sha: string;
  atime: Date;
  mtime: Date;
}

async function snapshot(paths: readonly string[]): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  for (const p of paths) {
    const abs = join(qemuSrcDir(), p);
    if (!existsSync(abs)) continue;
    const st = await stat(abs);
    const sha = createHash("sha256")
      .update(await readFile(abs))
      .digest("hex");
    out.set(p, { sha, atime: st.atime, mtime: st.mtime });
  }
  return out;
}

/** Gives unchanged files their old times back; returns the paths that really changed. */
async function restoreTimes(before: Map<string, Snapshot>, paths: readonly string[]) {
  const changed: string[] = [];
  for (const p of paths) {
    const abs = join(qemuSrcDir(), p);
    const old = before.get(p);
    if (!existsSync(abs)) {
      if (old) changed.push(p);
      continue;
    }
    const sha = createHash("sha256")
      .update(await readFile(abs))
      .digest("hex");
    if (old && old.sha === sha) await utimes(abs, old.atime, old.mtime);
    else changed.push(p);
  }
  return changed;
}

/** A fresh work tree from the pristine one; the old build folder goes with the old tree. */
async function freshTree(pristineDir: string, version: string): Promise<void> {
  await rm(appliedFile(), { force: true });
  await rm(srcVersionFile(), { force: true });
  await dropBuild();
  const tmp = `${qemuSrcDir()}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(dirname(tmp), { recursive: true });
  await sh()`cp -a ${pristineDir} ${tmp}`;
  await rm(qemuSrcDir(), { recursive: true, force: true });
  await rename(tmp, qemuSrcDir());
  await writeFile(srcVersionFile(), `${version}\n`);
}

export interface SyncResult {
  /** The tree was copied afresh (a full build follows). */
  fresh: boolean;
  /** Files (tree paths) whose content changed. */
  changed: string[];
}

/**
 * Brings the work tree to "pristine `version` + `patch`": nothing when that
 * patch is already applied; else reverse the old patch and apply the new
 * one; a fresh copy when the tree is of another version or the old patch
 * does not reverse cleanly (the tree was edited by hand).
 */
export async function syncWorkTree(
  pristineDir: string,
  version: string,
  patch: string,
): Promise<SyncResult> {
  let fresh = false;
  if (!existsSync(qemuSrcDir()) || (await readOr(srcVersionFile()))?.trim() !== version) {
    await freshTree(pristineDir, version);
    fresh = true;
  }
  const old = await appliedPatch();
  if (old === patch) return { fresh, changed: [] };
  const touched = [...new Set([...(old ? pathsInDiff(old) : []), ...pathsInDiff(patch)])].sort();
  const before = await snapshot(touched);
  await rm(appliedFile(), { force: true });
  if (old !== undefined) {
    const why = await applyWhole(old, true);
    if (why !== null) {
      info(`the QEMU work tree was changed outside the lab; starting from a fresh copy`);
      debug(`reverse of the previous patch failed: ${why}`);
      await freshTree(pristineDir, version);
      fresh = true;
    }
  }
  let why = await applyWhole(patch, false);
  if (why !== null && !fresh) {
    // The tree was not in the state we recorded; one more try from scratch.
    await freshTree(pristineDir, version);
    fresh = true;
    why = await applyWhole(patch, false);
  }
  if (why !== null)
    throw new LabError(
      "the virtio-cryptodev patch does not apply to the pristine QEMU tree",
      1,
      why.split("\n").slice(0, 4).join(" / "),
    );
  await writeFile(appliedFile(), patch);
  const changed = fresh ? touched : await restoreTimes(before, touched);
  return { fresh, changed };
}
