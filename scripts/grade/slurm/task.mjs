#!/usr/bin/env node
// One task of `lab grade --slurm`'s job array (see grade-array.sbatch.tmpl):
// loads task.ts through tsx, as bin/lab.mjs loads the CLI.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./task.ts");
process.exitCode = await main(process.argv.slice(2));
