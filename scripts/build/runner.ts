import type { BuildOptions, BuildTarget } from "./target.ts";
import { ensurePackages } from "../debian/apt.ts";
import { UsageError } from "../lib/errors.ts";
import { info } from "../lib/log.ts";
import { aliases, loadTarget, optionalTargetNames, targetNames } from "./targets.ts";

export interface TargetTiming {
  name: string;
  result: "built" | "up-to-date";
  /** When the target started, in seconds since the build began. */
  start: number;
  seconds: number;
}

/** Expands aliases ("guest", "all") and checks every name is a target. */
export function expandNames(names: readonly string[]): string[] {
  const known = new Set<string>([...targetNames, ...optionalTargetNames]);
  const out: string[] = [];
  for (const n of names.length ? names : ["all"]) {
    const list = aliases[n] ?? [n];
    for (const t of list) {
      if (!known.has(t)) {
        const all = [...targetNames, ...optionalTargetNames, ...Object.keys(aliases)].join(", ");
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
 * Builds the named targets and their dependencies, each as soon as what it
 * depends on is built, independent ones at the same time (QEMU's long
 * compile overlaps the kernel download, the initramfs, the driver...).
 * When one fails, the others running are let finish, then the first error
 * is thrown. Timings come in `resolveOrder`'s order. When nothing needed
 * work, says so in one line.
 */
export async function buildTargets(
  names: readonly string[],
  opts: BuildOptions,
  load: (name: string) => Promise<BuildTarget> = loadTarget,
): Promise<TargetTiming[]> {
  const order = await resolveOrder(expandNames(names), load);
  const targets = new Map(await Promise.all(order.map(async (n) => [n, await load(n)] as const)));
  // Every target's Debian packages in one apt-get run, before any starts.
  const groups = new Set([...targets.values()].flatMap((t) => t.packages ?? []));
  if (groups.size) await ensurePackages(...groups);
  const done = new Map<string, Promise<TargetTiming>>();
  let failed = false;
  const began = performance.now();
  const run = (name: string): Promise<TargetTiming> => {
    let p = done.get(name);
    if (p) return p;
    const target = targets.get(name) as BuildTarget;
    p = (async () => {
      await Promise.all(target.deps.map(run));
      if (failed) throw new SkippedError(name);
      const t0 = performance.now();
      try {
        const result = await target.build(opts);
        const seconds = (performance.now() - t0) / 1000;
        return { name, result, start: (t0 - began) / 1000, seconds };
      } catch (e) {
        failed = true;
        throw e;
      }
    })();
    done.set(name, p);
    return p;
  };
  const settled = await Promise.allSettled(order.map(run));
  const firstError = settled.find(
    (r): r is PromiseRejectedResult =>
      r.status === "rejected" && !(r.reason instanceof SkippedError),
  );
  if (firstError) throw firstError.reason;
  const timings = settled.map((r) => (r as PromiseFulfilledResult<TargetTiming>).value);
  if (timings.every((t) => t.result === "up-to-date")) {
    info(`build: up to date (${order.join(", ")}), nothing to do`);
  }
  return timings;
}

/** A target not started because another failed first. */
class SkippedError extends Error {}

/** One line per target (start and duration: targets overlap), then the wall time. */
export function formatTimings(timings: readonly TargetTiming[]): string {
  const wall = Math.max(0, ...timings.map((t) => t.start + t.seconds));
  const f = (n: number) => n.toFixed(1).padStart(7);
  const lines = timings.map(
    (t) =>
      `  ${t.name.padEnd(12)} ${t.result.padEnd(10)} ${f(t.seconds)} s  (from ${f(t.start)} s)`,
  );
  lines.push(`  ${"wall".padEnd(12)} ${"".padEnd(10)} ${f(wall)} s`);
  return lines.join("\n");
}
