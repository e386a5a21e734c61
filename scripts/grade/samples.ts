import { copyFile, cp, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../lib/paths.ts";

/**
 * Submissions made from the reference (the benchmark's inputs, the tests'
 * starting point): the driver's sources without build products, the
 * device's sources, the chat's sources.
 */

const moduleDir = join(repoRoot, "guest-driver", "module");

/** Copies the reference driver's sources into `dest`/guest-driver/module. */
export async function referenceDriver(dest: string): Promise<string> {
  const to = join(dest, "guest-driver", "module");
  await mkdir(to, { recursive: true });
  for (const n of await readdir(moduleDir))
    if ((/\.[ch]$/.test(n) && !n.endsWith(".mod.c")) || n === "Kbuild" || n === "Makefile")
      await copyFile(join(moduleDir, n), join(to, n));
  return dest;
}

/** Copies the reference device's sources into `dest`/host-backend/qemu. */
export async function referenceDevice(dest: string): Promise<string> {
  const to = join(dest, "host-backend", "qemu");
  await mkdir(to, { recursive: true });
  await cp(join(repoRoot, "host-backend", "qemu"), to, { recursive: true });
  return dest;
}

/** Copies the reference chat's sources (the student's side: ts-app/src) into `dest`/ts-app/src. */
export async function referenceChat(dest: string): Promise<string> {
  const to = join(dest, "ts-app", "src");
  await mkdir(to, { recursive: true });
  await cp(join(repoRoot, "ts-app", "src"), to, { recursive: true });
  return dest;
}
