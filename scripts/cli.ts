import { LabError, UsageError } from "./lib/errors.ts";
import type { Command } from "./lib/command.ts";
import { error, setVerbose } from "./lib/log.ts";

/** Verbs, in the order `lab help` lists them. Modules load lazily. */
const verbs: Record<string, () => Promise<{ default: Command }>> = {
  start: () => import("./commands/start.ts"),
  doctor: () => import("./commands/doctor.ts"),
  build: () => import("./commands/build.ts"),
  boot: () => import("./commands/boot.ts"),
  run: () => import("./commands/run.ts"),
  test: () => import("./commands/test.ts"),
  bench: () => import("./commands/bench.ts"),
  chat: () => import("./commands/chat.ts"),
  "export-patch": () => import("./commands/export-patch.ts"),
  fuzz: () => import("./commands/fuzz.ts"),
  clean: () => import("./commands/clean.ts"),
  pins: () => import("./commands/pins.ts"),
};

async function help(): Promise<number> {
  const lines = ["usage: lab [--verbose] <verb> [args...]", "", "verbs:"];
  for (const [name, load] of Object.entries(verbs)) {
    let summary = "";
    try {
      summary = (await load()).default.summary;
    } catch {
      summary = "(not available in this checkout)";
    }
    lines.push(`  ${name.padEnd(13)} ${summary}`);
  }
  lines.push("", "`lab <verb> --help` for a verb's options.");
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  while (args[0] === "--verbose" || args[0] === "-v") {
    setVerbose(true);
    args.shift();
  }
  const verb = args.shift();
  if (!verb || verb === "help" || verb === "--help" || verb === "-h") return help();
  const load = verbs[verb];
  try {
    if (!load) throw new UsageError(`unknown verb '${verb}'`);
    const cmd = (await load()).default;
    // `lab VERB --help`; deeper helps (`lab bench chat --help`) are the verb's.
    if (args[0] === "--help" || args[0] === "-h") {
      process.stdout.write(cmd.usage.trimEnd() + "\n");
      return 0;
    }
    // --verbose is accepted after the verb too (before a `--` separator).
    const sep = args.indexOf("--");
    const head = sep < 0 ? args : args.slice(0, sep);
    if (head.includes("--verbose")) {
      setVerbose(true);
      args.splice(args.indexOf("--verbose"), 1);
    }
    return await cmd.run(args);
  } catch (caught) {
    // node:util parseArgs rejects unknown or malformed options with a TypeError.
    const code = (caught as { code?: unknown } | null)?.code;
    const e =
      typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")
        ? new UsageError(`lab ${verb}: ${(caught as Error).message}`)
        : caught;
    if (e instanceof LabError) {
      error(e.message);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
