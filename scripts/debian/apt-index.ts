import { LabError } from "../lib/errors.ts";
import type { Served } from "./kernel-resolve.ts";
import { type DebPin, type KernelSeries, abiNumber, kernelPackageNames } from "./pins.ts";

/**
 * What apt's package index serves, read with apt-cache (no download): each
 * version's architecture and the SHA256 the signed index records for its
 * file. Records without a Filename (dpkg's status of an installed package)
 * are not served by any archive and are left out.
 */

/** Parses `apt-cache show` output (deb822 stanzas) into served .debs (pure). */
export function parseAptRecords(text: string): DebPin[] {
  const out: DebPin[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>();
    for (const line of stanza.split("\n")) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m?.[1]) f.set(m[1].toLowerCase(), (m[2] ?? "").trim());
    }
    const [name, version, arch, sha256] = ["package", "version", "architecture", "sha256"].map(
      (k) => f.get(k),
    );
    if (!name || !version || !arch || !sha256 || !f.get("filename")) continue;
    if (arch !== "all" && arch !== "amd64") continue;
    if (!/^[0-9a-f]{64}$/.test(sha256)) continue;
    out.push({ name, version, arch, sha256 });
  }
  return out;
}

/** Groups records by package name (pure). */
export function byName(records: readonly DebPin[]): Map<string, DebPin[]> {
  const m = new Map<string, DebPin[]>();
  for (const r of records) {
    const list = m.get(r.name) ?? [];
    if (!list.some((x) => x.version === r.version && x.arch === r.arch)) list.push(r);
    m.set(r.name, list);
  }
  return m;
}

async function aptCache(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { sh } = await import("../lib/sh.ts");
  const r = await sh({ nothrow: true })`apt-cache ${args}`;
  if (r.exitCode === 127)
    throw new LabError("cannot run apt-cache", 1, "this lab needs Debian's apt");
  return { code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Every served version of the named packages (names apt does not know are absent). */
export async function servedPackages(names: readonly string[]): Promise<Served> {
  if (names.length === 0) return new Map();
  // apt-cache exits 100 when one name is unknown, but still prints the others.
  const r = await aptCache(["show", ...names]);
  return byName(parseAptRecords(r.stdout));
}

/** Every served package of a kernel series: each ABI's image, headers, common, and kbuild. */
export async function servedKernelSeries(series: KernelSeries): Promise<Served> {
  const r = await aptCache(["pkgnames", `linux-image-${series.abi}-`]);
  const abis = r.stdout
    .split("\n")
    .map((n) => abiNumber(series, n.trim().slice("linux-image-".length)))
    .filter((n): n is number => n !== undefined);
  const names = new Set<string>([series.kbuild]);
  for (const abi of abis) for (const n of kernelPackageNames(series, abi)) names.add(n);
  return servedPackages([...names]);
}

/** Whether apt has any package index (a machine that never ran `apt-get update` has none). */
export async function aptHasIndex(): Promise<boolean> {
  const { readdir } = await import("node:fs/promises");
  const lists = await readdir("/var/lib/apt/lists").catch(() => [] as string[]);
  return lists.some((n) => /_Packages(\.[a-z0-9]+)?$/.test(n));
}
