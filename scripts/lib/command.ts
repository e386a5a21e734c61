import { type OptionSpecs, type Parsed, parseCommandLine } from "./args.ts";
import { UsageError } from "./errors.ts";
import { setVerbose } from "./log.ts";

/**
 * One verb of the lab CLI (scripts/commands/<name>.ts), or one sub-verb
 * (`lab bench chat`). A verb declares its options; `runCommand` parses the
 * arguments with the one parser (scripts/lib/args.ts), answers `--help`, and
 * calls `run` with the parsed values.
 */
export interface Command<T extends OptionSpecs = OptionSpecs> {
  /** One line for `lab help`. */
  summary: string;
  /** Full usage text for `lab <verb> --help`. */
  usage: string;
  options?: T;
  /** Positional words allowed (target names...). */
  positionals?: boolean;
  /** A trailing command after `--` (lab run). */
  command?: boolean;
  /** Arguments go to `run` unparsed, as `command` (a verb with its own parser: lab chat). */
  passthrough?: boolean;
  run(args: Parsed<T>): Promise<number>;
}

/** A verb made of sub-verbs (`lab bench boot|device|chat`): the first word picks one. */
export interface CommandGroup {
  summary: string;
  usage: string;
  subcommands: Record<string, () => Promise<{ default: Command | CommandGroup }>>;
}

export type AnyCommand = Command | CommandGroup;

/** Defines a command with its options typed from the spec. */
export function defineCommand<T extends OptionSpecs>(c: Command<T>): Command<T> {
  return c;
}

function isGroup(c: AnyCommand): c is CommandGroup {
  return "subcommands" in c;
}

/** Parses `argv` for `cmd` (named `name` in messages) and runs it. */
export async function runCommand(name: string, cmd: AnyCommand, argv: string[]): Promise<number> {
  if (isGroup(cmd)) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
      process.stdout.write(cmd.usage.trimEnd() + "\n");
      return sub === undefined ? 2 : 0;
    }
    const load = cmd.subcommands[sub];
    if (!load)
      throw new UsageError(
        `${name}: unknown '${sub}' (one of: ${Object.keys(cmd.subcommands).join(", ")})`,
      );
    return runCommand(`${name} ${sub}`, (await load()).default, rest);
  }
  if (cmd.passthrough) return cmd.run({ values: {}, positionals: [], command: argv });
  const parsed = parseCommandLine(name, argv, cmd.options ?? {}, {
    positionals: cmd.positionals,
    command: cmd.command,
  });
  if (parsed.values.verbose) setVerbose(true);
  if (parsed.values.help) {
    process.stdout.write(cmd.usage.trimEnd() + "\n");
    return 0;
  }
  return cmd.run(parsed);
}
