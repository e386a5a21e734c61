import { copyFile, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gradeBatch } from "./batch.ts";

/**
 * `lab grade --gradescope`: Gradescope's autograder layout. The submission
 * is /autograder/submission, the results go to
 * /autograder/results/results.json; both paths can be overridden (tests).
 */
export async function gradescope(o: {
  submission: string;
  results: string;
  rubricPath?: string;
}): Promise<void> {
  const out = join(tmpdir(), `lab-gradescope-${process.pid}`);
  try {
    const [r] = await gradeBatch([o.submission], {
      outDir: out,
      rubricPath: o.rubricPath,
      jobs: 1,
      resume: false,
    });
    await mkdir(dirname(o.results), { recursive: true });
    await copyFile(join(out, (r as { name: string }).name, "results.json"), o.results);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
