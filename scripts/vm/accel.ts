import { constants, existsSync } from "node:fs";
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { hostname, release } from "node:os";
import { dirname } from "node:path";
import { hashKey } from "../lib/cache.ts";
import { initramfsPath } from "../guest/artifacts.ts";
import { kernelVmlinuxPath } from "../guest/kernel.ts";
import { debug, info, step } from "../lib/log.ts";
import { cachePath } from "../lib/paths.ts";
import type { Accel } from "./qemu-args.ts";
import type { QemuBinary } from "./binary.ts";

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

/**
 * Per machine: host name, host kernel and CPU model. Not the QEMU binary:
 * a student rebuilding QEMU should not pay for a new probe each time.
 */
async function probeKey(): Promise<string> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "";
  return hashKey(["kvm-probe-2", hostname(), release(), model]);
}

type ProbeResult = { ok: boolean; reason: string; inconclusive?: boolean };

/**
 * Boots the guest kernel under KVM to the init marker with the CPU model
 * runs use (`max`). When that fails, a second bounded boot with a plain
 * model (`qemu64`) tells `lab doctor` whether KVM itself hangs.
 */
export async function probeKvm(qemu: QemuBinary): Promise<ProbeResult> {
  const max = await probeKvmCpu(qemu, "max");
  if (max.ok || max.inconclusive) return max;
  const plain = await probeKvmCpu(qemu, "qemu64");
  return { ok: false, reason: `-cpu max: ${max.reason}; -cpu qemu64: ${plain.reason}` };
}

async function probeKvmCpu(qemu: QemuBinary, cpu: string): Promise<ProbeResult> {
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
    cpu,
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
  // execa loads lazily: `lab run` reads a cached verdict and should not pay for it.
  const { execa } = await import("execa");
  const t0 = performance.now();
  // Tied to this process (setpriv --pdeathsig): a hung KVM guest never outlives lab.
  const [file, argv] = existsSync("/usr/bin/setpriv")
    ? ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", qemu.path, ...args]]
    : [qemu.path, args];
  const child = execa(file, argv, {
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
  if (r.exitCode === undefined && r.signal === undefined)
    // QEMU did not start at all (e.g. being rebuilt): says nothing about KVM; not cached.
    return { ok: false, reason: `cannot run ${qemu.path}: ${r.shortMessage}`, inconclusive: true };
  const why =
    (r.stderr || "").trim().split("\n").pop() || `QEMU ended with ${r.signal ?? r.exitCode}`;
  return { ok: false, reason: `QEMU failed under KVM: ${why}` };
}

/** The KVM verdict, from the cache when this machine was probed before. */
export async function kvmVerdict(qemu: QemuBinary, reprobe = false): Promise<KvmVerdict> {
  const dev = await kvmDevice();
  if (!dev.ok) return { usable: false, reason: dev.reason, source: "device" };
  const key = await probeKey();
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
  const r = await step("probing KVM (a bounded test boot, once per machine)", () => probeKvm(qemu));
  if (r.inconclusive) return { usable: false, reason: r.reason, source: "probe" };
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
