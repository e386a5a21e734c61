import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import type { BuildTarget } from "../lib/build-target.ts";
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
const entryModule = "./src/cli.ts";

/** The bundle's entry: runs the chat CLI's main with the process arguments. */
const entrySource = `import { main } from ${JSON.stringify(entryModule)};
main(process.argv.slice(2)).then(
  (code) => { if (typeof code === "number") process.exitCode = code; },
  (e) => { console.error(e); process.exitCode = 1; },
);
`;

/** ESM output still meets CommonJS dependencies calling require(). */
const banner = `import { createRequire as __labCreateRequire } from "node:module";
const require = __labCreateRequire(import.meta.url);`;

const require = createRequire(import.meta.url);

async function appKey(): Promise<string> {
  const esbuildVersion = (require("esbuild/package.json") as { version: string }).version;
  return hashFiles(await listFiles(srcDir), [`esbuild ${esbuildVersion}`, entrySource, banner]);
}

const target: BuildTarget = {
  name: "app",
  summary: "the chat bundled for the guest: ts-app/dist/chat.mjs (esbuild)",
  deps: ["binding"],
  async build({ force }) {
    if (!existsSync(join(srcDir, "cli.ts")))
      throw new LabError("ts-app/src/cli.ts is missing: nothing to bundle");
    const key = await appKey();
    if (!force && existsSync(bundlePath) && (await readStamp(distDir)) === key) return "up-to-date";
    const esbuild = await import("esbuild");
    await step("bundling the chat (esbuild)", async () => {
      await rm(bundlePath, { force: true });
      const r = await esbuild.build({
        stdin: {
          contents: entrySource,
          resolveDir: appDir,
          sourcefile: "chat-entry.ts",
          loader: "ts",
        },
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        outfile: bundlePath,
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
