/** Test and benchmark inputs: one change to a copied reference file. */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Replaces `old` (which must be there) by `by` in `dir`/`file`: a fixture's one change. */
export async function edit(dir: string, file: string, old: string, by: string): Promise<void> {
  const p = join(dir, file);
  const s = await readFile(p, "utf8");
  if (!s.includes(old)) throw new Error(`fixture: '${old.slice(0, 40)}' not in ${file}`);
  await writeFile(p, s.replace(old, by));
}
