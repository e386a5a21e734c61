import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../lib/paths.ts";
import { hashKey } from "../../lib/cache.ts";
import { LabError } from "../../lib/errors.ts";
import { step } from "../../lib/log.ts";
import { sh } from "../../lib/sh.ts";
import { cachePath } from "../../lib/paths.ts";

/**
 * QEMU's configure flags: x86_64 system emulation only, no GUI, docs or
 * tools, plus what the lab needs: user
 * networking (slirp), the 9p share (virtfs: libcap-ng + libattr), the
 * `log` trace backend (`-trace virtio_cryptodev*`), and libgcrypt as the
 * crypto backend of the device's builtin engine, with no nettle or gnutls so
 * there is exactly one. libgcrypt encrypts a whole CBC buffer in one AES-NI
 * pass; QEMU over nettle runs its generic CBC loop around nettle's per-block
 * AES, about half as fast (64 KiB on the host: 720-1000 vs 380-460 MiB/s).
 * seccomp, for `-sandbox` when a grader runs a student's device.
 *
 * The rest keeps the build to what the lab runs: only the boards and
 * devices of host-backend/qemu-devices.mak (no default devices), and none of
 * the image formats, UIs, audio or vhost backends a lab guest never uses;
 * fewer objects to compile from a fresh cache.
 */
export const configureFlags: readonly string[] = [
  "--target-list=x86_64-softmmu",
  "--disable-docs",
  "--disable-tools",
  "--disable-user",
  "--disable-guest-agent",
  "--disable-werror",
  "--disable-gtk",
  "--disable-sdl",
  "--disable-vnc",
  "--disable-opengl",
  "--disable-spice",
  "--disable-xen",
  "--enable-kvm",
  "--disable-install-blobs",
  "--enable-slirp",
  "--enable-virtfs",
  "--enable-cap-ng",
  "--enable-attr",
  "--disable-nettle",
  "--enable-gcrypt",
  "--disable-gnutls",
  "--enable-trace-backends=log",
  "--enable-seccomp",
  "--without-default-devices",
  "--with-devices-x86_64=lab",
  ...[
    "curses",
    "bzip2",
    "png",
    "selinux",
    "capstone",
    "tpm",
    "fuse",
    "libudev",
    "keyring",
    "xkbcommon",
    "iconv",
    "gettext",
    "dbus-display",
    "multiprocess",
    "linux-aio",
    "linux-io-uring",
    "zstd",
    "lzo",
    "snappy",
    "rdma",
    "pvrdma",
    "l2tpv3",
    "qcow1",
    "vdi",
    "vvfat",
    "dmg",
    "cloop",
    "bochs",
    "parallels",
    "qed",
    "replication",
    "live-block-migration",
    "vhost-user",
    "vhost-net",
    "vhost-crypto",
    "vhost-kernel",
    "vhost-vdpa",
    "vhost-user-blk-server",
  ].map((f) => `--disable-${f}`),
  "--audio-drv-list=",
];

/** The lab's device list, placed in the work tree as configs/devices/x86_64-softmmu/lab.mak. */
export const devicesFile = join(repoRoot, "host-backend", "qemu-devices.mak");

/** Lines of configure's summary that must be there (else the build is useless to the lab). */
export const requiredSummary: readonly RegExp[] = [
  /^\s*target list\s*:\s*x86_64-softmmu$/m,
  /^\s*KVM support\s*:\s*YES/m,
  /^\s*slirp support\s*:\s*YES/m,
  /^\s*VirtFS support\s*:\s*YES/m,
  /^\s*libgcrypt\s*:\s*YES/m,
  /^\s*Trace backends\s*:\s*log$/m,
  /^\s*seccomp support\s*:\s*YES/m,
];

export const qemuSrcDir = (): string => cachePath("qemu", "src");
export const qemuBuildDir = (): string => cachePath("qemu", "build");
const configureKeyFile = (): string => cachePath("qemu", "configure.key");
const configureLogFile = (): string => cachePath("qemu", "configure.log");

export const configureKey = (): string =>
  hashKey(["configure", ...configureFlags, readFileSync(devicesFile)]);

/**
 * The source and build folders meson recorded at configure time. The build
 * files hold them as absolute paths, so a cache copied or moved elsewhere
 * would compile its own sources against the old place's headers.
 */
async function configuredDirs(): Promise<{ source?: string; build?: string }> {
  const info = join(qemuBuildDir(), "meson-info", "meson-info.json");
  const j = JSON.parse(await readFile(info, "utf8")) as {
    directories?: { source?: string; build?: string };
  };
  return j.directories ?? {};
}

/** Whether the build folder was configured with the current flags, here. */
export async function isConfigured(): Promise<boolean> {
  if (!existsSync(join(qemuBuildDir(), "build.ninja"))) return false;
  try {
    const dirs = await configuredDirs();
    if (dirs.source !== qemuSrcDir() || dirs.build !== qemuBuildDir()) return false;
    return (await readFile(configureKeyFile(), "utf8")).trim() === configureKey();
  } catch {
    return false;
  }
}

/** Forgets the configuration (the build folder goes too). */
export async function dropBuild(): Promise<void> {
  await rm(configureKeyFile(), { force: true });
  await rm(qemuBuildDir(), { recursive: true, force: true });
}

/**
 * Configures a fresh build folder (out of tree) and checks the summary.
 * Returns the summary lines that matter, for the log.
 */
export async function configureQemu(): Promise<string[]> {
  await dropBuild();
  await mkdir(qemuBuildDir(), { recursive: true });
  return step("configuring QEMU", async (progress) => {
    await copyFile(
      devicesFile,
      join(qemuSrcDir(), "configs", "devices", "x86_64-softmmu", "lab.mak"),
    );
    progress("configure");
    const configure = join(qemuSrcDir(), "configure");
    const r = await sh({ cwd: qemuBuildDir(), nothrow: true })`${configure} ${configureFlags} 2>&1`;
    await writeFile(configureLogFile(), r.stdout);
    if (r.exitCode !== 0)
      throw new LabError(
        `QEMU configure failed (exit ${r.exitCode})`,
        1,
        `see ${configureLogFile()}: ${r.stdout.trim().split("\n").slice(-3).join(" / ")}`,
      );
    const text = r.stdout;
    const missing = requiredSummary.filter((re) => !re.test(text));
    if (missing.length)
      throw new LabError(
        `QEMU configure summary lacks ${missing.map((m) => m.source).join(", ")}`,
        1,
        `see ${configureLogFile()}`,
      );
    await writeFile(configureKeyFile(), `${configureKey()}\n`);
    return requiredSummary.map((re) => re.exec(text)?.[0].trim() ?? "");
  });
}
