/**
 * Buildroot configuration text (pure; unit tested): the package override
 * file, the host-specific lines `lab build rootfs-buildroot` adds to
 * vm/buildroot/configs/lab_defconfig, and the fragment `lab buildroot
 * menuconfig` saves (what the user's savedefconfig has that the lab's own
 * configuration does not).
 */

export interface OverrideSpec {
  /** `<PKG>` (BUSYBOX, HOST_TAR...) → source tree. */
  overrides: Record<string, string>;
  /** Unpacked Debian binary packages: fakeroot, libfakeroot, patchelf → folder. */
  binaries: Record<string, string>;
  /** An empty folder: the "source" of host-tar, which is the host's own tar. */
  emptyDir: string;
}

/**
 * BR2_PACKAGE_OVERRIDE_FILE: included by Buildroot's Makefile before any
 * package, so `override` assignments there win over the package's own
 * (`override HOST_FAKEROOT_DEPENDENCIES`: make then ignores the package's
 * `=` and the infrastructure's `+=`).
 */
export function overrideFile(s: OverrideSpec): string {
  const bin = (name: string) => {
    const d = s.binaries[name];
    if (!d) throw new Error(`no unpacked Debian package ${name}`);
    return d;
  };
  const prebuilt = (pkg: string, srcdir: string, install: string[]) => [
    `${pkg}_OVERRIDE_SRCDIR = ${srcdir}`,
    `override ${pkg}_DEPENDENCIES = host-skeleton`,
    `override ${pkg}_AUTORECONF = NO`,
    `define ${pkg}_CONFIGURE_CMDS`,
    "\ttrue",
    "endef",
    `define ${pkg}_BUILD_CMDS`,
    "\ttrue",
    "endef",
    `define ${pkg}_INSTALL_CMDS`,
    ...install.map((l) => `\t${l}`),
    "endef",
  ];
  const lines = [
    "# Written by `lab build rootfs-buildroot`: package sources from Debian (apt-get source).",
    ...Object.entries(s.overrides).map(([pkg, dir]) => `${pkg}_OVERRIDE_SRCDIR = ${dir}`),
    "",
    "# No host-tar: Buildroot builds tar 1.35 when the host's is older (Debian 12:",
    "# 1.34) for reproducible archives (devmajor/devminor), which this guest does not",
    "# make (cpio rootfs, no tar rootfs, no SDK); sources come as trees, not tarballs.",
    "# Debian's tar extracts whatever a package added with menuconfig downloads.",
    "# The toolchain packages, read before this file, already depend on host-tar:",
    "# it stands for Debian's tar (linked), built from nothing.",
    "BR2_TAR_HOST_DEPENDENCY =",
    "TAR = tar",
    ...prebuilt("HOST_TAR", s.emptyDir, [
      "mkdir -p $(HOST_DIR)/bin",
      "ln -sf /bin/tar $(HOST_DIR)/bin/tar",
    ]),
    "",
    "# Host tools from Debian's binary packages, installed into the host folder:",
    "# no configure, no build, none of the source builds' dependencies (host-acl,",
    "# and host m4/autoconf/automake/libtool for patchelf's autoreconf).",
    "# fakeroot: the mirror serves no fakeroot source; its paths are rewritten.",
    ...prebuilt("HOST_FAKEROOT", bin("fakeroot"), [
      "$(INSTALL) -D -m 0755 $(@D)/usr/bin/faked-sysv $(HOST_DIR)/bin/faked",
      `$(INSTALL) -D -m 0644 ${bin("libfakeroot")}/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-sysv.so \\`,
      "\t$(HOST_DIR)/lib/libfakeroot/libfakeroot-sysv.so",
      "sed -e 's|^FAKEROOT_PREFIX=.*|FAKEROOT_PREFIX=$(HOST_DIR)|' \\",
      "\t-e 's|^FAKEROOT_BINDIR=.*|FAKEROOT_BINDIR=$(HOST_DIR)/bin|' \\",
      "\t-e 's|^PATHS=.*|PATHS=$(HOST_DIR)/lib/libfakeroot|' \\",
      "\t-e 's|^FAKED=.*|FAKED=$(HOST_DIR)/bin/faked|' \\",
      "\t$(@D)/usr/bin/fakeroot-sysv >$(HOST_DIR)/bin/fakeroot",
      "chmod 0755 $(HOST_DIR)/bin/fakeroot",
    ]),
    "# patchelf: run by fix-rpath on Buildroot's output (target-finalize).",
    ...prebuilt("HOST_PATCHELF", bin("patchelf"), [
      "$(INSTALL) -D -m 0755 $(@D)/usr/bin/patchelf $(HOST_DIR)/bin/patchelf",
    ]),
  ];
  return lines.join("\n") + "\n";
}

export interface HostConfigSpec {
  toolchain: string;
  dlDir: string;
  overrideFile: string;
  busyboxConfig: string;
  kernelBuildDir: string;
  /** The folder post-build.sh copies the kernel's modules from. */
  moduleStage: string;
  jobs: number;
}

/** A Kconfig string value, quoted. */
function q(v: string): string {
  if (/["\\\n]/.test(v)) throw new Error(`unsafe Buildroot config value: ${v}`);
  return `"${v}"`;
}

/** The host-specific lines added after lab_defconfig (absolute paths on this machine). */
export function hostConfig(s: HostConfigSpec): string {
  return [
    "# Added by `lab build rootfs-buildroot` (paths on this machine).",
    `BR2_TOOLCHAIN_EXTERNAL_PATH=${q(s.toolchain)}`,
    `BR2_DL_DIR=${q(s.dlDir)}`,
    `BR2_PACKAGE_OVERRIDE_FILE=${q(s.overrideFile)}`,
    `BR2_PACKAGE_BUSYBOX_CONFIG=${q(s.busyboxConfig)}`,
    `BR2_PACKAGE_LAB_MODULE_KERNEL_BUILD=${q(s.kernelBuildDir)}`,
    `BR2_ROOTFS_POST_SCRIPT_ARGS=${q(s.moduleStage)}`,
    `BR2_JLEVEL=${s.jobs}`,
    "",
  ].join("\n");
}

/** `NAME=value` and `# NAME is not set` lines of a (def)config, by name. */
export function parseConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const set = /^(BR2_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set?.[1]) m.set(set[1], `${set[1]}=${set[2]}`);
    const unset = /^# (BR2_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset?.[1]) m.set(unset[1], line);
  }
  return m;
}

/**
 * The fragment to save after menuconfig: every line of the user's
 * savedefconfig that differs from the lab's own configuration (lab_defconfig
 * with the host lines), and `# X is not set` for what the user turned off.
 * Host-specific options are never saved (they are regenerated each build).
 */
export function menuconfigFragment(
  base: string,
  saved: string,
  hostOnly: Iterable<string>,
): string {
  const b = parseConfig(base);
  const s = parseConfig(saved);
  const skip = new Set(hostOnly);
  const out: string[] = [];
  for (const [name, line] of s) if (!skip.has(name) && b.get(name) !== line) out.push(line);
  for (const [name, line] of b)
    if (!skip.has(name) && !s.has(name) && !line.startsWith("#")) out.push(`# ${name} is not set`);
  return out.length
    ? `# Saved by \`lab buildroot menuconfig\`: applied after lab_defconfig.\n${out.sort().join("\n")}\n`
    : "";
}

/** The names hostConfig sets (never saved into the fragment). */
export const hostConfigNames = [
  "BR2_TOOLCHAIN_EXTERNAL_PATH",
  "BR2_DL_DIR",
  "BR2_PACKAGE_OVERRIDE_FILE",
  "BR2_PACKAGE_BUSYBOX_CONFIG",
  "BR2_PACKAGE_LAB_MODULE_KERNEL_BUILD",
  "BR2_ROOTFS_POST_SCRIPT_ARGS",
  "BR2_JLEVEL",
] as const;

/**
 * What was being built when Buildroot stopped: the package of the last
 * `>>> pkg version Step` line, or the last global step (`>>>   Finalizing
 * target directory`) when that came later.
 */
export function failedPackage(log: string): string | undefined {
  let last: string | undefined;
  for (const line of log.split("\n")) {
    const plain = stripEscapes(line).trim();
    const global = /^>>> {2,}(\S.*)$/.exec(plain);
    const name = global ? global[1] : packageOfLine(line);
    if (name) last = name;
  }
  return last;
}

/** Buildroot's step lines carry terminal escapes (reverse video). */
// eslint-disable-next-line no-control-regex
export const stripEscapes = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** The package a Buildroot step line names (`>>> host-tar custom Configuring`). */
export function packageOfLine(line: string): string | undefined {
  const plain = stripEscapes(line);
  const m = /^>>> (\S+)(?: (\S+))? (.*)$/.exec(plain.trim());
  return m?.[1];
}
