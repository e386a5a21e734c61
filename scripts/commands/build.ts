import { defineCommand } from "../lib/command.ts";
import { buildTargets, formatTimings } from "../build/runner.ts";
import { aliases, targetNames } from "../build/targets.ts";

export default defineCommand({
  summary: "fetch and build what the lab needs (idempotent)",
  usage: `usage: lab build [--force] [--timings] [TARGET...]

Targets: ${targetNames.join(", ")}
Aliases: ${Object.entries(aliases)
    .map(([a, l]) => `${a} (${l.join(", ")})`)
    .join("; ")}
With no target, builds all. Dependencies are built first; independent
targets build at the same time. A target whose inputs did not change does
nothing; when nothing changed, one line says so.

  --force     rebuild the named targets even when up to date
  --timings   print when each target started, how long it took, and the wall time`,
  options: { force: { type: "boolean" }, timings: { type: "boolean" } },
  positionals: true,
  async run({ values, positionals }) {
    const t = await buildTargets(positionals, { force: !!values.force });
    if (values.timings) process.stdout.write(`build timings:\n${formatTimings(t)}\n`);
    return 0;
  },
});
