import { LabError } from "../lib/errors.ts";
import { OutputWatch } from "../lib/output-watch.ts";
import type { VmArgs } from "./options.ts";
import { type RunResult, runGuest } from "./run.ts";

/**
 * A guest command that keeps running while the caller works (a chat server
 * in the guest for the demo and the benchmark): its output is collected
 * and watched for lines, and `stop()` ends the run (QEMU killed).
 */

export interface GuestSession {
  stdout: OutputWatch;
  stderr: OutputWatch;
  /** The run's result, when the command ends (or the run is stopped). */
  done: Promise<RunResult>;
  /**
   * Resolves when the command's stdout matches `re`; rejects when the run
   * ends first or `timeoutMs` passes, with the output's tail.
   */
  waitFor(re: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray>;
  /** Ends the run now (QEMU killed) unless it already ended. */
  stop(): Promise<RunResult>;
}

export function startGuest(args: VmArgs): GuestSession {
  const stdout = new OutputWatch();
  const stderr = new OutputWatch();
  const abort = new AbortController();
  const done = runGuest(args, { stdout, stderr, signal: abort.signal });
  void done.catch(() => {});
  return {
    stdout,
    stderr,
    done,
    async waitFor(re, timeoutMs, what) {
      let timer: NodeJS.Timeout | undefined;
      const failure = (why: string) =>
        new LabError(
          `${what}: ${why}\n--- guest stdout (tail) ---\n${stdout.tail()}\n--- guest stderr (tail) ---\n${stderr.tail()}`,
        );
      try {
        return await Promise.race([
          stdout.match(re),
          done.then((r) => {
            throw failure(
              `the guest run ended first (exit ${r.code}${r.reason ? `: ${r.reason}` : ""})`,
            );
          }),
          new Promise<never>((_, rej) => {
            timer = setTimeout(
              () => rej(failure(`not seen within ${timeoutMs / 1000} s`)),
              timeoutMs,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      abort.abort();
      return done;
    },
  };
}
