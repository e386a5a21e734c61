import { existsSync, lstatSync, statSync } from "node:fs";
import { chmod, cp, mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { freshDir, hashKey, readStamp, writeStamp } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { step } from "../../lib/log.ts";
import { sh } from "../../lib/sh.ts";

/**
 * Buildroot's external toolchain, made from Debian's gcc-12 and binutils
 * (Buildroot cannot download one offline): "custom, pre-installed",
 * prefix `x86_64-linux-gnu`, with a clean sysroot. The sysroot holds the
 * files of the installed glibc/kernel-headers/libgcc/libcrypt/libgomp
 * packages (`dpkg -L`), so the guest's glibc is byte-identical to the
 * host's, which the node image (host node + host libraries) relies on.
 *
 * `--sysroot` alone is not enough: gcc still finds the host's crt files and
 * libraries through paths relative to its own location. The wrapper points
 * GCC_EXEC_PREFIX at a folder that does not exist and gives `-B` a folder
 * of links to gcc's own files (cc1, collect2, crt*, libgcc, its include/)
 * without libstdc++, libsupc++ or cc1plus: a C-only toolchain.
 */

export const toolchainPrefix = "x86_64-linux-gnu";
const gccVersion = "12";
const gccLibDir = `/usr/lib/gcc/${toolchainPrefix}/${gccVersion}`;

/** The Debian packages whose installed files make the sysroot. */
export const sysrootPackages = [
  "libc6",
  "libc6-dev",
  "linux-libc-dev",
  "libgcc-s1",
  "libcrypt1",
  "libcrypt-dev",
  "libgomp1",
] as const;

/** binutils linked as they are; gcc-ar/nm/ranlib from gcc-12. */
const binutils = [
  "addr2line",
  "ar",
  "as",
  "c++filt",
  "elfedit",
  "gprof",
  "ld",
  "ld.bfd",
  "nm",
  "objcopy",
  "objdump",
  "ranlib",
  "readelf",
  "size",
  "strings",
  "strip",
];

const recipeVersion = "buildroot-toolchain-1";

/** "libc6 2.36-9+deb12u14" for each package, and the gcc-12 and binutils versions. */
async function installedVersions(): Promise<string[]> {
  const names = [...sysrootPackages, "gcc-12", "binutils-x86-64-linux-gnu"];
  const format = "${Package} ${Version} ${db:Status-Status}\n";
  const r = await sh({ nothrow: true })`dpkg-query -W -f=${format} ${names}`;
  const lines = r.stdout.split("\n").filter((l) => l.endsWith(" installed"));
  const found = new Set(lines.map((l) => l.split(" ")[0]));
  const missing = names.filter((n) => !found.has(n));
  if (missing.length)
    throw new LabError(`the toolchain needs Debian packages not installed: ${missing.join(" ")}`);
  return lines.map((l) => l.replace(/ installed$/, "")).sort();
}

function wrapper(tool: string, dir: string): string {
  return `#!/bin/sh
# Debian's ${tool}-${gccVersion} confined to the lab's sysroot (written by lab build rootfs-buildroot).
GCC_EXEC_PREFIX=${dir}/no-such-prefix/ exec /usr/bin/${toolchainPrefix}-${tool}-${gccVersion} -B${dir}/gcc/ --sysroot=${dir}/sysroot "$@"
`;
}

/** Copies the files (not folders) a package installed into `sysroot`, links kept as links. */
async function copyPackageFiles(pkg: string, sysroot: string): Promise<number> {
  const { stdout } = await sh()`dpkg -L ${pkg}`;
  let n = 0;
  for (const f of stdout.split("\n")) {
    if (!f.startsWith("/") || f.startsWith("/etc/") || f.startsWith("/usr/share/")) continue;
    let st;
    try {
      st = lstatSync(f);
    } catch {
      continue;
    }
    // Folders (and merged-/usr links to folders) are made as needed.
    if (st.isDirectory() || (st.isSymbolicLink() && existsSync(f) && statSync(f).isDirectory()))
      continue;
    const dest = join(sysroot, f);
    await mkdir(dirname(dest), { recursive: true });
    await cp(f, dest, { verbatimSymlinks: true, preserveTimestamps: true, force: true });
    n++;
  }
  return n;
}

/** The toolchain folder (BR2_TOOLCHAIN_EXTERNAL_PATH), made once per set of versions. */
export async function labToolchain(root: string): Promise<{ path: string; versions: string[] }> {
  const dir = join(root, "toolchain");
  const versions = await installedVersions();
  const key = hashKey([recipeVersion, ...versions]);
  if ((await readStamp(dir)) === key) return { path: dir, versions };
  await step("making the external toolchain (Debian gcc-12, clean sysroot)", async () => {
    // Built in place of its final path: the wrappers name it.
    const tmp = `${dir}.${process.pid}.tmp`;
    await freshDir(tmp);
    await rm(dir, { recursive: true, force: true });
    await mkdir(join(tmp, "bin"));
    await mkdir(join(tmp, "gcc"));
    for (const pkg of sysrootPackages) await copyPackageFiles(pkg, join(tmp, "sysroot"));
    for (const f of await readdir(gccLibDir)) {
      if (/^(libstdc\+\+|libsupc\+\+|cc1plus$|g\+\+-mapper-server$)/.test(f)) continue;
      await symlink(join(gccLibDir, f), join(tmp, "gcc", f));
    }
    const bin = (t: string) => join(tmp, "bin", `${toolchainPrefix}-${t}`);
    for (const t of binutils) await symlink(`/usr/bin/${toolchainPrefix}-${t}`, bin(t));
    for (const t of ["gcc-ar", "gcc-nm", "gcc-ranlib"])
      await symlink(`/usr/bin/${toolchainPrefix}-${t}-${gccVersion}`, bin(t));
    for (const t of ["gcc", "cpp"]) {
      await writeFile(bin(t), wrapper(t, dir));
      await chmod(bin(t), 0o755);
    }
    await writeStamp(tmp, key);
    await rename(tmp, dir);
  });
  return { path: dir, versions };
}
