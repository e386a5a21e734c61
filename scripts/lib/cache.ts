import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * Cache keys and stamps. A target hashes everything its output depends on
 * into a key; the key is written into the output folder last, so a folder
 * with a matching stamp is complete and current.
 */

/** A key over ordered parts; length-prefixed so ["ab","c"] and ["a","bc"] differ. */
export function hashKey(parts: readonly (string | Buffer)[]): string {
  const h = createHash("sha256");
  for (const p of parts) {
    const b = typeof p === "string" ? Buffer.from(p, "utf8") : p;
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest("hex");
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

const stampName = ".lab-stamp";

export async function readStamp(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, stampName), "utf8")).trim();
  } catch {
    return undefined;
  }
}

export async function writeStamp(dir: string, key: string): Promise<void> {
  await writeFile(join(dir, stampName), key + "\n");
}

/** Replaces `dest` by the fully built `tmp` (rename; the old copy is removed first). */
export async function replaceDir(tmp: string, dest: string): Promise<void> {
  await rm(dest, { recursive: true, force: true });
  await rename(tmp, dest);
}

/** A fresh, empty folder (removed first if present). */
export async function freshDir(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Bytes used under `path` (files and links, not following links); 0 if absent. */
export async function diskUsage(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await readdir(path)) total += await diskUsage(join(path, e));
  return total;
}
