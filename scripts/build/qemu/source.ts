import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDebSrc } from "../../debian/debsrc.ts";
import { newestFirst, parseDebVersion } from "../../debian/version.ts";
import { LabError } from "../../lib/errors.ts";
import { debug, step, warn } from "../../lib/log.ts";
import { cachePath } from "../../lib/paths.ts";
import { recipe, sh } from "../../lib/sh.ts";
import { loadPins } from "../../debian/pins.ts";

/**
 * The QEMU source: Debian 12's `qemu` source package (vm/pins.json), with
 * Debian's patches applied by dpkg-source. The tested version is taken
 * first; if the archive no longer serves it (a later security update
 * replaced it), the newest version of the same upstream series (7.2.x) is
 * taken with a warning, since the patch is checked against that tree by the
 * tests anyway.
 */
export const qemuSourcePin = loadPins().qemu;

/** Whether a Debian version of the source is of the pinned upstream series (pure). */
export function inQemuSeries(version: string, series = qemuSourcePin.series): boolean {
  const up = parseDebVersion(version).upstream;
  return up === series || up.startsWith(`${series}+`) || up.startsWith(`${series}.`);
}

/** Pristine extracted tree (never modified; patches are checked against it). */
export const qemuPristineDir = (): string => cachePath("qemu", "pristine");
/** Records which Debian version the pristine tree is. */
const pristineStamp = (): string => cachePath("qemu", "pristine.version");
const downloadDir = (): string => cachePath("qemu", "dl");

/** The Debian version of the pristine tree in the cache, if complete. */
export async function pristineVersion(): Promise<string | undefined> {
  try {
    const v = (await readFile(pristineStamp(), "utf8")).trim();
    return existsSync(join(qemuPristineDir(), "VERSION")) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Source versions apt offers for the package, newest first as apt lists them. */
async function availableVersions(): Promise<string[]> {
  const r = await sh({ nothrow: true })`apt-cache showsrc --only-source ${qemuSourcePin.source}`;
  return [...r.stdout.matchAll(/^Version:\s*(\S+)$/gm)].flatMap((m) => (m[1] ? [m[1]] : []));
}

async function chooseVersion(): Promise<string> {
  const all = await availableVersions();
  if (all.includes(qemuSourcePin.version)) return qemuSourcePin.version;
  const newest = newestFirst(all.filter((v) => inQemuSeries(v)))[0];
  if (newest === undefined)
    throw new LabError(
      `apt offers no qemu ${qemuSourcePin.series} source (has: ${all.join(", ") || "none"})`,
      1,
      `this lab pins Debian 12's QEMU ${qemuSourcePin.series}; run it on Debian 12 (bookworm)`,
    );
  warn(`qemu source ${qemuSourcePin.version} is gone from the archive; using ${newest}`);
  return newest;
}

/**
 * Makes sure the pristine Debian QEMU tree is in the cache: adds deb-src
 * when needed, `apt-get source --download-only`, `dpkg-source -x`, checks
 * the upstream version. Returns the Debian version of the tree.
 */
export async function ensureQemuSource(): Promise<string> {
  const have = await pristineVersion();
  if (have === qemuSourcePin.version) return have;
  await ensureDebSrc(qemuSourcePin.source);
  const version = await chooseVersion();
  if (have === version) return have;
  return step(`fetching QEMU source ${version}`, async (progress) => {
    const dl = downloadDir();
    await rm(dl, { recursive: true, force: true });
    await mkdir(dl, { recursive: true });
    progress("apt-get source --download-only");
    const spec = `${qemuSourcePin.source}=${version}`;
    const r = await sh({ cwd: dl, nothrow: true })`apt-get source --download-only -q ${spec}`;
    if (r.exitCode !== 0)
      throw new LabError(
        `apt-get source ${spec} failed: ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`,
      );
    const dsc = (await readdir(dl)).find((f) => f.endsWith(".dsc"));
    if (!dsc) throw new LabError(`apt-get source ${spec} left no .dsc in ${dl}`);
    progress("dpkg-source -x");
    const tmp = cachePath("qemu", "pristine.tmp");
    await rm(tmp, { recursive: true, force: true });
    await recipe("dpkg-source -x", () => sh({ cwd: dl })`dpkg-source -x --no-copy ${dsc} ${tmp}`);
    const upstream = (await readFile(join(tmp, "VERSION"), "utf8")).trim();
    if (!upstream.startsWith(`${qemuSourcePin.series}.`))
      throw new LabError(
        `qemu source ${version} is upstream ${upstream}, expected ${qemuSourcePin.series}.x`,
      );
    await rm(pristineStamp(), { force: true });
    await rm(qemuPristineDir(), { recursive: true, force: true });
    await rename(tmp, qemuPristineDir());
    await writeFile(pristineStamp(), `${version}\n`);
    debug(`pristine QEMU ${upstream} (${version}) at ${qemuPristineDir()}`);
    return version;
  });
}
