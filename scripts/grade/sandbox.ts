import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { LabError } from "../lib/errors.ts";

/**
 * Running untrusted student code: bubblewrap (Debian's `bubblewrap`) as an
 * unprivileged uid, in new user, mount, PID, network, IPC and UTS
 * namespaces, with no capabilities, a clean environment, the system's
 * /usr read-only, the inputs read-only, one writable scratch folder and a
 * size-capped /tmp, and rlimits (CPU seconds, address space, processes,
 * file size, open files) set by `prlimit` before bwrap starts. A process
 * tree left behind dies with the sandbox (--die-with-parent, PID namespace).
 */

export interface Bind {
  src: string;
  /** Path inside the sandbox (default: the same path). */
  dest?: string;
}

export interface SandboxLimits {
  cpuS: number;
  asBytes: number;
  nproc: number;
  fsizeBytes: number;
  nofile: number;
}

export interface SandboxSpec {
  /** Host uid and gid the code runs as (unprivileged, one per concurrent slot). */
  uid: number;
  ro: Bind[];
  rw: Bind[];
  /** Size of the private /tmp (tmpfs), and of each folder in `tmpfs`. */
  tmpBytes: number;
  /** More private writable folders (tmpfs, each capped at tmpBytes). */
  tmpfs?: string[];
  cwd: string;
  env: Record<string, string>;
  limits: SandboxLimits;
  /** /dev/kvm inside (QEMU with KVM). */
  kvm?: boolean;
}

export const bwrapPath = "/usr/bin/bwrap";

/**
 * The unprivileged uid of a concurrency slot (0..63) of this grader
 * process: 100000 + 64 x (pid mod 50000) + slot, so two graders on one host
 * (two `lab grade` runs, Slurm jobs) never share a uid, and a fork bomb in
 * one sandbox cannot eat another's process limit (RLIMIT_NPROC is per uid).
 */
export function sandboxUid(slot: number, pid = process.pid): number {
  return 100_000 + 64 * (pid % 50_000) + (slot % 64);
}

/** Why sandboxed runs cannot work here, or undefined. */
export function sandboxUnavailable(): string | undefined {
  if (!existsSync(bwrapPath)) return "bubblewrap is not installed (Debian package bubblewrap)";
  if (!existsSync("/usr/bin/setpriv") || !existsSync("/usr/bin/prlimit"))
    return "setpriv/prlimit (util-linux) missing";
  return undefined;
}

/**
 * The command line that runs `command` in the sandbox (pure; unit tested).
 * As root (a grading host): bwrap makes the namespaces and mounts with
 * root's rights (so inputs under a private home can be bound), then setpriv
 * drops to `uid` with no capabilities, an empty bounding set and
 * no_new_privs before the command starts. As any other user: bwrap alone,
 * in a new user namespace, as that user.
 */
export function sandboxArgv(
  spec: SandboxSpec,
  command: readonly string[],
  asRoot = process.getuid?.() === 0,
): string[] {
  const l = spec.limits;
  const a: string[] = [
    "prlimit",
    `--cpu=${l.cpuS}`,
    `--as=${l.asBytes}`,
    `--nproc=${l.nproc}`,
    `--fsize=${l.fsizeBytes}`,
    `--nofile=${l.nofile}`,
    "--core=0",
    "--",
    bwrapPath,
  ];
  if (asRoot)
    a.push(
      "--unshare-pid",
      "--unshare-net",
      "--unshare-ipc",
      "--unshare-uts",
      "--unshare-cgroup-try",
    );
  else a.push("--unshare-all", "--cap-drop", "ALL");
  a.push("--die-with-parent", "--new-session", "--clearenv");
  for (const [k, v] of Object.entries(spec.env)) a.push("--setenv", k, v);
  a.push("--ro-bind", "/usr", "/usr");
  for (const d of ["bin", "sbin", "lib", "lib64"]) a.push("--symlink", `usr/${d}`, `/${d}`);
  a.push("--perms", "0755", "--dir", "/etc");
  a.push("--ro-bind", "/etc/alternatives", "/etc/alternatives");
  a.push("--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache");
  a.push("--proc", "/proc", "--dev", "/dev");
  if (spec.kvm && existsSync("/dev/kvm")) a.push("--dev-bind", "/dev/kvm", "/dev/kvm");
  a.push("--perms", "1777", "--size", String(spec.tmpBytes), "--tmpfs", "/tmp");
  // Mount points' parents: bwrap would make them 0700 (root's), closed to `uid`.
  const parents = new Set<string>();
  for (const d of [...spec.ro, ...spec.rw].map((b) => b.dest ?? b.src).concat(spec.tmpfs ?? []))
    for (let p = dirname(d); !["/", "/usr", "/tmp", "/proc", "/dev"].includes(p); p = dirname(p))
      parents.add(p);
  for (const p of [...parents].sort((x, y) => x.split("/").length - y.split("/").length))
    a.push("--perms", "0755", "--dir", p);
  for (const d of spec.tmpfs ?? [])
    a.push("--perms", "1777", "--size", String(spec.tmpBytes), "--tmpfs", d);
  for (const b of spec.ro) a.push("--ro-bind", b.src, b.dest ?? b.src);
  for (const b of spec.rw) a.push("--bind", b.src, b.dest ?? b.src);
  a.push("--chdir", spec.cwd, "--");
  if (asRoot)
    a.push(
      "setpriv",
      `--reuid=${spec.uid}`,
      `--regid=${spec.uid}`,
      "--clear-groups",
      "--bounding-set=-all",
      "--inh-caps=-all",
      "--no-new-privs",
      "--",
    );
  a.push(...command);
  return a;
}

/** Creates `dir` owned by the sandbox uid (it is the sandbox's only writable place). */
export async function scratchDir(dir: string, uid: number): Promise<string> {
  await mkdir(dir, { recursive: true });
  if (process.getuid?.() === 0) await chown(dir, uid, uid);
  return dir;
}

export interface SandboxResult {
  code: number | null;
  signal: string | null;
  timedOut: boolean;
  /** stdout and stderr interleaved, capped (with a note of what was dropped). */
  output: string;
  /** With `stdoutCap`: stdout alone (then `output` is stderr only); undefined if over the cap. */
  stdout?: Buffer;
  ms: number;
}

/**
 * Runs `command` in the sandbox with a wall-clock limit (the whole process
 * tree is killed at the deadline) and its output capped at `outputCap`.
 */
export async function runSandboxed(
  spec: SandboxSpec,
  command: readonly string[],
  o: { timeoutS: number; outputCap: number; stdoutCap?: number },
): Promise<SandboxResult> {
  const why = sandboxUnavailable();
  if (why) throw new LabError(`cannot sandbox student code: ${why}`);
  const argv = sandboxArgv(spec, command);
  const t0 = performance.now();
  const child = spawn(argv[0] as string, argv.slice(1), {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const chunks: Buffer[] = [];
  let size = 0;
  let dropped = 0;
  const keep = (d: Buffer) => {
    if (size < o.outputCap) {
      const part = d.subarray(0, o.outputCap - size);
      chunks.push(part);
      size += part.length;
      dropped += d.length - part.length;
    } else dropped += d.length;
  };
  const outChunks: Buffer[] = [];
  let outSize = 0;
  if (o.stdoutCap === undefined) child.stdout.on("data", keep);
  else
    child.stdout.on("data", (d: Buffer) => {
      outSize += d.length;
      if (outSize <= (o.stdoutCap as number)) outChunks.push(d);
    });
  child.stderr.on("data", keep);
  let timedOut = false;
  const killTree = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killTree();
  }, o.timeoutS * 1000);
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>(
    (res) => {
      child.once("close", (c, s) => res({ code: c, signal: s }));
      child.once("error", (e) => {
        keep(Buffer.from(`cannot start the sandbox: ${e.message}\n`));
        res({ code: -1, signal: null });
      });
    },
  );
  clearTimeout(timer);
  killTree();
  let output = Buffer.concat(chunks).toString("utf8");
  if (dropped)
    output += `\n[grader: ${dropped} more bytes of output dropped (cap ${o.outputCap})]\n`;
  const stdout =
    o.stdoutCap !== undefined && outSize <= o.stdoutCap ? Buffer.concat(outChunks) : undefined;
  return { code, signal, timedOut, output, stdout, ms: Math.round(performance.now() - t0) };
}
