import { LabError } from "../../lib/errors.ts";
import { debug } from "../../lib/log.ts";
import { sh } from "../../lib/sh.ts";
import { qemuBuildDir } from "./configure.ts";

export interface NinjaResult {
  /** Edges ninja ran (0 when there was no work). */
  steps: number;
}

/**
 * Runs `ninja <target>` in the QEMU build folder, reporting "[n/N]" progress
 * and keeping the last lines for the error message.
 */
export async function runNinja(
  target: string,
  progress: (detail: string) => void,
): Promise<NinjaResult> {
  const ninja = sh({ cwd: qemuBuildDir(), nothrow: true })`ninja ${target} 2>&1`;
  const tail: string[] = [];
  let steps = 0;
  for await (const line of ninja) {
    const m = /^\[(\d+)\/(\d+)\]\s*(.*)$/.exec(line);
    if (m) {
      steps = Number(m[1]);
      progress(`ninja [${m[1]}/${m[2]}]`);
      debug(line);
    }
    tail.push(line);
    if (tail.length > 40) tail.shift();
  }
  const r = await ninja;
  if (r.exitCode !== 0) {
    const errs = tail.filter((l) => /error|FAILED/.test(l)).slice(-6);
    throw new LabError(
      `building QEMU failed (ninja exit ${r.exitCode})`,
      1,
      (errs.length ? errs : tail.slice(-6)).join("\n    "),
    );
  }
  return { steps };
}
