import { describe, expect, it } from "vitest";
import { type QemuSpec, buildQemuArgs, kernelCmdline, qemuEscape } from "./qemu-args.ts";

const base: QemuSpec = {
  binary: "/q",
  firmwareArgs: ["-L", "/usr/share/qemu"],
  accel: "tcg",
  machine: "q35",
  cpu: "max",
  smp: 1,
  memMiB: 1024,
  kernel: "/k/vmlinux",
  initrd: "/k/initrd",
  cmdline: "console=ttyS0",
  nodeImage: "/c/node.squashfs",
  shares: [{ tag: "lab", hostPath: "/repo,x", guestPath: "/lab", readonly: false }],
  devices: 2,
  net: { forwards: [{ hostPort: 8080, guestPort: 80 }] },
  sockets: {
    console: "/t/console.sock",
    qmp: "/t/qmp.sock",
    ports: { "lab.cmd": "/t/c.sock", "lab.ctl": "/t/x.sock" },
  },
  stdioConsole: false,
};

/** The value following each occurrence of `opt`. */
const values = (args: string[], opt: string) =>
  args.flatMap((a, i) => (a === opt ? [args[i + 1]] : []));

describe("buildQemuArgs", () => {
  const args = buildQemuArgs(base);

  it("starts with firmware folders and never reboots", () => {
    expect(args.slice(0, 2)).toEqual(["-L", "/usr/share/qemu"]);
    expect(args).toContain("-no-reboot");
    expect(args).toContain("-nodefaults");
    expect(values(args, "-machine")).toEqual(["q35,accel=tcg"]);
    expect(values(args, "-cpu")).toEqual(["max"]);
  });

  it("boots the given kernel, initrd and command line", () => {
    expect(values(args, "-kernel")).toEqual(["/k/vmlinux"]);
    expect(values(args, "-initrd")).toEqual(["/k/initrd"]);
    expect(values(args, "-append")).toEqual(["console=ttyS0"]);
  });

  it("adds N cryptodev devices, each behind its own root port", () => {
    const devs = values(args, "-device");
    expect(devs).toContain("pcie-root-port,id=rp0,chassis=1,slot=1");
    expect(devs).toContain("virtio-cryptodev-pci,id=cryptodev0,bus=rp0,ioeventfd=off");
    expect(devs).toContain("virtio-cryptodev-pci,id=cryptodev1,bus=rp1,ioeventfd=off");
    expect(devs.filter((d) => d?.startsWith("virtio-cryptodev-pci"))).toHaveLength(2);
    const none = buildQemuArgs({ ...base, devices: 0 });
    expect(none.join(" ")).not.toContain("cryptodev");
    const opts = buildQemuArgs({ ...base, devices: 1, deviceOpts: "engine=builtin" });
    expect(values(opts, "-device")).toContain(
      "virtio-cryptodev-pci,id=cryptodev0,bus=rp0,ioeventfd=off,engine=builtin",
    );
  });

  it("turns ioeventfd off under TCG only, unless the user chose", () => {
    const kvm = buildQemuArgs({ ...base, accel: "kvm", devices: 1 });
    expect(values(kvm, "-device")).toContain("virtio-cryptodev-pci,id=cryptodev0,bus=rp0");
    const mine = buildQemuArgs({ ...base, devices: 1, deviceOpts: "ioeventfd=on" });
    expect(values(mine, "-device")).toContain(
      "virtio-cryptodev-pci,id=cryptodev0,bus=rp0,ioeventfd=on",
    );
  });

  it("restricts user networking and binds forwards to 127.0.0.1", () => {
    expect(values(args, "-netdev")).toEqual([
      "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:8080-:80",
    ]);
    expect(buildQemuArgs({ ...base, net: null }).join(" ")).not.toContain("netdev");
  });

  it("names the virtio-serial ports and connects them to the sockets", () => {
    const devs = values(args, "-device");
    expect(devs).toContain("virtserialport,bus=vser0.0,nr=1,chardev=port0,name=lab.cmd");
    expect(values(args, "-chardev")).toContain("socket,id=port1,path=/t/x.sock");
    expect(values(args, "-chardev")).toContain("socket,id=qmp,path=/t/qmp.sock");
    expect(values(args, "-mon")).toEqual(["chardev=qmp,mode=control"]);
  });

  it("escapes commas in paths and attaches the node image read-only", () => {
    expect(qemuEscape("a,b")).toBe("a,,b");
    expect(values(args, "-fsdev")).toEqual(["local,id=fs0,path=/repo,,x,security_model=none"]);
    expect(values(args, "-drive")[0]).toContain("readonly=on");
  });

  it("puts the console on stdio with the Ctrl-A mux for lab boot", () => {
    const boot = buildQemuArgs({ ...base, stdioConsole: true });
    expect(values(boot, "-chardev")).toContain("stdio,id=con,mux=on,signal=off");
    expect(values(boot, "-serial")).toEqual(["chardev:con"]);
  });
});

describe("kernelCmdline", () => {
  it("panics on oops, reboots never, and passes the lab settings", () => {
    const c = kernelCmdline({
      mode: "run",
      shares: base.shares,
      devices: 1,
      net: true,
      node: true,
      verbose: false,
    });
    expect(c.split(" ")).toEqual(
      expect.arrayContaining([
        "panic=-1",
        "oops=panic",
        "quiet",
        "lab.mode=run",
        "lab.shares=lab:/lab",
        "lab.devices=1",
        "lab.net=1",
        "lab.node=1",
      ]),
    );
    const v = kernelCmdline({
      mode: "boot",
      shares: [],
      devices: 0,
      net: false,
      node: false,
      verbose: true,
    });
    expect(v).not.toContain("quiet");
    expect(v).not.toContain("lab.devices");
  });

  it("names the driver to load and appends the kernel's own words last", () => {
    const c = kernelCmdline({
      mode: "run",
      shares: [],
      devices: 1,
      net: false,
      node: false,
      verbose: false,
      driver: "/lab/out/driver-debug/vcryptodev.ko",
      extra: ["loglevel=6"],
    }).split(" ");
    expect(c).toContain("lab.driver=/lab/out/driver-debug/vcryptodev.ko");
    // After `quiet`: the later log level wins.
    expect(c.at(-1)).toBe("loglevel=6");
    expect(c.indexOf("quiet")).toBeLessThan(c.indexOf("loglevel=6"));
    expect(() =>
      kernelCmdline({
        mode: "run",
        shares: [],
        devices: 1,
        net: false,
        node: false,
        verbose: false,
        driver: "/x y.ko",
      }),
    ).toThrow();
  });

  it("refuses guest paths that would break the command line", () => {
    const bad = [{ tag: "s0", hostPath: "/h", guestPath: "/a b", readonly: false }];
    expect(() =>
      kernelCmdline({
        mode: "run",
        shares: bad,
        devices: 0,
        net: false,
        node: false,
        verbose: false,
      }),
    ).toThrow();
  });
});
