import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import type { BuildTarget } from "./target.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { sh } from "../lib/sh.ts";
import {
  BindingBuildError,
  bindingBuildDir,
  bindingPath,
  buildBinding,
  nativeDir,
} from "../../ts-app/native/build.ts";

/**
 * `lab build binding`: the chat's native addon (ts-app/native/), built with
 * node-gyp against the installed Node's headers, offline. The output stays
 * in the tree (ts-app/native/build/Release/) so the guest reaches it through
 * the /lab share; it is up to date while the sources, the ABI header, the
 * Node version and node-addon-api are unchanged.
 */

export { bindingPath };

/** Every file under `dir` (recursively, sorted), skipping `skip` folder names. */
export async function listFiles(dir: string, skip: readonly string[] = []): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    if (skip.includes(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(p, skip)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** A key over the names and contents of `files` plus `extra` strings. */
export async function hashFiles(
  files: readonly string[],
  extra: readonly string[],
): Promise<string> {
  const parts: (string | Buffer)[] = [...extra];
  for (const f of files) parts.push(relative(repoRoot, f), await readFile(f));
  return hashKey(parts);
}

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

async function bindingKey(): Promise<string> {
  const files = [
    ...(await listFiles(nativeDir, ["build", "node_modules"])),
    join(repoRoot, "include", "crypto", "cryptodev.h"),
  ];
  return hashFiles(files, [
    process.version,
    process.arch,
    `node-addon-api ${packageVersion("node-addon-api")}`,
  ]);
}

async function checkTools(): Promise<void> {
  for (const tool of ["make", "g++", "python3"]) {
    const r = await sh({ nothrow: true })`command -v ${tool}`;
    if (r.exitCode !== 0)
      throw new LabError(
        `building the native binding needs ${tool}`,
        1,
        `run: sudo apt-get install -y make g++ python3`,
      );
  }
}

const target: BuildTarget = {
  name: "binding",
  summary: "the chat's native addon for /dev/cryptodevN (node-gyp, offline)",
  deps: [],
  async build({ force }) {
    const key = await bindingKey();
    if (!force && existsSync(bindingPath) && (await readStamp(bindingBuildDir)) === key)
      return "up-to-date";
    await checkTools();
    await step("building the native binding (node-gyp)", () =>
      buildBinding().catch((e: unknown) => {
        if (e instanceof BindingBuildError) throw new LabError(e.message, 1, e.hint);
        throw e;
      }),
    );
    await writeStamp(bindingBuildDir, key);
    return "built";
  },
  async clean() {
    await rm(bindingBuildDir, { recursive: true, force: true });
  },
};
export default target;
