import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { ensureDebSrc } from "./qemu-debsrc.ts";
import { LabError } from "./errors.ts";
import { debug, step, warn } from "./log.ts";
import { cachePath } from "./paths.ts";

/**
 * The pinned QEMU source: Debian 12's `qemu` source package, with Debian's
 * patches applied by dpkg-source. The Debian revision is pinned; if the
 * archive no longer serves it (a later security update replaced it), the
 * newest revision of the same upstream release is taken with a warning,
 * since the patch is checked against that tree by the tests anyway.
 */
export const qemuSourcePin = {
  package: "qemu",
  /** Debian version (epoch:upstream-revision). */
  version: "1:7.2+dfsg-7+deb12u18",
  /** What the tree's VERSION file must say. */
  upstream: "7.2.22",
} as const;

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
  const r = await execa("apt-cache", ["showsrc", "--only-source", qemuSourcePin.package], {
    reject: false,
  });
  return [...r.stdout.matchAll(/^Version:\s*(\S+)$/gm)].flatMap((m) => (m[1] ? [m[1]] : []));
}

/** Sorts Debian versions newest first (dpkg's own comparison). */
async function newestFirst(versions: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const v of versions) {
    let i = 0;
    for (; i < out.length; i++) {
      const r = await execa("dpkg", ["--compare-versions", v, "gt", out[i] ?? ""], {
        reject: false,
      });
      if (r.exitCode === 0) break;
    }
    out.splice(i, 0, v);
  }
  return out;
}

async function chooseVersion(): Promise<string> {
  const all = await availableVersions();
  if (all.includes(qemuSourcePin.version)) return qemuSourcePin.version;
  const same = await newestFirst(all.filter((v) => v.startsWith("1:7.2+dfsg-")));
  const newest = same[0];
  if (newest === undefined)
    throw new LabError(
      `apt offers no qemu 7.2 source (has: ${all.join(", ") || "none"})`,
      1,
      "this lab pins Debian 12's QEMU 7.2; run it on Debian 12 (bookworm)",
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
  await ensureDebSrc(qemuSourcePin.package);
  const version = await chooseVersion();
  if (have === version) return have;
  return step(`fetching QEMU source ${version}`, async (progress) => {
    const dl = downloadDir();
    await rm(dl, { recursive: true, force: true });
    await mkdir(dl, { recursive: true });
    progress("apt-get source --download-only");
    const spec = `${qemuSourcePin.package}=${version}`;
    const r = await execa("apt-get", ["source", "--download-only", "-q", spec], {
      cwd: dl,
      reject: false,
    });
    if (r.exitCode !== 0)
      throw new LabError(
        `apt-get source ${spec} failed: ${(r.stderr || r.stdout).trim().split("\n").pop() ?? ""}`,
      );
    const dsc = (await readdir(dl)).find((f) => f.endsWith(".dsc"));
    if (!dsc) throw new LabError(`apt-get source ${spec} left no .dsc in ${dl}`);
    progress("dpkg-source -x");
    const tmp = cachePath("qemu", "pristine.tmp");
    await rm(tmp, { recursive: true, force: true });
    await execa("dpkg-source", ["-x", "--no-copy", dsc, tmp], { cwd: dl });
    const upstream = (await readFile(join(tmp, "VERSION"), "utf8")).trim();
    if (upstream !== qemuSourcePin.upstream)
      throw new LabError(
        `qemu source ${version} is upstream ${upstream}, expected ${qemuSourcePin.upstream}`,
      );
    await rm(pristineStamp(), { force: true });
    await rm(qemuPristineDir(), { recursive: true, force: true });
    await execa("mv", [tmp, qemuPristineDir()]);
    await writeFile(pristineStamp(), `${version}\n`);
    debug(`pristine QEMU ${upstream} (${version}) at ${qemuPristineDir()}`);
    return version;
  });
}
