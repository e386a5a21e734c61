import { existsSync } from "node:fs";
import { copyFile, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { ensureDebSrc } from "../../debian/debsrc.ts";
import { freshDir, hashKey, readStamp, writeStamp } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { step } from "../../lib/log.ts";
import { recipe, sh } from "../../lib/sh.ts";

/**
 * Every package source of the Buildroot guest, from Debian (offline: apt
 * only). Buildroot would download its own tarballs; here each comes from
 * `apt-get source` (an unpacked tree with Debian's patches, given to
 * Buildroot as `<PKG>_OVERRIDE_SRCDIR`, which skips the download and the
 * hash check), from an orig tarball byte-identical to upstream (into
 * BR2_DL_DIR, where Buildroot's own hash file checks it), or from Debian's
 * binary package (fakeroot, whose source the mirror did not serve).
 * vm/buildroot/README.md lists them; keep the two in step.
 */

/** Source trees handed to Buildroot through `<PKG>_OVERRIDE_SRCDIR`. */
export const overrideSources = [
  { source: "busybox", pkg: "BUSYBOX", use: "the guest's busybox (Debian's static config)" },
  {
    source: "tar",
    pkg: "HOST_TAR",
    use: "host-tar (Buildroot wants tar >= 1.35; Debian 12 has 1.34)",
  },
  { source: "m4", pkg: "HOST_M4", use: "host-m4, for host-autoconf" },
  { source: "libtool", pkg: "HOST_LIBTOOL", use: "host-libtool, to autoreconf patchelf" },
  { source: "autoconf", pkg: "HOST_AUTOCONF", use: "host-autoconf, to autoreconf patchelf" },
  {
    source: "patchelf",
    pkg: "HOST_PATCHELF",
    use: "host-patchelf (target-finalize's RPATH fixes)",
  },
] as const;

/** Orig tarballs byte-identical to upstream, copied into BR2_DL_DIR under Buildroot's name. */
export const origTarballs = [
  {
    source: "automake-1.16",
    orig: /^automake-1\.16_(1\.16\.5)\.orig\.tar\.xz$/,
    dl: "automake/automake-1.16.5.tar.xz",
    use: "host-automake (Buildroot's hash file checks it)",
  },
] as const;

/** Binary packages unpacked for a host tool (HOST_FAKEROOT_OVERRIDE_SRCDIR). */
export const binaryPackages = ["fakeroot", "libfakeroot"] as const;

/** Bump when the fetch/unpack recipe changes. */
const recipeVersion = "buildroot-debsrc-1";

export interface DebianInputs {
  /** `<PKG>` → the unpacked source tree. */
  overrides: Record<string, string>;
  /** The unpacked fakeroot and libfakeroot binaries. */
  fakeroot: string;
  /** Debian's busybox configuration for busybox-static (the default flavour's busybox). */
  busyboxConfig: string;
  /** BR2_DL_DIR. */
  dlDir: string;
  /** Every Debian package used, with its version ("busybox 1:1.35.0-4+deb12u1"). */
  versions: string[];
}

/** Version of a source package from its .dsc file name (epoch not in file names). */
function dscVersions(names: readonly string[]): string[] {
  return names
    .filter((n) => n.endsWith(".dsc") || n.endsWith(".deb"))
    .map((n) => n.replace(/\.(dsc|deb)$/, "").replace(/_amd64$|_all$/, ""))
    .sort();
}

/**
 * Gives a newly unpacked tree one uniform timestamp. Debian's patches touch
 * configure.ac and Makefile.am after the generated files were made, so make
 * would try to rerun autoconf/automake (absent, or the wrong version); with
 * equal times nothing looks stale.
 */
async function settleTimestamps(dir: string): Promise<void> {
  await sh()`find ${dir} -exec touch -h -d @1700000000 {} +`;
}

/** Fetches (once; cached by the list of packages) and returns the inputs. */
export async function debianInputs(root: string): Promise<DebianInputs> {
  const dir = join(root, "debsrc");
  const dlDir = join(root, "dl");
  const key = hashKey([
    recipeVersion,
    ...overrideSources.map((s) => s.source),
    ...origTarballs.map((o) => o.source),
    ...binaryPackages,
  ]);
  if ((await readStamp(dir)) !== key) {
    await ensureDebSrc("busybox");
    await step("fetching Debian sources for Buildroot (apt-get source)", async (progress) => {
      const tmp = await freshDir(`${dir}.${process.pid}.tmp`);
      for (const s of overrideSources) {
        progress(s.source);
        await recipe(
          `apt-get source ${s.source}`,
          () => sh({ cwd: tmp })`apt-get source -qq --only-source ${s.source}`,
        );
      }
      for (const o of origTarballs) {
        progress(o.source);
        await recipe(
          `apt-get source --download-only ${o.source}`,
          () => sh({ cwd: tmp })`apt-get source -qq --download-only --only-source ${o.source}`,
        );
      }
      progress(binaryPackages.join(" "));
      await recipe(
        `apt-get download ${binaryPackages.join(" ")}`,
        () => sh({ cwd: tmp })`apt-get download -qq ${binaryPackages}`,
      );
      const fake = join(tmp, "fakeroot-bin");
      await mkdir(fake);
      for (const n of await readdir(tmp))
        if (n.endsWith(".deb")) await sh()`dpkg -x ${join(tmp, n)} ${fake}`;
      for (const e of await readdir(tmp, { withFileTypes: true }))
        if (e.isDirectory() && e.name !== "fakeroot-bin") await settleTimestamps(join(tmp, e.name));
      await writeStamp(tmp, key);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir);
    });
  }
  const names = await readdir(dir);
  const treeOf = (source: string): string => {
    const t = names.find((n) => n.startsWith(`${source}-`) && !n.includes("_"));
    if (!t) throw new LabError(`no unpacked ${source} source in ${dir}`, 1, "lab clean buildroot");
    return join(dir, t);
  };
  const overrides: Record<string, string> = {};
  for (const s of overrideSources) overrides[s.pkg] = treeOf(s.source);
  for (const o of origTarballs) {
    const f = names.find((n) => o.orig.test(n));
    if (!f) throw new LabError(`no ${o.source} orig tarball in ${dir}`, 1, "lab clean buildroot");
    const dest = join(dlDir, o.dl);
    if (!existsSync(dest)) {
      await mkdir(join(dest, ".."), { recursive: true });
      await copyFile(join(dir, f), dest);
    }
  }
  const busyboxConfig = join(overrides.BUSYBOX as string, "debian", "config", "pkg", "static");
  if (!existsSync(busyboxConfig))
    throw new LabError(`Debian's busybox source has no ${busyboxConfig}`);
  return {
    overrides,
    fakeroot: join(dir, "fakeroot-bin"),
    busyboxConfig,
    dlDir,
    versions: dscVersions(names),
  };
}
