import type { AnyCommand } from "./lib/command.ts";
import { runCommand } from "./lib/command.ts";
import { LabError, UsageError } from "./lib/errors.ts";
import { error, setVerbose } from "./lib/log.ts";

/** Verbs, in the order `lab help` lists them. Modules load lazily. */
const verbs: Record<string, () => Promise<{ default: AnyCommand }>> = {
  start: () => import("./commands/start.ts"),
  doctor: () => import("./commands/doctor.ts"),
  build: () => import("./commands/build.ts"),
  boot: () => import("./commands/boot.ts"),
  run: () => import("./commands/run.ts"),
  test: () => import("./commands/test.ts"),
  bench: () => import("./commands/bench.ts"),
  chat: () => import("./commands/chat.ts"),
  grade: () => import("./commands/grade.ts"),
  "export-patch": () => import("./commands/export-patch.ts"),
  fuzz: () => import("./commands/fuzz.ts"),
  clean: () => import("./commands/clean.ts"),
  pins: () => import("./commands/pins.ts"),
  buildroot: () => import("./commands/buildroot.ts"),
  handout: () => import("./commands/handout.ts"),
  submit: () => import("./commands/submit.ts"),
};

async function help(): Promise<number> {
  const lines = ["usage: lab [--verbose] <verb> [args...]", "", "verbs:"];
  for (const [name, load] of Object.entries(verbs))
    lines.push(`  ${name.padEnd(13)} ${(await load()).default.summary}`);
  lines.push("", "`lab <verb> --help` for a verb's options.");
  process.stdout.write(lines.join("\n") + "\n");
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  // `lab --verbose VERB`; after the verb, --verbose is one of its options.
  let i = 0;
  for (; argv[i] === "--verbose" || argv[i] === "-v"; i++) setVerbose(true);
  const [verb, ...rest] = argv.slice(i);
  if (!verb || verb === "help" || verb === "--help" || verb === "-h") return help();
  try {
    const load = verbs[verb];
    if (!load) throw new UsageError(`unknown verb '${verb}'`);
    return await runCommand(`lab ${verb}`, (await load()).default, rest);
  } catch (e) {
    if (e instanceof LabError) {
      error(e.message);
      if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
