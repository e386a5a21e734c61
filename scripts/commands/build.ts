import type { Command } from "../lib/command.ts";
import { buildTargets, formatTimings } from "../lib/build-runner.ts";
import { UsageError } from "../lib/errors.ts";
import { aliases, targetNames } from "../build/targets.ts";

const command: Command = {
  summary: "fetch and build what the lab needs (idempotent)",
  usage: `usage: lab build [--force] [--timings] [TARGET...]

Targets: ${targetNames.join(", ")}
Aliases: ${Object.entries(aliases)
    .map(([a, l]) => `${a} (${l.join(", ")})`)
    .join("; ")}
With no target, builds all. Dependencies are built first. A target whose
inputs did not change does nothing; when nothing changed, one line says so.

  --force     rebuild the named targets even when up to date
  --timings   print the time each target took (setup time from a fresh cache)`,
  async run(argv) {
    let force = false;
    let timings = false;
    const names: string[] = [];
    for (const a of argv) {
      if (a === "--force") force = true;
      else if (a === "--timings") timings = true;
      else if (a.startsWith("-")) throw new UsageError(`lab build: unknown option ${a}`);
      else names.push(a);
    }
    const t = await buildTargets(names, { force });
    if (timings) process.stdout.write(`build timings:\n${formatTimings(t)}\n`);
    return 0;
  },
};
export default command;
