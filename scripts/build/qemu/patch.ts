import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { hashKey } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { repoRoot } from "../../lib/paths.ts";
import { sh } from "../../lib/sh.ts";

/**
 * The one patch against the pristine Debian QEMU tree, generated from the
 * device sources in host-backend/ (see host-backend/README.md, "Layout").
 * `lab export-patch` writes it to the repository and `lab build qemu` applies
 * exactly these bytes, so the two can never disagree.
 */

/** Bump when the generator's output format changes (it is part of cache keys). */
const generatorVersion = "1";

export const patchFile = join(repoRoot, "host-backend", "patches", "0001-virtio-cryptodev.patch");

/** Repository files copied verbatim into the QEMU tree, beside host-backend/qemu/**. */
export const headerMap: readonly { repo: string; tree: string }[] = [
  { repo: "include/virtio_cryptodev.h", tree: "include/standard-headers/linux/virtio_cryptodev.h" },
  { repo: "include/crypto/cryptodev.h", tree: "linux-headers/linux/cryptodev.h" },
];

export interface PatchInputs {
  /** New (or replaced) files: path in the QEMU tree -> absolute path here. */
  files: { tree: string; source: string }[];
  /** Hook diffs (absolute paths), in the order they are applied. */
  hooks: string[];
}

async function walk(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const posix = (p: string) => p.split(sep).join("/");

/**
 * Lists the inputs of the patch, in a stable order. `root` is the
 * repository they are read from (another one: `lab handout`'s kit).
 */
export async function patchInputs(root = repoRoot): Promise<PatchInputs> {
  const newFilesRoot = join(root, "host-backend", "qemu");
  const hooksDir = join(root, "host-backend", "hooks");
  const files = (await walk(newFilesRoot)).map((source) => ({
    tree: posix(relative(newFilesRoot, source)),
    source,
  }));
  for (const h of headerMap) {
    const source = join(root, h.repo);
    if (!existsSync(source)) throw new LabError(`${h.repo} is missing`);
    if (files.some((f) => f.tree === h.tree))
      throw new LabError(`host-backend/qemu/${h.tree} duplicates ${h.repo}; remove the copy`);
    files.push({ tree: h.tree, source });
  }
  files.sort((a, b) => (a.tree < b.tree ? -1 : a.tree > b.tree ? 1 : 0));
  const hooks = existsSync(hooksDir)
    ? (await readdir(hooksDir))
        .filter((n) => n.endsWith(".diff"))
        .sort()
        .map((n) => join(hooksDir, n))
    : [];
  return { files, hooks };
}

/**
 * A key over everything the patch is generated from (paths and bytes) and
 * the pristine tree's version: equal keys mean an identical patch, found
 * without running git.
 */
export async function patchInputsKey(
  inputs: PatchInputs,
  pristineVersion: string,
): Promise<string> {
  const parts: (string | Buffer)[] = [`generator ${generatorVersion}`, pristineVersion];
  for (const f of inputs.files) parts.push(`file ${f.tree}`, await readFile(f.source));
  for (const h of inputs.hooks) parts.push(`hook ${relative(repoRoot, h)}`, await readFile(h));
  return hashKey(parts);
}

/**
 * Paths (in the tree, -p1) a unified or git diff touches, from its file
 * headers. Hunk bodies are skipped by their line counts, so a removed line
 * that starts with "-- " is never taken for a header.
 */
export function pathsInDiff(text: string): string[] {
  const out = new Set<string>();
  const lines = text.split("\n");
  const add = (name: string | undefined) => {
    if (!name || name === "/dev/null") return;
    const p = name.replace(/^[^/]+\//, "");
    if (p) out.add(p);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      let oldLeft = Number(hunk[1] ?? "1");
      let newLeft = Number(hunk[2] ?? "1");
      while ((oldLeft > 0 || newLeft > 0) && i + 1 < lines.length) {
        const body = lines[++i] ?? "";
        if (body.startsWith("\\")) continue; // "\ No newline at end of file"
        if (body.startsWith("-")) oldLeft--;
        else if (body.startsWith("+")) newLeft--;
        else {
          oldLeft--;
          newLeft--;
        }
      }
      continue;
    }
    const from = /^--- (\S+)/.exec(line);
    const to = /^\+\+\+ (\S+)/.exec(lines[i + 1] ?? "");
    if (from && to) {
      add(from[1]);
      add(to[1]);
      i++;
    }
  }
  return [...out].sort();
}

/** Fixed identity and date, and no user or system git config: the same bytes everywhere. */
const gitEnv = (home: string): Record<string, string> => ({
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  HOME: home,
  GIT_AUTHOR_NAME: "cryptodev-lab",
  GIT_AUTHOR_EMAIL: "lab@cryptodev-lab.invalid",
  GIT_AUTHOR_DATE: "2026-11-22T00:00:00+0000",
  GIT_COMMITTER_NAME: "cryptodev-lab",
  GIT_COMMITTER_EMAIL: "lab@cryptodev-lab.invalid",
  GIT_COMMITTER_DATE: "2026-11-22T00:00:00+0000",
  LC_ALL: "C",
  TZ: "UTC",
});

const commitMessage = `hw/virtio: add virtio-cryptodev, a /dev/crypto offload device

A modern virtio PCI device (virtio id 63, PCI 1af4:107f) that executes
cryptodev-linux requests (open, close, CIOCGSESSION, CIOCFSESSION,
CIOCCRYPT, CIOCGSESSINFO) sent by the guest driver over a virtqueue,
with the host's /dev/crypto or QEMU's own crypto layer as the engine.

  -device virtio-cryptodev-pci[,engine=auto|host|builtin]

Generated by \`lab export-patch\` from host-backend/ of the
virtio-cryptodev lab; edit the sources there, not this file.
`;

/**
 * Generates the patch: a throwaway git repository holds the pristine
 * versions of the files the hooks touch, the hooks are applied (strictly,
 * with `git apply`), the new files copied in, and `git format-patch`
 * writes one commit. Deterministic for the same inputs and pristine tree.
 */
export async function generatePatch(pristineDir: string, inputs?: PatchInputs): Promise<string> {
  const inp = inputs ?? (await patchInputs());
  const tmp = await mkdtemp(join(tmpdir(), "lab-qemu-patch-"));
  const repo = join(tmp, "tree");
  const env = gitEnv(tmp);
  const git = (...args: string[]) =>
    sh({ cwd: repo, env })`git -c init.defaultBranch=main -c core.abbrev=12 ${args}`;
  try {
    await mkdir(repo);
    await git("init", "-q");
    const base = new Set<string>();
    for (const h of inp.hooks) for (const p of pathsInDiff(await readFile(h, "utf8"))) base.add(p);
    for (const f of inp.files) if (existsSync(join(pristineDir, f.tree))) base.add(f.tree);
    for (const p of base) {
      const src = join(pristineDir, p);
      if (!existsSync(src))
        throw new LabError(
          `a hook modifies ${p}, which the pristine QEMU tree does not have`,
          1,
          "hooks only edit existing files; put new files under host-backend/qemu/",
        );
      await mkdir(dirname(join(repo, p)), { recursive: true });
      await copyFile(src, join(repo, p));
    }
    await writeFile(join(repo, ".keep-base"), "");
    await git("add", "-A");
    await git("commit", "-q", "--no-verify", "-m", "pristine");
    for (const h of inp.hooks) {
      const r = await sh({ cwd: repo, env, nothrow: true })`git apply --whitespace=nowarn -p1 ${h}`;
      if (r.exitCode !== 0)
        throw new LabError(
          `hook ${relative(repoRoot, h)} does not apply to the pristine QEMU tree`,
          1,
          r.stderr.trim().split("\n").slice(0, 3).join("; "),
        );
    }
    for (const f of inp.files) {
      await mkdir(dirname(join(repo, f.tree)), { recursive: true });
      await writeFile(join(repo, f.tree), await readFile(f.source));
    }
    await git("add", "-A");
    await git("commit", "-q", "--no-verify", "-m", commitMessage);
    const r = await git(
      "format-patch",
      "-1",
      "--stdout",
      "--no-signature",
      "--stat=80",
      "--no-renames",
      "HEAD",
    );
    return r.stdout;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The checked-in patch, or undefined when there is none. */
export async function readCheckedInPatch(file = patchFile): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}
