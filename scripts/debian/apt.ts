import { LabError } from "../lib/errors.ts";
import { debug, step } from "../lib/log.ts";

/**
 * Debian packages each part of the lab needs on the host. One table, so
 * `lab doctor` can report them all and each build installs only its own.
 */
export const systemPackages = {
  // cpio: the unit test that lists our own cpio writer's output
  guest: [
    "busybox-static",
    "cpio",
    "dpkg-dev",
    "kmod",
    "xz-utils",
    "gcc",
    "libc6-dev",
    "squashfs-tools",
  ],
  qemu: [
    "dpkg-dev",
    "ninja-build",
    "meson",
    "pkg-config",
    "flex",
    "bison",
    "libglib2.0-dev",
    "libpixman-1-dev",
    "libfdt-dev",
    "libslirp-dev",
    "libgcrypt20-dev",
    "nettle-dev",
    "libcap-ng-dev",
    "libattr1-dev",
    "libseccomp-dev",
    "python3",
    "gcc",
    "make",
    "git",
    "patch",
    "xz-utils",
    "seabios",
    "ipxe-qemu",
    "qemu-system-data",
  ],
  driver: ["make", "gcc", "libc6-dev", "libelf-dev"],
  // the debug guest kernel, built from Debian's linux-source package
  kernelBuild: [
    "make",
    "gcc",
    "libc6-dev",
    "bc",
    "flex",
    "bison",
    "libelf-dev",
    "libssl-dev",
    "xz-utils",
    "dpkg-dev",
  ],
  // host-backend/test: clang + libFuzzer for the harness, gcc + nettle + glib
  // for the unit tests (and their fake /dev/crypto)
  fuzz: [
    "clang",
    "libclang-rt-14-dev",
    "make",
    "gcc",
    "pkg-config",
    "nettle-dev",
    "libglib2.0-dev",
  ],
  // ts-app/test: the classic-mode C client written from the seed (OpenSSL AES)
  chat: ["gcc", "libc6-dev", "libssl-dev"],
  bench: ["ngircd"],
  // the Buildroot guest (vm/buildroot): what Buildroot's dependency check
  // wants (wget too, even offline), the external toolchain (Debian gcc-12,
  // its sysroot from the installed glibc/headers packages), apt-get source
  buildroot: [
    "rsync",
    "cpio",
    "bc",
    "unzip",
    "file",
    "wget",
    "perl",
    "patch",
    "g++",
    "make",
    "gcc-12",
    "binutils",
    "libc6-dev",
    "libcrypt-dev",
    "linux-libc-dev",
    "libgomp1",
    "dpkg-dev",
    "xz-utils",
    "git",
    "libelf-dev",
  ],
  // `lab buildroot menuconfig`
  "buildroot-menuconfig": ["libncurses-dev"],
  // lab grade: the sandbox for student code (bwrap; setpriv and prlimit are util-linux)
  grade: ["bubblewrap", "util-linux", "patch"],
  // scripts/grade/slurm: a real one-machine Slurm cluster for the tests of
  // `lab grade --slurm` (slurmctld + slurmd + the client commands, munge)
  slurm: ["slurmctld", "slurmd", "slurm-client", "munge"],
} as const satisfies Record<string, readonly string[]>;

export type PackageGroup = keyof typeof systemPackages;

/** Packages of `names` that dpkg does not report as installed. */
export async function missingPackages(names: readonly string[]): Promise<string[]> {
  // Loaded on use: this module sits on `lab run`'s import path.
  const { sh } = await import("../lib/sh.ts");
  const format = "${Package} ${db:Status-Status}\n";
  const r = await sh({ nothrow: true })`dpkg-query -W -f=${format} ${names}`;
  const ok = new Set(
    r.stdout
      .split("\n")
      .filter((l) => l.endsWith(" installed"))
      .map((l) => l.split(" ")[0]),
  );
  return names.filter((n) => !ok.has(n));
}

export function aptInstallCommand(pkgs: readonly string[]): string {
  return `sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

let updated = false;
let aptQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs `fn` after every apt operation queued before it: targets build
 * concurrently, and two apt-get runs at once would fight over dpkg's lock.
 */
export function withAptLock<T>(fn: () => Promise<T>): Promise<T> {
  const p = aptQueue.then(fn);
  aptQueue = p.catch(() => {});
  return p;
}

/**
 * Makes sure the packages of the given groups are installed: installs them
 * non-interactively when root; otherwise stops with the exact command to run.
 */
export function ensurePackages(...groups: PackageGroup[]): Promise<void> {
  return withAptLock(() => ensurePackagesLocked(groups));
}

async function ensurePackagesLocked(groups: PackageGroup[]): Promise<void> {
  const want = [...new Set(groups.flatMap((g) => systemPackages[g]))];
  const missing = await missingPackages(want);
  if (missing.length === 0) {
    debug(`system packages present: ${want.join(" ")}`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new LabError(
      `missing Debian packages: ${missing.join(" ")}`,
      1,
      `run: ${aptInstallCommand(missing)}`,
    );
  }
  const { recipe, sh } = await import("../lib/sh.ts");
  await step(`installing ${missing.join(" ")}`, async () => {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    if (!updated) {
      await recipe("apt-get update", () => sh({ env })`apt-get update -qq`);
      updated = true;
    }
    await recipe(
      `apt-get install ${missing.join(" ")}`,
      () => sh({ env })`apt-get install -y -qq --no-install-recommends ${missing}`,
    );
  });
}
