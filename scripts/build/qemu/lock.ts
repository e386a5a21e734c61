import { mkdir, open, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { info } from "../../lib/log.ts";
import { cachePath } from "../../lib/paths.ts";

/**
 * One `lab build qemu` (or export-patch fetching the source) at a time per
 * cache: a second one waits for the first instead of both rewriting the
 * same work tree. The lock file holds the owner's pid; a lock whose owner
 * is gone is taken over.
 */
const lockFile = (): string => cachePath("qemu", ".lock");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function tryLock(): Promise<boolean> {
  try {
    const fh = await open(lockFile(), "wx");
    await fh.write(`${process.pid}\n`);
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    const pid = Number((await readFile(lockFile(), "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
      await rm(lockFile(), { force: true });
      return tryLock();
    }
    return false;
  }
}

/** Runs `fn` holding the QEMU cache lock. */
export async function withQemuLock<T>(fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockFile()), { recursive: true });
  let told = false;
  while (!(await tryLock())) {
    if (!told) {
      info("waiting for another `lab build qemu` using the same cache to finish");
      told = true;
    }
    await sleep(500);
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile(), { force: true });
  }
}
