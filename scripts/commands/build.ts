import { defineCommand } from "../lib/command.ts";
import { buildTargets, formatTimings } from "../build/runner.ts";
import { aliases, optionalTargetNames, targetNames } from "../build/targets.ts";

export default defineCommand({
  summary: "fetch and build what the lab needs (idempotent)",
  usage: `usage: lab build [--force] [--timings] [--buildroot PATH] [TARGET...]

Targets: ${targetNames.join(", ")}
Built only when named: ${optionalTargetNames.join(", ")}
Aliases: ${Object.entries(aliases)
    .map(([a, l]) => `${a} (${l.join(", ")})`)
    .join("; ")}
With no target, builds all. Dependencies are built first; independent
targets build at the same time. A target whose inputs did not change does
nothing; when nothing changed, one line says so.

  --force     rebuild the named targets even when up to date
  --timings   print when each target started, how long it took, and the wall time
  --buildroot PATH
              the Buildroot tree or \`git archive\` tarball for
              rootfs-buildroot (default $LAB_BUILDROOT; see vm/buildroot/README.md)`,
  options: {
    force: { type: "boolean" },
    timings: { type: "boolean" },
    buildroot: { type: "string" },
  },
  positionals: true,
  async run({ values, positionals }) {
    const t = await buildTargets(positionals, {
      force: !!values.force,
      buildroot: values.buildroot,
    });
    if (values.timings) process.stdout.write(`build timings:\n${formatTimings(t)}\n`);
    return 0;
  },
});
