#!/usr/bin/env node
// The `lab` CLI. The sources are TypeScript: compiled once and reused while
// unchanged (bin/cli-bundle.mjs), else loaded through tsx, so a student's
// edit to scripts/ needs no build step.
import { loadCompiledCli } from "./cli-bundle.mjs";

// A reader that went away (`lab ... | head`): stop writing, do not crash.
// (`lab run` counts and drops the guest's output itself, then exits with its status.)
for (const stream of [process.stdout, process.stderr])
  stream.on("error", (e) => {
    if (e.code !== "EPIPE") throw e;
  });
let main = await loadCompiledCli();
if (!main) {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../scripts/cli.ts"));
}
process.exitCode = await main(process.argv.slice(2));
