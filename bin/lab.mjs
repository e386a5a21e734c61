#!/usr/bin/env node
// The `lab` CLI. The sources are TypeScript: compiled once and reused while
// unchanged (bin/cli-bundle.mjs), else loaded through tsx, so a student's
// edit to scripts/ needs no build step.
import { setTimeout } from "node:timers";
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
// The command is over: a handle still open now is a leak (a socket, a timer,
// a child) and must not keep `npm start` or CI waiting. The timer is unref'd,
// so it fires only when something else still holds the event loop.
setTimeout(() => {
  const open = process.getActiveResourcesInfo().filter((r) => r !== "Timeout");
  process.stderr.write(`lab: exiting with handles still open (${open.join(", ")})\n`);
  process.exit();
}, 2000).unref();
