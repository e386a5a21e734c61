import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { execa } from "execa";
import type { BuildTarget } from "../lib/build-target.ts";
import { hashKey, readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";

/**
 * `lab build binding`: the chat's native addon (ts-app/native/), built with
 * node-gyp against the installed Node's headers, offline. The output stays
 * in the tree (ts-app/native/build/Release/) so the guest reaches it through
 * the /lab share; it is up to date while the sources, the ABI header, the
 * Node version and node-addon-api are unchanged.
 */

export const nativeDir = join(repoRoot, "ts-app", "native");
export const bindingBuildDir = join(nativeDir, "build");
export const bindingPath = join(bindingBuildDir, "Release", "vcryptodev_binding.node");

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

/**
 * The prefix holding the running Node's headers (include/node/node_api.h),
 * given to node-gyp as --nodedir so it never downloads them.
 */
function nodeHeadersDir(): string {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath)), "/usr"];
  const dir = candidates.find((d) => d && existsSync(join(d, "include", "node", "node_api.h")));
  if (!dir)
    throw new LabError(
      `no Node headers for ${process.version} (looked for include/node/node_api.h under ${candidates.filter(Boolean).join(", ")})`,
      1,
      "install the headers of this Node (Debian: libnode-dev, or the nodesource nodejs package), or set npm_config_nodedir",
    );
  return dir;
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
    const r = await execa("sh", ["-c", `command -v ${tool}`], { reject: false });
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
    const nodedir = nodeHeadersDir();
    const gyp = require.resolve("node-gyp/bin/node-gyp.js");
    await step("building the native binding (node-gyp)", async () => {
      const r = await execa(process.execPath, [gyp, "rebuild", `--nodedir=${nodedir}`, "-j", "2"], {
        cwd: nativeDir,
        all: true,
        reject: false,
        env: { npm_config_nodedir: nodedir },
      });
      if (r.exitCode !== 0) {
        const tail = (r.all ?? "").split("\n").slice(-25).join("\n");
        throw new LabError(`node-gyp rebuild failed in ts-app/native:\n${tail}`);
      }
    });
    if (!existsSync(bindingPath))
      throw new LabError(`node-gyp left no ${relative(repoRoot, bindingPath)}`);
    await writeStamp(bindingBuildDir, key);
    return "built";
  },
  async clean() {
    await rm(bindingBuildDir, { recursive: true, force: true });
  },
};
export default target;
