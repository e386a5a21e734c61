/** One verb of the lab CLI; each lives in scripts/commands/<name>.ts. */
export interface Command {
  /** One line for `lab help`. */
  summary: string;
  /** Full usage text for `lab <verb> --help`. */
  usage: string;
  /** Runs the verb with the arguments after it; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}
