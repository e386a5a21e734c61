#!/usr/bin/env node
// The `lab` CLI. The sources are TypeScript, loaded through tsx (esbuild,
// transforms cached), so a student's edit to scripts/ needs no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../scripts/cli.ts");
process.exitCode = await main(process.argv.slice(2));
