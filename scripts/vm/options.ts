import {
  type OptionSpecs,
  type Values,
  intArg,
  oneOfArg,
  parseCommandLine,
  positiveArg,
} from "../lib/args.ts";
import { UsageError } from "../lib/errors.ts";
import type { Accel, Forward } from "./qemu-args.ts";
import { guestPathRe } from "./qemu-args.ts";
import { type GuestKernel, guestKernels } from "../guest/flavour.ts";

/** Options of `lab run` / `lab boot` (pure parsing, unit tested). */
export interface VmArgs {
  devices?: number;
  deviceOpts?: string;
  shares: { hostPath: string; guestPath: string }[];
  forwards: Forward[];
  timeoutS?: number;
  accel: Accel | "auto";
  smp: number;
  memMiB: number;
  cpu?: string;
  console?: string;
  machine: "q35" | "pc";
  /** Which guest kernel: Debian's (default) or the lab's debug build (`lab build kernel-debug`). */
  kernel: GuestKernel;
  /** The guest's root filesystem: the default initramfs or the Buildroot flavour. */
  rootfs: Rootfs;
  net: boolean;
  /** Guest working directory of the command. */
  cwd: string;
  command: string[];
  /**
   * Grading hooks (scripts/grade): another QEMU binary (a student's device
   * build) and a wrapper that puts QEMU's command in a sandbox, told which
   * paths QEMU must read and write.
   */
  qemu?: { binary?: string; wrap?: QemuWrap };
  /** The folder shared at /lab instead of the repository (grading: a stage, read-only). */
  labShare?: { hostPath: string; readonly: boolean };
}

/** Rewrites QEMU's argv ([binary, ...args]) into the command to start (e.g. under bwrap). */
export type QemuWrap = (argv: string[], access: { rw: string[]; ro: string[] }) => string[];

export const defaultShareGuestPath = "/mnt/share";

export const rootfsFlavours = ["initramfs", "buildroot"] as const;
export type Rootfs = (typeof rootfsFlavours)[number];

/** HOSTDIR[:GUESTDIR]; the guest part is the text after the last ':' when it starts with '/'. */
export function parseShare(v: string): { hostPath: string; guestPath: string } {
  const i = v.lastIndexOf(":");
  const [hostPath, guestPath] =
    i > 0 && v[i + 1] === "/" ? [v.slice(0, i), v.slice(i + 1)] : [v, defaultShareGuestPath];
  if (!hostPath) throw new UsageError(`--share needs a host folder`);
  if (!guestPathRe.test(guestPath) || guestPath === "/")
    throw new UsageError(
      `--share guest path '${guestPath}' must be absolute, [A-Za-z0-9._/+-] only`,
    );
  return { hostPath, guestPath };
}

export function parseForward(v: string): Forward {
  const m = /^(\d+):(\d+)$/.exec(v);
  if (!m) throw new UsageError(`--forward needs HOSTPORT:GUESTPORT, got '${v}'`);
  return {
    hostPort: intArg("--forward", m[1] as string, 1, 65535),
    guestPort: intArg("--forward", m[2] as string, 1, 65535),
  };
}

/** The options of `lab run` and `lab boot`, for the one parser (scripts/lib/args.ts). */
export const vmOptionSpecs = {
  devices: { type: "string" },
  "device-opts": { type: "string" },
  share: { type: "string", multiple: true },
  forward: { type: "string", multiple: true },
  timeout: { type: "string" },
  accel: { type: "string" },
  smp: { type: "string" },
  mem: { type: "string" },
  cpu: { type: "string" },
  console: { type: "string" },
  machine: { type: "string" },
  kernel: { type: "string" },
  rootfs: { type: "string" },
  "no-net": { type: "boolean" },
  cwd: { type: "string" },
} as const satisfies OptionSpecs;

/** Checks parsed values and the command and builds the guest run's options. */
export function vmArgsFrom(
  v: Values<typeof vmOptionSpecs>,
  command: string[],
  needCommand: boolean,
): VmArgs {
  const a: VmArgs = {
    shares: (v.share ?? []).map(parseShare),
    forwards: (v.forward ?? []).map(parseForward),
    accel: v.accel === undefined ? "auto" : oneOfArg("--accel", v.accel, ["auto", "kvm", "tcg"]),
    smp: v.smp === undefined ? 1 : intArg("--smp", v.smp, 1, 64),
    memMiB: v.mem === undefined ? 1024 : intArg("--mem", v.mem, 128, 65536),
    machine: v.machine === undefined ? "q35" : oneOfArg("--machine", v.machine, ["q35", "pc"]),
    kernel: v.kernel === undefined ? "default" : oneOfArg("--kernel", v.kernel, guestKernels),
    // $LAB_ROOTFS: `lab test --rootfs buildroot` runs the VM tests on that flavour.
    rootfs: oneOfArg(
      "--rootfs",
      v.rootfs ?? (process.env.LAB_ROOTFS || "initramfs"),
      rootfsFlavours,
    ),
    net: !v["no-net"],
    cwd: v.cwd ?? "/",
    command,
  };
  if (v.devices !== undefined) a.devices = intArg("--devices", v.devices, 0, 8);
  if (v["device-opts"] !== undefined) {
    a.deviceOpts = v["device-opts"];
    if (!/^[A-Za-z0-9_.=,-]*$/.test(a.deviceOpts))
      throw new UsageError(`--device-opts: only key=value[,key=value] allowed`);
  }
  if (v.timeout !== undefined) a.timeoutS = positiveArg("--timeout", v.timeout);
  if (v.cpu !== undefined) {
    a.cpu = v.cpu;
    if (!/^[A-Za-z0-9_.,=+-]+$/.test(a.cpu)) throw new UsageError(`--cpu: bad model '${a.cpu}'`);
  }
  if (v.console !== undefined) a.console = v.console;
  if (!a.cwd.startsWith("/")) throw new UsageError(`--cwd must be an absolute guest path`);
  if (a.rootfs === "buildroot" && a.kernel !== "default")
    throw new UsageError(
      `--rootfs buildroot carries the default kernel's modules: not with --kernel ${a.kernel}`,
    );
  const guestPaths = a.shares.map((s) => s.guestPath);
  if (new Set(guestPaths).size !== guestPaths.length)
    throw new UsageError(`two --share options use the same guest path`);
  if (guestPaths.includes("/lab")) throw new UsageError(`/lab is the repository share`);
  const hostPorts = a.forwards.map((f) => f.hostPort);
  if (new Set(hostPorts).size !== hostPorts.length)
    throw new UsageError(`two --forward options use the same host port`);
  if (!a.net && a.forwards.length)
    throw new UsageError(`--forward needs the network (--no-net given)`);
  if (needCommand && a.command.length === 0)
    throw new UsageError(`lab run needs a command: lab run [options] -- CMD [ARGS...]`);
  if (!needCommand && a.command.length)
    throw new UsageError(`unexpected arguments: ${a.command.join(" ")}`);
  return a;
}

/**
 * Parses `lab run`/`lab boot` arguments: options up to `--` or the first
 * word that is not an option; what follows is the command (required when
 * `needCommand`). Also accepts `--opt=value`.
 */
export function parseVmArgs(argv: readonly string[], needCommand: boolean): VmArgs {
  const p = parseCommandLine(needCommand ? "lab run" : "lab boot", argv, vmOptionSpecs, {
    command: true,
  });
  return vmArgsFrom(p.values, p.command, needCommand);
}

/** Options for a programmatic guest run: `lab run`'s defaults with `o` on top. */
export function guestArgs(o: Partial<VmArgs> & { command: string[] }): VmArgs {
  return { ...parseVmArgs(["--", ...o.command], true), ...o };
}
