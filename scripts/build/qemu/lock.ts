import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { info } from "../../lib/log.ts";
import { cachePath } from "../../lib/paths.ts";
import { pidAlive } from "../../lib/pid.ts";

/**
 * One `lab build qemu` (or export-patch fetching the source) at a time per
 * cache: a second one waits for the first instead of both rewriting the
 * same work tree. The lock file holds the owner's pid; a lock whose owner
 * is gone is taken over.
 */
const lockFile = (): string => cachePath("qemu", ".lock");

async function tryLock(file: string): Promise<boolean> {
  try {
    const fh = await open(file, "wx");
    await fh.write(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const pid = Number((await readFile(file, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) {
      await rm(file, { force: true });
      return tryLock(file);
    }
    return false;
  }
}

/** Runs `fn` holding the QEMU cache lock. */
export function withQemuLock<T>(fn: () => Promise<T>): Promise<T> {
  return withFileLock(lockFile(), "`lab build qemu`", fn);
}

/** Runs `fn` holding the lock file `file` (`what` names the other holder while waiting). */
export async function withFileLock<T>(
  file: string,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(dirname(file), { recursive: true });
  let told = false;
  while (!(await tryLock(file))) {
    if (!told) {
      info(`waiting for another ${what} using the same cache to finish`);
      told = true;
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
