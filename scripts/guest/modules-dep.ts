import { basename } from "node:path";
import { LabError } from "../lib/errors.ts";

/**
 * Kernel module dependencies from depmod's modules.dep (pure: text in,
 * load order out). A line is `path/to/mod.ko[.xz|.zst|.gz]: dep1.ko dep2.ko`.
 */
export type ModulesDep = Map<string, string[]>;

export function parseModulesDep(text: string): ModulesDep {
  const map: ModulesDep = new Map();
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new LabError(`modules.dep line ${i + 1}: no 'module:' prefix`);
    const deps = line.slice(colon + 1).trim();
    map.set(line.slice(0, colon), deps ? deps.split(/\s+/) : []);
  }
  return map;
}

/** A module's name as modprobe sees it: file name without .ko*, '-' as '_'. */
export function moduleName(path: string): string {
  return basename(path)
    .replace(/\.ko(\.(xz|zst|gz))?$/, "")
    .replace(/-/g, "_");
}

/**
 * The files to load for `names`, each after all it depends on (depth first,
 * in the order asked). Unknown names and dependency cycles are errors.
 */
export function resolveModules(dep: ModulesDep, names: readonly string[]): string[] {
  const byName = new Map<string, string>();
  for (const path of dep.keys()) byName.set(moduleName(path), path);
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (path: string, chain: string[]): void => {
    if (order.includes(path)) return;
    if (visiting.has(path))
      throw new LabError(
        `module dependency cycle: ${[...chain, path].map(moduleName).join(" -> ")}`,
      );
    const deps = dep.get(path);
    if (!deps)
      throw new LabError(`modules.dep: ${moduleName(chain.at(-1) ?? "")} needs unknown ${path}`);
    visiting.add(path);
    for (const d of deps) visit(d, [...chain, path]);
    visiting.delete(path);
    order.push(path);
  };
  for (const n of names) {
    const path = byName.get(n.replace(/-/g, "_"));
    if (!path) throw new LabError(`kernel module '${n}' is not in modules.dep`);
    visit(path, []);
  }
  return order;
}

/**
 * Groups a load order into levels: a module's level is one more than the
 * highest level of its dependencies, so each level can load in parallel.
 */
export function loadLevels(dep: ModulesDep, order: readonly string[]): string[][] {
  const level = new Map<string, number>();
  const levels: string[][] = [];
  for (const path of order) {
    const l = Math.max(-1, ...(dep.get(path) ?? []).map((d) => level.get(d) ?? -1)) + 1;
    level.set(path, l);
    (levels[l] ??= []).push(path);
  }
  return levels;
}
