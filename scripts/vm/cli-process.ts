import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../lib/paths.ts";

/**
 * The lab CLI as a separate process, for what must see it as a user does:
 * the tests of `lab run` itself (exit codes, signals, stdin) and the boot
 * benchmark (the wall time of a whole `lab run`). Progress is plain lines
 * (CI=true). Everything else runs the guest in-process with `runGuest`.
 */

export const labBin = join(repoRoot, "bin", "lab.mjs");

export interface LabProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export function labProcess(
  args: readonly string[],
  opts: {
    input?: string | Buffer;
    /** Sees each stdout chunk as it comes, with the process (to signal it). */
    onStdout?: (chunk: Buffer, child: ChildProcess) => void;
  } = {},
): Promise<LabProcessResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [labBin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, CI: "true" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(d, child);
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: err,
        ms: performance.now() - t0,
      }),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(opts.input ?? "");
  });
}

/** The guest's own stderr: lab's progress/notice lines ("lab: ...") removed. */
export function guestStderr(stderr: string): string {
  return stderr
    .split("\n")
    .filter((l) => !l.startsWith("lab: "))
    .join("\n");
}
