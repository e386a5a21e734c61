import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

/**
 * The one command-line parser of the lab CLI: node:util's parseArgs, with
 * its errors turned into UsageError (one line and a hint, never a stack),
 * `--help` recognised everywhere, and an optional trailing command
 * (`lab run [options] -- CMD...`, or the first word that is not an option).
 */

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

type Value<S extends OptionSpec> = S["type"] extends "boolean"
  ? S["multiple"] extends true
    ? boolean[]
    : boolean
  : S["multiple"] extends true
    ? string[]
    : string;

/** Every verb also takes --help/-h and --verbose. */
export type Values<T extends OptionSpecs> = { [K in keyof T]?: Value<T[K]> } & {
  help?: boolean;
  verbose?: boolean;
};

export interface Parsed<T extends OptionSpecs> {
  values: Values<T>;
  positionals: string[];
  /** With `command: true`: everything after `--` or from the first non-option word. */
  command: string[];
}

export interface ParseOptions {
  /** Positional words allowed (default none). */
  positionals?: boolean;
  /** A trailing command: what follows `--`, or starts at the first non-option word. */
  command?: boolean;
}

/** Splits argv where the trailing command starts (pure). */
export function splitCommand(
  argv: readonly string[],
  specs: OptionSpecs,
): { head: string[]; command: string[] } {
  const takesValue = (arg: string): boolean => {
    if (arg.includes("=")) return false;
    if (arg.startsWith("--")) return specs[arg.slice(2)]?.type === "string";
    const s = Object.values(specs).find((o) => o.short === arg.slice(1));
    return s?.type === "string" && arg.length === 2;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") return { head: argv.slice(0, i), command: argv.slice(i + 1) };
    if (!a.startsWith("-") || a === "-") return { head: argv.slice(0, i), command: argv.slice(i) };
    if (takesValue(a)) i++;
  }
  return { head: [...argv], command: [] };
}

export function parseCommandLine<T extends OptionSpecs>(
  verb: string,
  argv: readonly string[],
  specs: T,
  how: ParseOptions = {},
): Parsed<T> {
  const { head, command } = how.command
    ? splitCommand(argv, specs)
    : { head: [...argv], command: [] };
  try {
    const r = parseArgs({
      args: head,
      options: { ...specs, help: { type: "boolean", short: "h" }, verbose: { type: "boolean" } },
      allowPositionals: !!how.positionals,
      strict: true,
    });
    return { values: r.values as Values<T>, positionals: r.positionals, command };
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new UsageError(`${verb}: ${msg}`);
  }
}

/** A whole number within [min, max]. */
export function intArg(name: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${name} needs a whole number, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}`);
  return n;
}

/** A positive number (decimals allowed). */
export function positiveArg(name: string, v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(n > 0))
    throw new UsageError(`${name} needs a positive number, got '${v}'`);
  return n;
}

/** A comma-separated list of whole numbers within [min, max]. */
export function intListArg(name: string, v: string, min: number, max: number): number[] {
  return v.split(",").map((s) => intArg(name, s.trim(), min, max));
}

/** One of the given words. */
export function oneOfArg<C extends string>(name: string, v: string, choices: readonly C[]): C {
  if (!(choices as readonly string[]).includes(v))
    throw new UsageError(`${name} must be one of ${choices.join(", ")}, got '${v}'`);
  return v as C;
}

/** A comma-separated list of words, each one of the given choices. */
export function listOfArg<C extends string>(name: string, v: string, choices: readonly C[]): C[] {
  return v.split(",").map((s) => oneOfArg(name, s.trim(), choices));
}
