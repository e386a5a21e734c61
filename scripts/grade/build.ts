import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { kernelBuildDir, kernelRoot } from "../guest/kernel.ts";
import { kernelDebugBuildDir } from "../guest/kernel-debug.ts";
import { cachePath, patchedQemuPath, repoRoot } from "../lib/paths.ts";
import { readTar } from "./archive.ts";
import { type SandboxResult, type SandboxSpec, runSandboxed } from "./sandbox.ts";

/**
 * Building a student's parts in the sandbox. The submission is mounted
 * read-only at /submission, the build happens in a size-capped tmpfs, and
 * what the grader keeps (the module, the QEMU binary) leaves the sandbox as
 * a tar stream on stdout: the sandbox has no writable host folder at all.
 *
 * - driver: Kbuild against the cached kernel headers (read-only), the
 *   lab's include/ beside the module as in the repository.
 * - device: the reference QEMU build folder is copied into the tmpfs and
 *   ninja rebuilds only what the student's files change: each changed file
 *   is bind-mounted over the reference work tree (read-only), so ninja sees
 *   a newer source and recompiles it, then links (seconds, not the full build).
 */

export interface BuildLimits {
  timeoutS: number;
  tmpBytes: number;
}

export interface BuildOutcome {
  ok: boolean;
  /** One line: why it failed (timeout, compiler errors, no module). */
  reason?: string;
  log: string;
  ms: number;
  /** Files the build handed out, by name. */
  files: Map<string, Buffer>;
  warnings: string[];
}

const baseEnv = { PATH: "/usr/bin:/bin", HOME: "/tmp", LANG: "C.UTF-8", TMPDIR: "/tmp" };

const mib = 1024 * 1024;

function buildSpec(uid: number, submission: string, ro: string[], tmpBytes: number): SandboxSpec {
  return {
    uid,
    ro: [{ src: submission, dest: "/submission" }, ...ro.map((src) => ({ src }))],
    rw: [],
    tmpBytes,
    cwd: "/tmp",
    env: baseEnv,
    limits: {
      cpuS: 600,
      asBytes: 4096 * mib,
      nproc: 256,
      fsizeBytes: 512 * mib,
      nofile: 1024,
    },
  };
}

/** Splits the sandbox's output: the build log (stderr) and the tar of products (stdout). */
async function products(
  r: SandboxResult,
  stdout: Buffer,
  fileCap: number,
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (r.code !== 0 || stdout.length === 0) return out;
  async function* one() {
    yield stdout;
  }
  const entries = await readTar(one(), {
    fileBytes: fileCap,
    totalBytes: fileCap * 2,
    entries: 16,
  });
  for (const e of entries)
    if (e.kind === "file") out.set(e.path.split("/").pop() as string, e.data);
  return out;
}

function failure(r: SandboxResult, what: string, timeoutS: number): string {
  if (r.timedOut) return `${what} did not finish within ${timeoutS} s (killed)`;
  const errs = r.output.split("\n").filter((l) => /\berror\b/i.test(l));
  return `${what} failed (exit ${r.code ?? r.signal})${errs[0] ? `: ${errs[0].trim().slice(0, 200)}` : ""}`;
}

/**
 * What Kbuild reads to build a module for a kernel: the folder for
 * `make -C` and the folders to mount read-only. The debug kernel's O= tree
 * includes its source tree's Makefile by absolute path (wherever it was
 * built): that tree is mounted too.
 */
function kernelTrees(kernel: "default" | "debug"): { make: string; ro: string[] } {
  if (kernel === "default") return { make: kernelBuildDir(), ro: [kernelRoot()] };
  const make = kernelDebugBuildDir();
  const ro = [make];
  try {
    const m = /^include (\/\S+)\/Makefile$/m.exec(readFileSync(join(make, "Makefile"), "utf8"));
    if (m) ro.push(m[1] as string);
  } catch {
    // no debug kernel: make fails in the sandbox, saying so
  }
  return { make, ro };
}

/** Builds guest-driver/module of the submission for `kernel`; hands out its .ko files. */
export async function buildDriver(
  submission: string,
  uid: number,
  limits: BuildLimits,
  kernel: "default" | "debug" = "default",
): Promise<BuildOutcome> {
  const include = join(repoRoot, "include");
  const trees = kernelTrees(kernel);
  const script = [
    "set -e",
    "mkdir -p /tmp/b/guest-driver",
    "cp -r /submission/guest-driver/module /tmp/b/guest-driver/",
    `cp -r ${include} /tmp/b/include`,
    `make -C ${trees.make} M=/tmp/b/guest-driver/module W=1 modules 1>&2`,
    "cd /tmp/b/guest-driver/module",
    "ls *.ko >/dev/null",
    "tar -c --dereference -f - *.ko",
  ].join("\n");
  const spec = buildSpec(uid, submission, [...trees.ro, include], limits.tmpBytes);
  const r = await runSandboxedSplit(spec, ["sh", "-c", script], limits.timeoutS, 64 * mib);
  const files = await products(r.result, r.stdout, 64 * mib).catch(() => new Map());
  const log = r.result.output;
  const warnings = log.split("\n").filter((l) => /\bwarning:/.test(l));
  const ok = r.result.code === 0 && files.size > 0;
  return {
    ok,
    reason: ok
      ? undefined
      : failure(
          r.result,
          kernel === "debug" ? "the driver build for the debug kernel" : "the driver build",
          limits.timeoutS,
        ),
    log,
    ms: r.result.ms,
    files,
    warnings,
  };
}

/** The reference QEMU work tree and build folder (lab build qemu). */
export const qemuSrc = (): string => cachePath("qemu", "src");
export const qemuBuild = (): string => cachePath("qemu", "build");

/**
 * The student's device files that differ from the reference work tree:
 * host-backend/qemu/<path> lands at <path>. New files (which would need
 * build hooks) are reported, not built.
 */
export async function deviceChanges(
  submission: string,
  files: readonly string[],
): Promise<{ changed: string[]; added: string[]; same: string[] }> {
  const changed: string[] = [];
  const added: string[] = [];
  const same: string[] = [];
  for (const f of files) {
    if (!f.startsWith("host-backend/qemu/")) continue;
    const rel = f.slice("host-backend/qemu/".length);
    const ref = join(qemuSrc(), rel);
    if (!existsSync(ref)) added.push(rel);
    else if (!(await readFile(ref)).equals(await readFile(join(submission, f)))) changed.push(rel);
    else same.push(rel);
  }
  return { changed, added, same };
}

/** Rebuilds QEMU with the student's changed device files; hands out the binary. */
export async function buildDevice(
  submission: string,
  changed: readonly string[],
  uid: number,
  limits: BuildLimits,
): Promise<BuildOutcome> {
  if (!existsSync(patchedQemuPath()))
    return {
      ok: false,
      reason: "the reference QEMU is not built (lab build qemu)",
      log: "",
      ms: 0,
      files: new Map(),
      warnings: [],
    };
  // QEMU's build folder names its work tree by absolute path (-I<src>/include):
  // inside the sandbox both sit at their own paths, the build folder as a
  // private tmpfs copy, the work tree read-only with the student's files over it.
  const build = qemuBuild();
  const script = [
    "set -e",
    `cp -a /ref-build ${build}`,
    `ninja -C ${build} qemu-system-x86_64 1>&2`,
    `tar -c -f - -C ${build} qemu-system-x86_64`,
  ].join("\n");
  const spec = buildSpec(uid, submission, [], limits.tmpBytes);
  spec.ro.push({ src: qemuSrc() }, { src: build, dest: "/ref-build" });
  for (const rel of changed)
    spec.ro.push({ src: join(submission, "host-backend/qemu", rel), dest: join(qemuSrc(), rel) });
  // the tmpfs is the build folder's parent: cp -a makes the folder itself (a
  // tmpfs root would keep root's times, which the sandbox's uid cannot set)
  const r = await runSandboxedSplit(spec, ["sh", "-c", script], limits.timeoutS, 512 * mib, [
    dirname(build),
  ]);
  const files = await products(r.result, r.stdout, 512 * mib).catch(() => new Map());
  const log = r.result.output;
  const ok = r.result.code === 0 && files.has("qemu-system-x86_64");
  return {
    ok,
    reason: ok ? undefined : failure(r.result, "the QEMU build", limits.timeoutS),
    log,
    ms: r.result.ms,
    files,
    warnings: log.split("\n").filter((l) => /\bwarning:/.test(l)),
  };
}

/** Runs with stdout kept apart (the products) and stderr as the log. */
async function runSandboxedSplit(
  spec: SandboxSpec,
  command: string[],
  timeoutS: number,
  stdoutCap: number,
  tmpfsDirs: string[] = [],
): Promise<{ result: SandboxResult; stdout: Buffer }> {
  return runSandboxed({ ...spec, tmpfs: tmpfsDirs }, command, {
    timeoutS,
    outputCap: 256 * 1024,
    stdoutCap,
  }).then((result) => ({ result, stdout: result.stdout ?? Buffer.alloc(0) }));
}

/** Writes a product file for the grader's later phases (mode 0755 for binaries). */
export async function saveProduct(path: string, data: Buffer, exec: boolean): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, data, { mode: exec ? 0o755 : 0o644 });
}
