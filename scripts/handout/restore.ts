/**
 * A kit with its stubs filled back from the reference's markers (tests
 * only): the proof that the cut loses nothing, and the "student" who
 * finished every task.
 */
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { readMarkedSources, repoFiles } from "./kit.ts";
import { restore } from "./markers.ts";
import { taskIds } from "./tasks.ts";

/**
 * Writes every file of the kit at `kitDir` into `dst` (which may be the kit
 * itself or a clone of it), each stubbed file with the reference's solutions.
 */
export async function restoreKit(kitDir: string, dst: string): Promise<void> {
  const marked = new Map((await readMarkedSources()).map((m) => [m.path, m.marked]));
  for (const f of await repoFiles(kitDir)) {
    const from = join(kitDir, f);
    const to = join(dst, f);
    const m = marked.get(f);
    if (m) {
      await mkdir(dirname(to), { recursive: true });
      await writeFile(to, restore(await readFile(from, "utf8"), m, taskIds, f));
    } else if (from !== to) {
      await mkdir(dirname(to), { recursive: true });
      await cp(from, to);
    }
  }
}
