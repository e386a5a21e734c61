import { rm } from "node:fs/promises";
import type { Command } from "../lib/command.ts";
import { expandNames } from "../lib/build-runner.ts";
import { UsageError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { cacheDir } from "../lib/paths.ts";
import { loadTarget } from "../build/targets.ts";

const command: Command = {
  summary: "remove cached builds (all, or the named targets)",
  usage: `usage: lab clean [TARGET...]

With no target, removes every target's outputs and the whole cache
(${cacheDir()}). With targets, only theirs.`,
  async run(argv) {
    if (argv.some((a) => a.startsWith("-")))
      throw new UsageError("lab clean takes target names only");
    const names = expandNames(argv);
    for (const name of names) {
      await (await loadTarget(name)).clean();
      info(`clean: ${name} removed`);
    }
    if (argv.length === 0) {
      await rm(cacheDir(), { recursive: true, force: true });
      info(`clean: ${cacheDir()} removed`);
    }
    return 0;
  },
};
export default command;
