import { existsSync, realpathSync } from "node:fs";
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { ensurePackages } from "../debian/apt.ts";
import type { BuildTarget } from "./target.ts";
import { freshDir, hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { nodeImagePath, noderootDir } from "../guest/artifacts.ts";
import { parseLdd } from "../guest/ldd.ts";
import { step } from "../lib/log.ts";
import { recipe, sh } from "../lib/sh.ts";

/**
 * The guest's Node runtime: the host's node binary and the shared libraries
 * it loads, in an uncompressed read-only squashfs image attached as a
 * virtio disk. Only the pages node touches are read, so boots that do not
 * run node pay nothing, and node starts without unpacking 99 MB into RAM.
 */
const recipeVersion = "noderoot-recipe-1";

async function nodeFiles(): Promise<{ node: string; libs: string[] }> {
  const node = realpathSync(process.execPath);
  const { stdout } = await sh()`ldd ${node}`;
  return { node, libs: parseLdd(stdout) };
}

/** Keyed on the files' paths, sizes and mtimes (hashing 99 MB each time would be slow). */
async function inputsKey(files: string[]): Promise<string> {
  const parts: string[] = [recipeVersion];
  for (const f of files) {
    const st = await stat(f);
    parts.push(`${f} ${st.size} ${st.mtimeMs}`);
  }
  return hashKey(parts);
}

const target: BuildTarget = {
  name: "noderoot",
  packages: ["guest"],
  summary: "read-only squashfs image with the host's node and its libraries (guest /opt/node)",
  deps: [],
  async build({ force }) {
    const { node, libs } = await nodeFiles();
    const key = await inputsKey([node, ...libs]);
    if (!force && (await readStamp(noderootDir())) === key && existsSync(nodeImagePath()))
      return "up-to-date";
    await ensurePackages("guest");
    await step("making the node image", async () => {
      const stage = await freshDir(join(noderootDir(), `stage.${process.pid}`));
      await mkdir(join(stage, "bin"));
      await mkdir(join(stage, "lib"));
      await copyFile(node, join(stage, "bin", "node"));
      // realpath: ldd names links (/lib64/ld-linux-x86-64.so.2); copy the file.
      for (const lib of libs) await copyFile(realpathSync(lib), join(stage, "lib", basename(lib)));
      const tmp = `${nodeImagePath()}.${process.pid}.tmp`;
      await rm(tmp, { force: true });
      // Uncompressed (-noI -noD -noF -noX), owned by root, timestamps 0: reproducible.
      await recipe(
        "mksquashfs",
        () =>
          sh()`mksquashfs ${stage} ${tmp} -noappend -all-root -noI -noD -noF -noX -mkfs-time 0 -all-time 0 -quiet -no-progress`,
      );
      await rename(tmp, nodeImagePath());
      await rm(stage, { recursive: true, force: true });
    });
    await writeStamp(noderootDir(), key);
    return "built";
  },
  async clean() {
    await rm(noderootDir(), { recursive: true, force: true });
  },
};
export default target;
