import { describe, expect, it } from "vitest";
import { UsageError } from "../lib/errors.ts";
import { parseForward, parseShare, parseVmArgs } from "./options.ts";

describe("lab run arguments", () => {
  it("has defaults and takes the command after --", () => {
    const a = parseVmArgs(["--", "sh", "-c", "exit 7"], true);
    expect(a.command).toEqual(["sh", "-c", "exit 7"]);
    expect(a).toMatchObject({
      accel: "auto",
      smp: 1,
      memMiB: 1024,
      net: true,
      shares: [],
      forwards: [],
    });
    expect(a.devices).toBeUndefined();
    expect(a.kernel).toBe("default");
  });

  it("--kernel picks the default or the debug kernel, nothing else", () => {
    expect(parseVmArgs(["--kernel", "debug", "--", "true"], true).kernel).toBe("debug");
    expect(parseVmArgs(["--kernel=default", "--", "true"], true).kernel).toBe("default");
    expect(() => parseVmArgs(["--kernel", "kasan", "--", "true"], true)).toThrow(UsageError);
  });

  it("parses every option, in both spellings", () => {
    const a = parseVmArgs(
      [
        "--devices",
        "2",
        "--share",
        "/h:/g",
        "--share=/x",
        "--forward",
        "8080:80",
        "--timeout",
        "1.5",
        "--accel=tcg",
        "--smp",
        "2",
        "--mem",
        "512",
        "--cpu",
        "max",
        "--console",
        "/tmp/c.log",
        "--",
        "true",
      ],
      true,
    );
    expect(a).toMatchObject({
      devices: 2,
      shares: [
        { hostPath: "/h", guestPath: "/g" },
        { hostPath: "/x", guestPath: "/mnt/share" },
      ],
      forwards: [{ hostPort: 8080, guestPort: 80 }],
      timeoutS: 1.5,
      accel: "tcg",
      smp: 2,
      memMiB: 512,
      cpu: "max",
      console: "/tmp/c.log",
      command: ["true"],
    });
  });

  it("picks the rootfs flavour: --rootfs, else $LAB_ROOTFS, else the initramfs", () => {
    const saved = process.env.LAB_ROOTFS;
    try {
      delete process.env.LAB_ROOTFS;
      expect(parseVmArgs(["--", "true"], true).rootfs).toBe("initramfs");
      expect(parseVmArgs(["--rootfs", "buildroot", "--", "true"], true).rootfs).toBe("buildroot");
      process.env.LAB_ROOTFS = "buildroot";
      expect(parseVmArgs(["--", "true"], true).rootfs).toBe("buildroot");
      expect(parseVmArgs(["--rootfs=initramfs", "--", "true"], true).rootfs).toBe("initramfs");
      expect(() => parseVmArgs(["--rootfs", "debian", "--", "true"], true)).toThrow(UsageError);
    } finally {
      if (saved === undefined) delete process.env.LAB_ROOTFS;
      else process.env.LAB_ROOTFS = saved;
    }
  });

  it("stops at the first non-option: the command's own options are its own", () => {
    expect(parseVmArgs(["ls", "--devices", "3"], true).command).toEqual(["ls", "--devices", "3"]);
    expect(parseVmArgs(["--", "--devices"], true).command).toEqual(["--devices"]);
  });

  it("rejects bad input with a usage error", () => {
    for (const bad of [
      ["--timeout", "0", "--", "x"],
      ["--timeout", "soon", "--", "x"],
      ["--accel", "hvf", "--", "x"],
      ["--devices", "-1", "--", "x"],
      ["--smp"],
      ["--bogus", "--", "x"],
      ["--forward", "80", "--", "x"],
      ["--forward", "70000:1", "--", "x"],
      ["--share", "/a:/lab", "--", "x"],
      ["--share", "/a:/s", "--share", "/b:/s", "--", "x"],
      ["--no-net", "--forward", "1:2", "--", "x"],
      [],
    ])
      expect(() => parseVmArgs(bad, true), bad.join(" ")).toThrow(UsageError);
    expect(() => parseVmArgs(["--", "x"], false)).toThrow(UsageError);
  });

  it("splits --share at the last colon before an absolute guest path", () => {
    expect(parseShare("/a:b:/g")).toEqual({ hostPath: "/a:b", guestPath: "/g" });
    expect(parseShare("rel/dir")).toEqual({ hostPath: "rel/dir", guestPath: "/mnt/share" });
    expect(() => parseShare("/a:/g h")).toThrow(UsageError);
    expect(parseForward("1:65535")).toEqual({ hostPort: 1, guestPort: 65535 });
  });
});
