import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../lib/paths.ts";

/**
 * The batch the Slurm test grades (made under `dir` at test time, from the
 * reference driver's sources): the reference itself, two variants with one
 * pitfall each, and one submission whose driver does not compile. Returns
 * their folders, in that order.
 */

const moduleSrc = join(repoRoot, "guest-driver", "module");
const sources = ["Kbuild", "Makefile", "chrdev.c", "main.c", "request.c", "vcryptodev.h"];

async function driverCopy(
  dir: string,
  edit?: (file: string, text: string) => string,
): Promise<string> {
  const mod = join(dir, "guest-driver", "module");
  await mkdir(mod, { recursive: true });
  for (const f of sources) {
    const text = await readFile(join(moduleSrc, f), "utf8");
    const out = edit ? edit(f, text) : text;
    await writeFile(join(mod, f), out);
  }
  return dir;
}

function replaceOnce(text: string, from: string, to: string, file: string): string {
  if (!text.includes(from)) throw new Error(`fixture: '${from}' not found in ${file}`);
  return text.replace(from, to);
}

export async function batchFixtures(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  return [
    await driverCopy(join(dir, "reference")),
    // pitfall: -1 instead of -errno for an unknown ioctl
    await driverCopy(join(dir, "minus-one"), (f, t) =>
      f === "chrdev.c" ? replaceOnce(t, "return -ENOTTY;", "return -1;", f) : t,
    ),
    // pitfall: a build with warnings (an unused variable)
    await driverCopy(join(dir, "warning"), (f, t) =>
      f === "main.c" ? `${t}\nstatic int lab_unused_fixture;\n` : t,
    ),
    // broken: does not compile
    await driverCopy(join(dir, "broken"), (f, t) =>
      f === "request.c" ? `${t}\nthis is not C;\n` : t,
    ),
  ];
}
