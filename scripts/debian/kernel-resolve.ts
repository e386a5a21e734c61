import { compareDebVersions, newestFirst, upstreamOf } from "./version.ts";
import { LabError } from "../lib/errors.ts";
import {
  type DebPin,
  type KernelSeries,
  type KernelSet,
  abiNumber,
  kernelPackageNames,
} from "./pins.ts";

/**
 * Which kernel the lab uses, from what apt serves (pure: the apt queries
 * are in apt-index.ts). The pinned set when the archive still serves every
 * package of it; otherwise the newest consistent set of the same series:
 * image, headers and headers-common of one ABI at one version, and the
 * series' kbuild of the same upstream release (its Debian revision may
 * differ: kbuild is rebuilt without a new ABI).
 */

/** What apt's index says about packages: every served version, by package name. */
export type Served = ReadonlyMap<string, readonly DebPin[]>;

export interface KernelResolution {
  /** "pinned": vm/pins.json as it is; "archive": a newer set, the pins no longer served. */
  source: "pinned" | "archive";
  set: KernelSet;
  /** The pinned packages the archive no longer serves ("name version"). */
  gone: string[];
}

function served(s: Served, name: string, version: string): DebPin | undefined {
  return s.get(name)?.find((p) => p.version === version);
}

/** The set of one ABI at one image version, if every package of it is served. */
function setFor(
  series: KernelSeries,
  s: Served,
  abi: number,
  version: string,
): DebPin[] | undefined {
  const [image, headers, common, kbuild] = kernelPackageNames(series, abi) as [
    string,
    string,
    string,
    string,
  ];
  const out: DebPin[] = [];
  for (const name of [image, headers, common]) {
    const p = served(s, name, version);
    if (!p) return undefined;
    out.push(p);
  }
  const up = upstreamOf(version);
  const kb = newestFirst((s.get(kbuild) ?? []).map((p) => p.version)).find(
    (v) => upstreamOf(v) === up,
  );
  const k = kb === undefined ? undefined : served(s, kbuild, kb);
  if (!k) return undefined;
  out.push(k);
  return out;
}

/** The newest consistent set of the series that apt serves, or undefined. */
export function newestKernelSet(series: KernelSeries, s: Served): KernelSet | undefined {
  const abis = [...s.keys()]
    .map((n) => (n.startsWith("linux-image-") ? abiNumber(series, n.slice(12)) : undefined))
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => b - a);
  for (const abi of abis) {
    const image = kernelPackageNames(series, abi)[0] as string;
    for (const v of newestFirst((s.get(image) ?? []).map((p) => p.version))) {
      const packages = setFor(series, s, abi, v);
      if (packages) return { release: `${series.abi}-${abi}-${series.flavour}`, packages };
    }
  }
  return undefined;
}

export function resolveKernel(
  pinned: KernelSet & { series: KernelSeries },
  s: Served,
): KernelResolution {
  const gone: string[] = [];
  for (const pin of pinned.packages) {
    const p = served(s, pin.name, pin.version);
    if (!p) {
      gone.push(`${pin.name} ${pin.version}`);
      continue;
    }
    if (p.sha256 !== pin.sha256)
      throw new LabError(
        `apt serves ${pin.name} ${pin.version} with sha256 ${p.sha256}, but vm/pins.json records ${pin.sha256}`,
        1,
        "the archive changed a file under the same version: check the mirror; do not just re-pin",
      );
  }
  const set = { release: pinned.release, packages: pinned.packages };
  if (gone.length === 0) return { source: "pinned", set, gone };
  const newest = newestKernelSet(pinned.series, s);
  if (!newest) {
    const { abi, flavour } = pinned.series;
    throw new LabError(
      `apt serves no complete kernel of the series linux-image-${abi}-N-${flavour} ` +
        `(image, headers, headers-common of one version, and ${pinned.series.kbuild} of the same release); ` +
        `the pinned ${pinned.release} is gone (${gone.join(", ")})`,
      1,
      "run `apt-get update`; if the Debian release has moved past this series, set a new " +
        "kernel.series in vm/pins.json and run `npx lab pins update`",
    );
  }
  return { source: "archive", set: newest, gone };
}

/** One line naming the old and new versions, for the notice when the pins moved. */
export function describeChange(from: KernelSet, to: KernelSet): string {
  const ver = (set: KernelSet) =>
    [...new Set(set.packages.map((p) => p.version))].sort(compareDebVersions).join("/");
  return `${from.release} (${ver(from)}) -> ${to.release} (${ver(to)})`;
}
