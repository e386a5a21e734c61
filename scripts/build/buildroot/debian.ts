import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDebSrc } from "../../debian/debsrc.ts";
import { freshDir } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { step } from "../../lib/log.ts";
import { recipe, sh } from "../../lib/sh.ts";

/**
 * Every package of the Buildroot guest not in this repository comes from
 * Debian (offline: apt only). Buildroot would download its own tarballs;
 * here the target's busybox comes from `apt-get source` (an
 * unpacked tree with Debian's patches, given to Buildroot as
 * `<PKG>_OVERRIDE_SRCDIR`, which skips the download, the hash check and
 * Buildroot's patches), and the host tools Buildroot only runs from
 * Debian's binary packages. Each is fetched once into the cache.
 * vm/buildroot/README.md lists them; keep the two in step.
 */

/** Source trees handed to Buildroot through `<PKG>_OVERRIDE_SRCDIR`. */
export const overrideSources = [
  { source: "busybox", pkg: "BUSYBOX", use: "the guest's busybox (Debian's static config)" },
] as const;

/**
 * Binary packages for host tools Buildroot only runs (unpacked, installed
 * by the override file's commands): fakeroot (the mirror served no fakeroot
 * source) and patchelf (its source build needs autoreconf, i.e. host m4,
 * autoconf, automake and libtool built first: four source builds for one
 * tool Buildroot runs on its own output).
 */
export const binaryPackages = ["fakeroot", "libfakeroot", "patchelf"] as const;

/** Bump when the fetch/unpack recipe changes. */
const recipeVersion = "buildroot-debsrc-3";

export interface DebianInputs {
  /** `<PKG>` → the unpacked source tree. */
  overrides: Record<string, string>;
  /** Each binary package (fakeroot, libfakeroot, patchelf) → where it is unpacked. */
  binaries: Record<string, string>;
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

/** Fetches what is missing (each package once) and returns the inputs. */
export async function debianInputs(root: string): Promise<DebianInputs> {
  const dir = join(root, "debsrc");
  const dlDir = join(root, "dl");
  await mkdir(dir, { recursive: true });
  const done = (name: string) => join(dir, `.done-${name}`);
  const todo = [...overrideSources.map((s) => s.source), ...binaryPackages].filter(
    (n) => !existsSync(done(n)),
  );
  if (todo.length) {
    await ensureDebSrc("busybox");
    await step(`fetching Debian packages for Buildroot (${todo.join(" ")})`, async (progress) => {
      for (const s of overrideSources) {
        if (existsSync(done(s.source))) continue;
        progress(s.source);
        const tmp = await freshDir(join(dir, `${s.source}.${process.pid}.tmp`));
        await recipe(
          `apt-get source ${s.source}`,
          () => sh({ cwd: tmp })`apt-get source -qq --only-source ${s.source}`,
        );
        for (const e of await readdir(tmp, { withFileTypes: true })) {
          if (e.isDirectory()) await settleTimestamps(join(tmp, e.name));
          await rm(join(dir, e.name), { recursive: true, force: true });
          await rename(join(tmp, e.name), join(dir, e.name));
        }
        await rm(tmp, { recursive: true, force: true });
        await writeFile(done(s.source), "");
      }
      for (const b of binaryPackages) {
        if (existsSync(done(b))) continue;
        progress(b);
        await recipe(`apt-get download ${b}`, () => sh({ cwd: dir })`apt-get download -qq ${b}`);
        const deb = (await readdir(dir)).find((n) => n.startsWith(`${b}_`) && n.endsWith(".deb"));
        if (!deb) throw new LabError(`apt-get download ${b} left no .deb in ${dir}`);
        await sh()`dpkg -x ${join(dir, deb)} ${join(dir, "bin-" + b)}`;
        await writeFile(done(b), "");
      }
    });
  }
  const names = await readdir(dir);
  const treeOf = (source: string): string => {
    const t = names.find((n) => n.startsWith(`${source}-`) && !n.includes("_"));
    if (!t)
      throw new LabError(`no unpacked ${source} source in ${dir}`, 1, "lab clean rootfs-buildroot");
    return join(dir, t);
  };
  const overrides: Record<string, string> = {};
  for (const s of overrideSources) overrides[s.pkg] = treeOf(s.source);
  const busyboxConfig = join(overrides.BUSYBOX as string, "debian", "config", "pkg", "static");
  if (!existsSync(busyboxConfig))
    throw new LabError(`Debian's busybox source has no ${busyboxConfig}`);
  await mkdir(dlDir, { recursive: true });
  return {
    overrides,
    binaries: Object.fromEntries(binaryPackages.map((b) => [b, join(dir, `bin-${b}`)])),
    busyboxConfig,
    dlDir,
    versions: [recipeVersion, ...dscVersions(names)],
  };
}
