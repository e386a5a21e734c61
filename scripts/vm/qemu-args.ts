/**
 * The one place the guest's QEMU command line is built (pure: a spec in,
 * argv out; unit tested). Everything host-specific (which binary, firmware
 * folders, socket paths) arrives in the spec.
 */

export type Accel = "kvm" | "tcg";

export interface Share {
  /** 9p mount tag (at most 31 bytes). */
  tag: string;
  hostPath: string;
  guestPath: string;
  readonly: boolean;
}

export interface Forward {
  hostPort: number;
  guestPort: number;
}

/** Unix socket paths QEMU connects to (the host listens on each). */
export interface VmSockets {
  /** The serial console (ttyS0); absent when it goes to stdio (lab boot). */
  console?: string;
  qmp: string;
  /** virtio-serial ports by name (lab.cmd, lab.out, lab.err, lab.status, lab.ctl). */
  ports: Record<string, string>;
}

export interface QemuSpec {
  binary: string;
  /** Arguments placed first (e.g. `-L` firmware folders of the patched QEMU). */
  firmwareArgs: string[];
  accel: Accel;
  /** Firmware image (e.g. "qboot.rom", found through -L); default: QEMU's SeaBIOS. */
  bios?: string;
  machine: "q35" | "pc";
  cpu: string;
  smp: number;
  memMiB: number;
  kernel: string;
  initrd: string;
  cmdline: string;
  /** Read-only node image, attached as the first virtio disk (/dev/vda). */
  nodeImage?: string;
  shares: Share[];
  /** Number of virtio-cryptodev-pci devices (ids cryptodev0..N-1). */
  devices: number;
  /** Extra properties for every cryptodev device, e.g. "engine=builtin". */
  deviceOpts?: string;
  /** User networking (restrict=on) with host forwards on 127.0.0.1; null: no network. */
  net: { forwards: Forward[] } | null;
  sockets: VmSockets;
  /** Console on this terminal with QEMU's Ctrl-A mux (lab boot). */
  stdioConsole: boolean;
}

/** QEMU option values are comma-separated: a literal comma is doubled. */
export function qemuEscape(value: string): string {
  return value.replace(/,/g, ",,");
}

export function buildQemuArgs(s: QemuSpec): string[] {
  const a: string[] = [...s.firmwareArgs];
  a.push("-nodefaults", "-no-user-config", "-no-reboot", "-display", "none");
  a.push("-machine", `${s.machine},accel=${s.accel}`);
  if (s.bios) a.push("-bios", s.bios);
  a.push("-cpu", s.cpu, "-smp", String(s.smp), "-m", String(s.memMiB));
  a.push("-kernel", s.kernel, "-initrd", s.initrd, "-append", s.cmdline);

  if (s.stdioConsole) {
    a.push("-chardev", "stdio,id=con,mux=on,signal=off");
    a.push("-serial", "chardev:con", "-mon", "chardev=con,mode=readline");
  } else if (s.sockets.console) {
    a.push("-chardev", `socket,id=con,path=${qemuEscape(s.sockets.console)}`);
    a.push("-serial", "chardev:con");
  } else {
    a.push("-serial", "none");
  }
  a.push("-chardev", `socket,id=qmp,path=${qemuEscape(s.sockets.qmp)}`);
  a.push("-mon", "chardev=qmp,mode=control");

  const ports = Object.entries(s.sockets.ports);
  if (ports.length) {
    a.push("-device", "virtio-serial-pci,id=vser0,max_ports=8");
    ports.forEach(([name, path], i) => {
      a.push("-chardev", `socket,id=port${i},path=${qemuEscape(path)}`);
      a.push("-device", `virtserialport,bus=vser0.0,nr=${i + 1},chardev=port${i},name=${name}`);
    });
  }

  if (s.nodeImage) {
    a.push(
      "-drive",
      `file=${qemuEscape(s.nodeImage)},format=raw,if=none,id=nodeimg,readonly=on,cache=unsafe`,
    );
    a.push("-device", "virtio-blk-pci,drive=nodeimg");
  }

  s.shares.forEach((sh, i) => {
    const ro = sh.readonly ? ",readonly=on" : "";
    a.push("-fsdev", `local,id=fs${i},path=${qemuEscape(sh.hostPath)},security_model=none${ro}`);
    a.push("-device", `virtio-9p-pci,fsdev=fs${i},mount_tag=${sh.tag}`);
  });

  if (s.net) {
    const fwd = s.net.forwards
      .map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`)
      .join("");
    a.push("-netdev", `user,id=net0,restrict=on${fwd}`);
    a.push("-device", "virtio-net-pci,netdev=net0,romfile=");
  }

  // Each device behind its own PCIe root port so it can be hot-unplugged.
  // Under TCG a guest's kick is cheapest handled right in the vCPU thread
  // (no eventfd hop to the main loop and back): ioeventfd=off doubles 64 KiB
  // AES throughput there (host-backend/README.md). Under KVM the device keeps
  // QEMU's usual ioeventfd=on. An explicit ioeventfd= in deviceOpts wins.
  const tcgOpts =
    s.accel === "tcg" && !/(^|,)ioeventfd=/.test(s.deviceOpts ?? "") ? ",ioeventfd=off" : "";
  for (let k = 0; k < s.devices; k++) {
    const extra = tcgOpts + (s.deviceOpts ? `,${s.deviceOpts}` : "");
    if (s.machine === "q35") {
      a.push("-device", `pcie-root-port,id=rp${k},chassis=${k + 1},slot=${k + 1}`);
      a.push("-device", `virtio-cryptodev-pci,id=cryptodev${k},bus=rp${k}${extra}`);
    } else {
      a.push("-device", `virtio-cryptodev-pci,id=cryptodev${k}${extra}`);
    }
  }
  return a;
}

export interface CmdlineSpec {
  mode: "run" | "boot" | "probe";
  shares: Share[];
  devices: number;
  net: boolean;
  node: boolean;
  /** Full kernel log on the console (lab boot, --console); else quiet. */
  verbose: boolean;
  /** Init prints the guest uptime at each stage (LAB_TRACE_BOOT=1). */
  trace?: boolean;
  /** Guest path of the driver module init loads (default: the in-place build under /lab). */
  driver?: string;
  /** Kernel-specific words, appended last (the debug kernel's log level...). */
  extra?: string[];
  /** Parameters for profiling, e.g. initcall_debug (LAB_KERNEL_ARGS), after everything. */
  profiling?: string;
}

/** Guest paths go on the kernel command line: keep them to a safe alphabet. */
export const guestPathRe = /^\/[A-Za-z0-9._/+-]*$/;

export function kernelCmdline(c: CmdlineSpec): string {
  const p = [
    "console=ttyS0",
    "panic=-1",
    "oops=panic",
    // Boot-time cuts: crypto self-tests cost ~1 s under TCG.
    "cryptomgr.notests",
    // Built-in initcalls this guest does without, measured with
    // initcall_debug (LAB_KERNEL_ARGS="initcall_debug ignore_loglevel"):
    // the SP800-108 KDF self-test (the slowest initcall: 13% of all
    // initcalls' time), the "encrypted" key type, the PS/2 controller probe
    // (the console is serial).
    "initcall_blacklist=crypto_kdf108_init,init_encrypted,i8042_init",
    // A lab VM, not a hardened one: no zeroing of every allocated page
    // (Debian's init_on_alloc default), no Spectre mitigations (retpolines,
    // RSB filling on each context switch) that TCG pays for in every call.
    "init_on_alloc=0",
    "mitigations=off",
    "tsc=reliable",
    "8250.nr_uarts=1",
    c.verbose ? "loglevel=7" : "quiet",
    `lab.mode=${c.mode}`,
  ];
  if (c.shares.length) {
    for (const s of c.shares)
      if (!guestPathRe.test(s.guestPath) || !/^[A-Za-z0-9_]+$/.test(s.tag))
        throw new Error(`unsafe share ${s.tag}:${s.guestPath}`);
    p.push(`lab.shares=${c.shares.map((s) => `${s.tag}:${s.guestPath}`).join(",")}`);
  }
  if (c.devices > 0) p.push(`lab.devices=${c.devices}`);
  if (c.net) p.push("lab.net=1");
  if (c.node) p.push("lab.node=1");
  if (c.trace) p.push("lab.trace=1");
  if (c.driver) {
    if (!guestPathRe.test(c.driver)) throw new Error(`unsafe driver path ${c.driver}`);
    p.push(`lab.driver=${c.driver}`);
  }
  if (c.extra) p.push(...c.extra);
  if (c.profiling?.trim()) {
    if (!/^[A-Za-z0-9_.,=:+/ -]*$/.test(c.profiling))
      throw new Error(`LAB_KERNEL_ARGS: only [A-Za-z0-9_.,=:+/ -] allowed`);
    p.push(c.profiling.trim());
  }
  return p.join(" ");
}
