import { UsageError } from "./errors.ts";
import type { Accel, Forward } from "./qemu.ts";
import { guestPathRe } from "./qemu.ts";

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
  net: boolean;
  /** Guest working directory of the command. */
  cwd: string;
  command: string[];
}

export const defaultShareGuestPath = "/mnt/share";

function int(opt: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${opt} needs a whole number, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${opt} must be between ${min} and ${max}`);
  return n;
}

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
    hostPort: int("--forward", m[1] as string, 1, 65535),
    guestPort: int("--forward", m[2] as string, 1, 65535),
  };
}

/**
 * Parses options up to `--`; what follows is the command (required when
 * `needCommand`). Also accepts `--opt=value`.
 */
export function parseVmArgs(argv: readonly string[], needCommand: boolean): VmArgs {
  const a: VmArgs = {
    shares: [],
    forwards: [],
    accel: "auto",
    smp: 1,
    memMiB: 1024,
    machine: "q35",
    net: true,
    cwd: "/",
    command: [],
  };
  const args = [...argv];
  while (args.length) {
    const raw = args.shift() as string;
    if (raw === "--") {
      a.command = args.splice(0);
      break;
    }
    if (!raw.startsWith("--")) {
      // `lab run true` without `--`: the rest is the command.
      a.command = [raw, ...args.splice(0)];
      break;
    }
    const eq = raw.indexOf("=");
    const opt = eq > 0 ? raw.slice(0, eq) : raw;
    const flag = (): void => {
      if (eq > 0) throw new UsageError(`${opt} takes no value`);
    };
    const value = (): string => {
      if (eq > 0) return raw.slice(eq + 1);
      const v = args.shift();
      if (v === undefined) throw new UsageError(`${opt} needs a value`);
      return v;
    };
    switch (opt) {
      case "--devices":
        a.devices = int(opt, value(), 0, 8);
        break;
      case "--device-opts":
        a.deviceOpts = value();
        if (!/^[A-Za-z0-9_.=,-]*$/.test(a.deviceOpts))
          throw new UsageError(`--device-opts: only key=value[,key=value] allowed`);
        break;
      case "--share":
        a.shares.push(parseShare(value()));
        break;
      case "--forward":
        a.forwards.push(parseForward(value()));
        break;
      case "--timeout": {
        const v = value();
        const n = Number(v);
        if (!/^\d+(\.\d+)?$/.test(v) || n <= 0)
          throw new UsageError(`--timeout needs a positive number of seconds`);
        a.timeoutS = n;
        break;
      }
      case "--accel": {
        const v = value();
        if (v !== "auto" && v !== "kvm" && v !== "tcg")
          throw new UsageError(`--accel must be auto, kvm or tcg`);
        a.accel = v;
        break;
      }
      case "--smp":
        a.smp = int(opt, value(), 1, 64);
        break;
      case "--mem":
        a.memMiB = int(opt, value(), 128, 65536);
        break;
      case "--cpu":
        a.cpu = value();
        if (!/^[A-Za-z0-9_.,=+-]+$/.test(a.cpu))
          throw new UsageError(`--cpu: bad model '${a.cpu}'`);
        break;
      case "--console":
        a.console = value();
        break;
      case "--machine": {
        const v = value();
        if (v !== "q35" && v !== "pc") throw new UsageError(`--machine must be q35 or pc`);
        a.machine = v;
        break;
      }
      case "--no-net":
        flag();
        a.net = false;
        break;
      case "--cwd":
        a.cwd = value();
        if (!a.cwd.startsWith("/")) throw new UsageError(`--cwd must be an absolute guest path`);
        break;
      default:
        throw new UsageError(`unknown option ${opt}`);
    }
  }
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
