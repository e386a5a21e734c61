import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import type { BuildTarget } from "./target.ts";
import { readStamp, writeStamp } from "../lib/cache.ts";
import { LabError } from "../lib/errors.ts";
import { step } from "../lib/log.ts";
import { repoRoot } from "../lib/paths.ts";
import { hashFiles, listFiles } from "./binding.ts";

/**
 * `lab build app`: the chat bundled into one ES module,
 * ts-app/dist/chat.mjs, so the guest runs
 * `node /lab/ts-app/dist/chat.mjs server ...` without tsx (which costs
 * seconds of start-up under TCG). better-sqlite3 and the native addon stay
 * outside: they are loaded from node_modules and ts-app/native/build.
 */

export const appDir = join(repoRoot, "ts-app");
export const distDir = join(appDir, "dist");
export const bundlePath = join(distDir, "chat.mjs");
const srcDir = join(appDir, "src");
/** ts-app/src/main.ts runs the chat CLI's main() with the process arguments. */
const entryPath = join(srcDir, "main.ts");
/** The guest-side programs of the end-to-end chat (demo, chat and cryptodev VM tests). */
const e2eDir = join(appDir, "e2e");
export const scenarioBundlePath = join(distDir, "chat-scenario.mjs");
/** The cryptodev provider's in-guest self-test (cryptodev.vm.test.ts). */
export const selftestBundlePath = join(distDir, "cryptodev-selftest.mjs");

/** ESM output still meets CommonJS dependencies calling require(). */
const banner = `import { createRequire as __labCreateRequire } from "node:module";
const require = __labCreateRequire(import.meta.url);`;

const require = createRequire(import.meta.url);

async function appKey(): Promise<string> {
  const esbuildVersion = (require("esbuild/package.json") as { version: string }).version;
  const files = [...(await listFiles(srcDir)), ...(await listFiles(e2eDir))];
  return hashFiles(files, [`esbuild ${esbuildVersion}`, banner]);
}

const target: BuildTarget = {
  name: "app",
  summary: "the chat bundled for the guest: ts-app/dist/chat.mjs (esbuild)",
  deps: ["binding"],
  async build({ force }) {
    if (!existsSync(entryPath))
      throw new LabError("ts-app/src/main.ts is missing: nothing to bundle");
    const key = await appKey();
    if (
      !force &&
      existsSync(bundlePath) &&
      existsSync(scenarioBundlePath) &&
      existsSync(selftestBundlePath) &&
      (await readStamp(distDir)) === key
    )
      return "up-to-date";
    const esbuild = await import("esbuild");
    await step("bundling the chat (esbuild)", async () => {
      await rm(distDir, { recursive: true, force: true });
      const r = await esbuild.build({
        entryPoints: [
          { in: entryPath, out: "chat" },
          { in: join(e2eDir, "guest-main.ts"), out: "chat-scenario" },
          { in: join(e2eDir, "cryptodev-selftest.ts"), out: "cryptodev-selftest" },
        ],
        outExtension: { ".js": ".mjs" },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outdir: distDir,
        sourcemap: "linked",
        external: ["better-sqlite3", "*.node"],
        banner: { js: banner },
        logLevel: "silent",
      });
      for (const w of r.warnings) process.stderr.write(`esbuild: ${w.text}\n`);
    }).catch((e: unknown) => {
      if (e instanceof LabError) throw e;
      throw new LabError(
        `bundling ${relative(repoRoot, bundlePath)} failed: ${(e as Error).message}`,
      );
    });
    await writeStamp(distDir, key);
    return "built";
  },
  async clean() {
    await rm(distDir, { recursive: true, force: true });
  },
};
export default target;
