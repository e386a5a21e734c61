import { constants, existsSync } from "node:fs";
import { access, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname, release } from "node:os";
import { dirname } from "node:path";
import { execa } from "execa";
import { hashKey } from "./cache.ts";
import { initramfsPath } from "./guest.ts";
import { kernelVmlinuxPath } from "./kernel.ts";
import { debug, info } from "./log.ts";
import { cachePath } from "./paths.ts";
import type { Accel } from "./qemu.ts";
import type { QemuBinary } from "./qemu-binary.ts";

/**
 * Whether KVM really works here. /dev/kvm existing is not enough: under
 * nested virtualization the guest can hang right after the kernel starts.
 * So `auto` boots the real guest kernel under KVM once (bounded), and the
 * result is cached per machine (host name, host kernel, QEMU binary).
 */
export interface KvmVerdict {
  usable: boolean;
  reason: string;
  /** How the verdict was reached: "device" (no /dev/kvm access), "probe", "cache". */
  source: "device" | "probe" | "cache";
}

export const probeTimeoutMs = 6000;
const probeFile = () => cachePath("kvm-probe.json");

/** Can this process open /dev/kvm read-write? (No boot.) */
export async function kvmDevice(): Promise<{ ok: boolean; reason: string }> {
  if (!existsSync("/dev/kvm"))
    return { ok: false, reason: "/dev/kvm does not exist (no KVM module or no VT-x/AMD-V)" };
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
    return { ok: true, reason: "/dev/kvm is accessible" };
  } catch {
    return { ok: false, reason: "/dev/kvm is not accessible to this user (join the kvm group)" };
  }
}

async function probeKey(qemu: QemuBinary): Promise<string> {
  const st = await stat(qemu.path);
  return hashKey(["kvm-probe-1", hostname(), release(), qemu.path, `${st.size} ${st.mtimeMs}`]);
}

/** Boots the guest kernel under KVM to the init marker, at most `probeTimeoutMs`. */
export async function probeKvm(qemu: QemuBinary): Promise<{ ok: boolean; reason: string }> {
  const args = [
    ...qemu.firmwareArgs,
    "-nodefaults",
    "-no-user-config",
    "-no-reboot",
    "-display",
    "none",
    "-machine",
    "q35,accel=kvm",
    "-cpu",
    "max",
    "-m",
    "256",
    "-kernel",
    kernelVmlinuxPath(),
    "-initrd",
    initramfsPath(),
    "-append",
    "console=ttyS0 panic=-1 quiet lab.mode=probe",
    "-serial",
    "stdio",
  ];
  const t0 = performance.now();
  const child = execa(qemu.path, args, {
    reject: false,
    timeout: probeTimeoutMs,
    killSignal: "SIGKILL",
    buffer: true,
  });
  let seen = false;
  child.stdout?.on("data", (d: Buffer) => {
    if (!seen && d.toString().includes("LAB-PROBE-OK")) {
      seen = true;
      child.kill("SIGKILL");
    }
  });
  const r = await child;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  if (seen) return { ok: true, reason: `a KVM guest reached init in ${secs} s` };
  if (r.timedOut)
    return {
      ok: false,
      reason: `a KVM guest did not reach init within ${probeTimeoutMs / 1000} s (it hangs: typical of nested KVM)`,
    };
  const why = (r.stderr || "").trim().split("\n").pop() || `QEMU exited with ${r.exitCode}`;
  return { ok: false, reason: `QEMU failed under KVM: ${why}` };
}

/** The KVM verdict, from the cache when this machine was probed before. */
export async function kvmVerdict(qemu: QemuBinary, reprobe = false): Promise<KvmVerdict> {
  const dev = await kvmDevice();
  if (!dev.ok) return { usable: false, reason: dev.reason, source: "device" };
  const key = await probeKey(qemu);
  if (!reprobe) {
    try {
      const c = JSON.parse(await readFile(probeFile(), "utf8")) as {
        key: string;
        usable: boolean;
        reason: string;
      };
      if (c.key === key) return { usable: c.usable, reason: c.reason, source: "cache" };
    } catch {
      // no cached verdict yet
    }
  }
  const r = await probeKvm(qemu);
  await mkdir(dirname(probeFile()), { recursive: true });
  await writeFile(
    probeFile(),
    JSON.stringify({ key, usable: r.ok, reason: r.reason, at: new Date().toISOString() }) + "\n",
  );
  return { usable: r.ok, reason: r.reason, source: "probe" };
}

/** Resolves --accel: auto → KVM when the verdict allows, else TCG with a one-line notice. */
export async function resolveAccel(requested: Accel | "auto", qemu: QemuBinary): Promise<Accel> {
  if (requested !== "auto") return requested;
  const v = await kvmVerdict(qemu);
  if (v.usable) return "kvm";
  const line = `KVM not usable (${v.reason}); using TCG`;
  if (v.source === "cache") debug(line);
  else info(line);
  return "tcg";
}
