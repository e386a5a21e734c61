import type { BuildOptions, BuildTarget } from "./build-target.ts";
import { UsageError } from "./errors.ts";
import { info } from "./log.ts";
import { aliases, loadTarget, targetNames } from "../build/targets.ts";

export interface TargetTiming {
  name: string;
  result: "built" | "up-to-date";
  seconds: number;
}

/** Expands aliases ("guest", "all") and checks every name is a target. */
export function expandNames(names: readonly string[]): string[] {
  const known = new Set<string>(targetNames);
  const out: string[] = [];
  for (const n of names.length ? names : ["all"]) {
    const list = aliases[n] ?? [n];
    for (const t of list) {
      if (!known.has(t)) {
        const all = [...targetNames, ...Object.keys(aliases)].join(", ");
        throw new UsageError(`unknown build target '${t}' (targets: ${all})`);
      }
      if (!out.includes(t)) out.push(t);
    }
  }
  return out;
}

/**
 * Orders `names` and their dependencies so each target comes after what it
 * depends on (depth first, in the order given). Throws on a cycle.
 */
export async function resolveOrder(
  names: readonly string[],
  load: (name: string) => Promise<Pick<BuildTarget, "deps">> = loadTarget,
): Promise<string[]> {
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = async (name: string, path: string[]): Promise<void> => {
    if (order.includes(name)) return;
    if (visiting.has(name))
      throw new UsageError(`build targets form a cycle: ${[...path, name].join(" -> ")}`);
    visiting.add(name);
    for (const dep of (await load(name)).deps) await visit(dep, [...path, name]);
    visiting.delete(name);
    order.push(name);
  };
  for (const n of names) await visit(n, []);
  return order;
}

/**
 * Builds the named targets (and their dependencies) in order. When nothing
 * needed work, says so in one line.
 */
export async function buildTargets(
  names: readonly string[],
  opts: BuildOptions,
): Promise<TargetTiming[]> {
  const order = await resolveOrder(expandNames(names));
  const timings: TargetTiming[] = [];
  for (const name of order) {
    const target = await loadTarget(name);
    const t0 = performance.now();
    const result = await target.build(opts);
    timings.push({ name, result, seconds: (performance.now() - t0) / 1000 });
  }
  if (timings.every((t) => t.result === "up-to-date")) {
    info(`build: up to date (${order.join(", ")}), nothing to do`);
  }
  return timings;
}

export function formatTimings(timings: readonly TargetTiming[]): string {
  const total = timings.reduce((s, t) => s + t.seconds, 0);
  const lines = timings.map(
    (t) => `  ${t.name.padEnd(12)} ${t.result.padEnd(10)} ${t.seconds.toFixed(1).padStart(7)} s`,
  );
  lines.push(`  ${"total".padEnd(12)} ${"".padEnd(10)} ${total.toFixed(1).padStart(7)} s`);
  return lines.join("\n");
}
