/**
 * Building the chat's native addon (ts-app/native/): node-gyp against the
 * running Node's headers, offline. Used by `lab build binding` (which adds
 * its cache key and progress) and by ts-app's own tests, so the chat builds
 * and tests without the lab's scripts.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

export const nativeDir = import.meta.dirname;
export const bindingBuildDir = join(nativeDir, "build");
export const bindingPath = join(bindingBuildDir, "Release", "vcryptodev_binding.node");

const require = createRequire(import.meta.url);

/** The addon cannot be built here; `hint` says what to install. */
export class BindingBuildError extends Error {
  override readonly name = "BindingBuildError";
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * The prefix holding the running Node's headers (include/node/node_api.h),
 * given to node-gyp as --nodedir so it never downloads them.
 */
export function nodeHeadersDir(): string {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath)), "/usr"];
  const dir = candidates.find((d) => d && existsSync(join(d, "include", "node", "node_api.h")));
  if (!dir)
    throw new BindingBuildError(
      `no Node headers for ${process.version} (looked for include/node/node_api.h under ${candidates.filter(Boolean).join(", ")})`,
      "install the headers of this Node (Debian: libnode-dev, or the nodesource nodejs package), or set npm_config_nodedir",
    );
  return dir;
}

/** `node-gyp rebuild` in ts-app/native; throws with the output's tail on failure. */
export async function buildBinding(): Promise<void> {
  const nodedir = nodeHeadersDir();
  const gyp = require.resolve("node-gyp/bin/node-gyp.js");
  try {
    await promisify(execFile)(
      process.execPath,
      [gyp, "rebuild", `--nodedir=${nodedir}`, "-j", "2"],
      {
        cwd: nativeDir,
        env: { ...process.env, npm_config_nodedir: nodedir },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (e) {
    const { stdout = "", stderr = "" } = e as { stdout?: string; stderr?: string };
    const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-25).join("\n");
    throw new BindingBuildError(
      `node-gyp rebuild failed in ts-app/native:\n${tail}`,
      "needs make, g++ and python3",
    );
  }
  if (!existsSync(bindingPath)) throw new BindingBuildError(`node-gyp left no ${bindingPath}`);
}
