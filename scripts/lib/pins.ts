import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LabError } from "./errors.ts";
import { repoRoot } from "./paths.ts";

/**
 * The pinned inputs of the guest (vm/pins.json): the Debian kernel packages,
 * each with its exact version and sha256. Changing a pin changes the cache
 * keys of everything built from it, so `lab build` rebuilds those.
 */
export interface DebPin {
  name: string;
  version: string;
  arch: string;
  sha256: string;
}

export interface Pins {
  kernel: { release: string; packages: DebPin[] };
}

export const pinsFile = join(repoRoot, "vm", "pins.json");

const fail = (what: string): never => {
  throw new LabError(`vm/pins.json: ${what}`);
};

function str(o: Record<string, unknown>, key: string, where: string, re?: RegExp): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") return fail(`${where}.${key} must be a non-empty string`);
  if (re && !re.test(v)) return fail(`${where}.${key} '${v}' does not match ${re}`);
  return v;
}

function obj(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return fail(`${where} must be an object`);
  return v as Record<string, unknown>;
}

/** Parses and validates the pin file's text (pure; throws LabError on a bad file). */
export function parsePins(text: string): Pins {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  const kernel = obj(obj(raw, "top level").kernel, "kernel");
  const release = str(kernel, "release", "kernel", /^[0-9][\w.+-]*$/);
  if (!Array.isArray(kernel.packages) || kernel.packages.length === 0)
    return fail("kernel.packages must be a non-empty array");
  const packages = kernel.packages.map((p, i): DebPin => {
    const where = `kernel.packages[${i}]`;
    const o = obj(p, where);
    return {
      name: str(o, "name", where, /^[a-z0-9][a-z0-9.+-]+$/),
      version: str(o, "version", where, /^[\w.+~:-]+$/),
      arch: str(o, "arch", where, /^(all|amd64)$/),
      sha256: str(o, "sha256", where, /^[0-9a-f]{64}$/),
    };
  });
  const names = packages.map((p) => p.name);
  if (new Set(names).size !== names.length) fail("kernel.packages lists a package twice");
  if (!names.includes(`linux-image-${release}`))
    fail(`kernel.packages must include linux-image-${release}`);
  return { kernel: { release, packages } };
}

let cached: Pins | undefined;

/** The repository's pins (read once per process). */
export function loadPins(): Pins {
  cached ??= parsePins(readFileSync(pinsFile, "utf8"));
  return cached;
}

/** The file name `apt-get download` gives a package (an epoch's ':' becomes %3a). */
export function debFileName(p: DebPin): string {
  return `${p.name}_${p.version.replace(/:/g, "%3a")}_${p.arch}.deb`;
}
