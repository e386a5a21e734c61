import { rm } from "node:fs/promises";
import { defineCommand } from "../lib/command.ts";
import { info } from "../lib/log.ts";
import { cacheDir } from "../lib/paths.ts";
import { expandNames } from "../build/runner.ts";
import { loadTarget } from "../build/targets.ts";

export default defineCommand({
  summary: "remove cached builds (all, or the named targets)",
  usage: `usage: lab clean [TARGET...]

With no target, removes every target's outputs and the whole cache
(${cacheDir()}). With targets, only theirs.`,
  positionals: true,
  async run({ positionals }) {
    for (const name of expandNames(positionals)) {
      await (await loadTarget(name)).clean();
      info(`clean: ${name} removed`);
    }
    if (positionals.length === 0) {
      await rm(cacheDir(), { recursive: true, force: true });
      info(`clean: ${cacheDir()} removed`);
    }
    return 0;
  },
});
