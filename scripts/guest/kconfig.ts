/**
 * Kconfig files as data (pure, unit tested): `CONFIG_X=value` and
 * `# CONFIG_X is not set` lines, and the check that every line of a
 * fragment survived `make olddefconfig` (a symbol whose dependencies are
 * off silently drops out).
 */

/** Symbol (without CONFIG_) to value; "n" for `is not set`. */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) {
      out.set(set[1] as string, set[2] as string);
      continue;
    }
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) out.set(unset[1] as string, "n");
  }
  return out;
}

export interface Unstuck {
  symbol: string;
  wanted: string;
  /** "n" when absent or not set. */
  got: string;
}

/** The fragment's symbols whose value in the final config differs. */
export function unstuckSymbols(fragment: string, final: string): Unstuck[] {
  const want = parseKconfig(fragment);
  const have = parseKconfig(final);
  const out: Unstuck[] = [];
  for (const [symbol, wanted] of want) {
    const got = have.get(symbol) ?? "n";
    if (got !== wanted) out.push({ symbol, wanted, got });
  }
  return out;
}
