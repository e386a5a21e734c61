import { $ as zx, ProcessOutput, log } from "zx";
import { LabError } from "./errors.ts";
import { isVerbose } from "./log.ts";

/**
 * The shell of the build recipes (zx): a recipe reads like the commands it
 * runs, `await sh()\`dpkg -x ${deb} ${dir}\``, with every interpolated value
 * quoted by zx. Quiet unless --verbose (then each command and its output is
 * shown). A failing command throws zx's ProcessOutput; `commandFailed`
 * turns it into one LabError line with the output's tail.
 *
 * Long-lived processes the lab controls (QEMU, the guest, the fuzzer,
 * vitest) are run with execa or child_process instead.
 */
// --verbose shows commands and their output on stderr: stdout is the command's result.
log.output = process.stderr;

export function sh(opts: { cwd?: string; env?: NodeJS.ProcessEnv; nothrow?: boolean } = {}) {
  const verbose = isVerbose();
  return zx({ quiet: !verbose, verbose, ...opts });
}

/** The last lines of a failed command's output. */
export function outputTail(p: ProcessOutput, lines = 25): string {
  return `${p.stdout}\n${p.stderr}`.trim().split("\n").slice(-lines).join("\n");
}

/**
 * Runs a recipe step; a failing command becomes a LabError saying `what`
 * failed, with the command's exit code and the tail of its output.
 */
export async function recipe<T>(what: string, fn: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ProcessOutput)
      throw new LabError(
        `${what} failed (exit ${e.exitCode ?? e.signal}):\n${outputTail(e)}`,
        1,
        hint,
      );
    throw e;
  }
}
