import { existsSync } from "node:fs";
import { kvmVerdict, kvmDevice } from "../vm/accel.ts";
import { aptInstallCommand, missingPackages, systemPackages } from "../debian/apt.ts";
import { diskUsage, readStamp } from "../lib/cache.ts";
import {
  debugSource,
  kernelDebugBuildDir,
  kernelDebugImagePath,
  kernelDebugKey,
  kernelDebugPresent,
  kernelDebugRelease,
} from "../guest/kernel-debug.ts";
import { defineCommand } from "../lib/command.ts";
import { initramfsPath, nodeImagePath } from "../guest/artifacts.ts";
import {
  buildrootBuiltKey,
  buildrootInput,
  buildrootPin,
  buildrootRootfsPath,
} from "../guest/buildroot.ts";
import { kernelPresent, readResolvedKernel, pinsKernelKey } from "../guest/kernel.ts";
import { loadPins } from "../debian/pins.ts";
import { cacheDir, patchedQemuPath } from "../lib/paths.ts";
import { qemuVersion, selectQemu, systemQemu } from "../vm/binary.ts";

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

interface Check {
  ok: boolean;
  what: string;
  detail: string;
  fix?: string;
}

/** The pinned kernel and the one in use (resolved from what apt served). */
function kernelCheck(): Check {
  const pins = loadPins();
  const versions = (p: { packages: { version: string }[] }) =>
    [...new Set(p.packages.map((x) => x.version))].join("/");
  const pinned = `pinned ${pins.kernel.release} (${versions(pins.kernel)})`;
  const rec = readResolvedKernel();
  if (!rec)
    return {
      ok: false,
      what: "kernel",
      detail: `${pinned}; not resolved yet`,
      fix: "npx lab build kernel",
    };
  const current = rec.pinsKey === pinsKernelKey(pins);
  const resolved = `in use ${rec.set.release} (${versions(rec.set)})`;
  if (!current)
    return {
      ok: false,
      what: "kernel",
      detail: `${pinned}; ${resolved} was resolved from other pins`,
      fix: "npx lab build kernel",
    };
  return rec.source === "pinned"
    ? { ok: true, what: "kernel", detail: `${pinned}, in use as pinned` }
    : {
        ok: true,
        what: "kernel",
        detail: `${pinned}; no longer served (${rec.gone.join(", ")}), ${resolved}`,
        fix: "npx lab pins update (records the set in use in vm/pins.json)",
      };
}

/** The Buildroot guest flavour: which Buildroot would be used, and whether its rootfs is built. */
async function buildrootCheck(): Promise<Check> {
  const what = "buildroot guest";
  const input = buildrootInput();
  const built = (await buildrootBuiltKey()) !== undefined && existsSync(buildrootRootfsPath());
  const rootfs = built
    ? `rootfs built (${mib(await diskUsage(buildrootRootfsPath()))}, ${buildrootRootfsPath()}): --rootfs buildroot`
    : "rootfs not built";
  if (!input)
    return {
      ok: built,
      what,
      detail: `${rootfs}; no Buildroot ${buildrootPin.version} given (--buildroot or $LAB_BUILDROOT)`,
      fix: `LAB_BUILDROOT=/path/to/buildroot-${buildrootPin.version}.tar.xz npx lab build rootfs-buildroot (see vm/buildroot/README.md)`,
    };
  return {
    ok: built || existsSync(input.path),
    what,
    detail: `${rootfs}; Buildroot ${buildrootPin.version} from ${input.from}: ${input.path}${existsSync(input.path) ? "" : " (missing)"}`,
    fix: built ? undefined : "npx lab build rootfs-buildroot",
  };
}

/** The debug kernel (`lab run --kernel debug`): built, current, from which source. */
async function debugKernelCheck(): Promise<Check> {
  const what = "debug kernel";
  let src;
  try {
    src = debugSource();
  } catch {
    return {
      ok: false,
      what,
      detail: "the default kernel is not resolved yet",
      fix: "npx lab build kernel",
    };
  }
  const from = `${src.name} ${src.version}, tinyconfig + vm/kernel-debug/lab.config`;
  if (!kernelDebugPresent())
    return {
      ok: false,
      what,
      detail: `${from}; not built (--kernel debug needs it)`,
      fix: "npx lab build debug",
    };
  const current = (await readStamp(kernelDebugBuildDir())) === kernelDebugKey();
  const size = mib(await diskUsage(kernelDebugImagePath()));
  return current
    ? { ok: true, what, detail: `${kernelDebugRelease()} (${from}), bzImage ${size}` }
    : {
        ok: false,
        what,
        detail: `${kernelDebugRelease()} built from other inputs than ${from}`,
        fix: "npx lab build debug",
      };
}

async function checks(): Promise<Check[]> {
  const out: Check[] = [];
  const patched = patchedQemuPath();
  out.push(
    existsSync(patched)
      ? { ok: true, what: "patched QEMU", detail: `${patched}: ${await qemuVersion(patched)}` }
      : {
          ok: false,
          what: "patched QEMU",
          detail: `not built (${patched}); lab run works with --devices 0 only`,
          fix: "npx lab build qemu",
        },
  );
  out.push(
    existsSync(systemQemu)
      ? { ok: true, what: "system QEMU", detail: `${systemQemu}: ${await qemuVersion(systemQemu)}` }
      : {
          ok: existsSync(patched),
          what: "system QEMU",
          detail: "not installed (used when the patched QEMU is not built)",
          fix: aptInstallCommand(["qemu-system-x86"]),
        },
  );

  const dev = await kvmDevice();
  if (!dev.ok) {
    out.push({
      ok: false,
      what: "KVM",
      detail: `not usable: ${dev.reason}; guests run under TCG (slower)`,
      fix: "enable VT-x/AMD-V in the firmware, load kvm_intel/kvm_amd, join the kvm group",
    });
  } else if (!kernelPresent() || !existsSync(initramfsPath())) {
    out.push({
      ok: false,
      what: "KVM",
      detail: "/dev/kvm is accessible, but the guest is not built, so the boot probe cannot run",
      fix: "npx lab build guest; npx lab doctor",
    });
  } else {
    let qemu;
    try {
      qemu = selectQemu(0);
    } catch {
      qemu = undefined;
    }
    if (!qemu) out.push({ ok: false, what: "KVM", detail: "no QEMU to probe with" });
    else {
      const v = await kvmVerdict(qemu);
      const how = v.source === "cache" ? "cached probe" : "probe just run";
      out.push(
        v.usable
          ? { ok: true, what: "KVM", detail: `usable: ${v.reason} (${how}); --accel auto uses KVM` }
          : {
              ok: false,
              what: "KVM",
              detail: `/dev/kvm exists but KVM is NOT usable: ${v.reason} (${how}). --accel auto uses TCG. On nested virtualization (a VM without working nested VT-x) this is expected.`,
              fix:
                "nothing needed here (TCG works); on your own machine with KVM it is used automatically. Re-probe: rm " +
                `${cacheDir()}/kvm-probe.json`,
            },
      );
    }
  }

  const size = await diskUsage(cacheDir());
  const parts: string[] = [];
  for (const t of ["kernel", "kernel-debug", "initramfs", "noderoot", "qemu", "buildroot"])
    parts.push(`${t} ${mib(await diskUsage(`${cacheDir()}/${t}`))}`);
  out.push({
    ok: true,
    what: "cache",
    detail: `${cacheDir()} (${mib(size)}: ${parts.join(", ")}); override with LAB_CACHE`,
  });
  out.push(kernelCheck());
  out.push(await debugKernelCheck());
  const built =
    Number(kernelPresent()) + [initramfsPath(), nodeImagePath()].filter(existsSync).length;
  out.push(
    built === 3
      ? { ok: true, what: "guest", detail: "kernel, initramfs and node image built" }
      : {
          ok: false,
          what: "guest",
          detail: `${3 - built} of kernel/initramfs/node image missing`,
          fix: "npx lab build guest",
        },
  );

  out.push(await buildrootCheck());

  for (const [group, pkgs] of Object.entries(systemPackages)) {
    const missing = await missingPackages(pkgs);
    out.push(
      missing.length
        ? {
            ok: false,
            what: `packages (${group})`,
            detail: `missing: ${missing.join(" ")}`,
            fix: aptInstallCommand(missing),
          }
        : { ok: true, what: `packages (${group})`, detail: "all installed" },
    );
  }
  return out;
}

export default defineCommand({
  summary: "what is present and usable: QEMU, KVM (and why not), cache, packages",
  usage: `usage: lab doctor

Checks the QEMU binaries and versions, whether KVM is usable (a bounded boot
probe, cached per machine), the cache location and size, the guest build and
the Debian packages each part needs, and prints the fix for each problem.`,
  async run() {
    const list = await checks();
    for (const c of list) {
      process.stdout.write(`${c.ok ? "ok  " : "--  "} ${c.what}: ${c.detail}\n`);
      if (!c.ok && c.fix) process.stdout.write(`       fix: ${c.fix}\n`);
    }
    return 0;
  },
});
