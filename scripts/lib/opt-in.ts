/**
 * VM suites that `npm test` runs only when asked: each names its variable
 * and why it is not part of the default run. Returns the reason to skip, or
 * undefined when the variable is set to 1.
 */
export function optInSkip(variable: string, why: string): string | undefined {
  return process.env[variable] === "1" ? undefined : `opt-in: set ${variable}=1 to run (${why})`;
}
