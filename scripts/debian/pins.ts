import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LabError } from "../lib/errors.ts";
import { repoRoot } from "../lib/paths.ts";

/**
 * The Debian inputs of the lab (vm/pins.json): what was last tested, taken
 * first, and the series each may move within when the archive has moved on
 * (the security suite keeps only the newest upload of a package, and a new
 * kernel ABI removes the previous one's packages).
 */
export interface DebPin {
  name: string;
  version: string;
  arch: string;
  sha256: string;
}

/** A Debian kernel series: `linux-image-<abi>-<N>-<flavour>` for any N, plus its kbuild. */
export interface KernelSeries {
  /** e.g. "6.1.0": the ABI prefix, before the ABI number. */
  abi: string;
  /** e.g. "amd64". */
  flavour: string;
  /** e.g. "linux-kbuild-6.1" (one package for every ABI of the series). */
  kbuild: string;
}

/** One kernel: the four packages of one ABI (image, headers, headers-common, kbuild). */
export interface KernelSet {
  release: string;
  packages: DebPin[];
}

export interface Pins {
  kernel: KernelSet & { series: KernelSeries };
  /** The QEMU source package: the tested version, and the upstream series it may move within. */
  qemu: { source: string; version: string; series: string };
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

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The ABI number of `release` in `series` ("6.1.0-57-amd64" → 57), or undefined. */
export function abiNumber(series: KernelSeries, release: string): number | undefined {
  const m = new RegExp(`^${escapeRe(series.abi)}-(\\d+)-${escapeRe(series.flavour)}$`).exec(
    release,
  );
  return m?.[1] ? Number(m[1]) : undefined;
}

/** The four package names of one ABI of the series. */
export function kernelPackageNames(series: KernelSeries, abi: number): string[] {
  const base = `${series.abi}-${abi}`;
  return [
    `linux-image-${base}-${series.flavour}`,
    `linux-headers-${base}-${series.flavour}`,
    `linux-headers-${base}-common`,
    series.kbuild,
  ];
}

export function parsePackages(list: unknown, where: string): DebPin[] {
  if (!Array.isArray(list) || list.length === 0) return fail(`${where} must be a non-empty array`);
  return list.map((p, i): DebPin => {
    const at = `${where}[${i}]`;
    const o = obj(p, at);
    return {
      name: str(o, "name", at, /^[a-z0-9][a-z0-9.+-]+$/),
      version: str(o, "version", at, /^[\w.+~:-]+$/),
      arch: str(o, "arch", at, /^(all|amd64)$/),
      sha256: str(o, "sha256", at, /^[0-9a-f]{64}$/),
    };
  });
}

/** Checks that `set` is exactly the four packages of one ABI of `series`. */
export function checkKernelSet(series: KernelSeries, set: KernelSet, where: string): void {
  const abi = abiNumber(series, set.release);
  if (abi === undefined)
    fail(`${where}.release '${set.release}' is not ${series.abi}-N-${series.flavour}`);
  const want = kernelPackageNames(series, abi as number).sort();
  const have = set.packages.map((p) => p.name).sort();
  if (JSON.stringify(want) !== JSON.stringify(have))
    fail(`${where}.packages must be ${want.join(", ")} (has ${have.join(", ")})`);
}

/** Parses and validates the pin file's text (pure; throws LabError on a bad file). */
export function parsePins(text: string): Pins {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  const top = obj(raw, "top level");
  const kernel = obj(top.kernel, "kernel");
  const s = obj(kernel.series, "kernel.series");
  const series: KernelSeries = {
    abi: str(s, "abi", "kernel.series", /^\d+\.\d+\.\d+$/),
    flavour: str(s, "flavour", "kernel.series", /^[a-z0-9-]+$/),
    kbuild: str(s, "kbuild", "kernel.series", /^linux-kbuild-\d+\.\d+$/),
  };
  const set: KernelSet = {
    release: str(kernel, "release", "kernel", /^[0-9][\w.+-]*$/),
    packages: parsePackages(kernel.packages, "kernel.packages"),
  };
  checkKernelSet(series, set, "kernel");
  const q = obj(top.qemu, "qemu");
  const qemu = {
    source: str(q, "source", "qemu", /^[a-z0-9][a-z0-9.+-]+$/),
    version: str(q, "version", "qemu", /^[\w.+~:-]+$/),
    series: str(q, "series", "qemu", /^\d+\.\d+$/),
  };
  return { kernel: { ...set, series }, qemu };
}

/** The pin file's text for `pins` (what `lab pins update` writes). */
export function formatPins(pins: Pins): string {
  const { series, release, packages } = pins.kernel;
  return JSON.stringify({ kernel: { series, release, packages }, qemu: pins.qemu }, null, 2) + "\n";
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
