import { describe, expect, it } from "vitest";
import {
  failedPackage,
  hostConfig,
  hostConfigNames,
  menuconfigFragment,
  overrideFile,
  packageOfLine,
  parseConfig,
} from "./config.ts";

const host = hostConfig({
  toolchain: "/c/toolchain",
  dlDir: "/c/dl",
  overrideFile: "/c/override.mk",
  busyboxConfig: "/c/debsrc/busybox-1.35.0/debian/config/pkg/static",
  kernelBuildDir: "/c/kernel/headers",
  moduleStage: "/c/stage",
  jobs: 2,
});

describe("Buildroot configuration text", () => {
  it("writes one override per Debian source tree and the fakeroot install", () => {
    const t = overrideFile({
      overrides: { BUSYBOX: "/s/busybox-1.35.0" },
      binaries: { fakeroot: "/s/fr", libfakeroot: "/s/lfr", patchelf: "/s/pe" },
      emptyDir: "/s/empty",
    });
    expect(t).toContain("BUSYBOX_OVERRIDE_SRCDIR = /s/busybox-1.35.0\n");
    expect(t).toContain("HOST_FAKEROOT_OVERRIDE_SRCDIR = /s/fr\n");
    expect(t).toContain("HOST_PATCHELF_OVERRIDE_SRCDIR = /s/pe\n");
    expect(t).toContain("\nBR2_TAR_HOST_DEPENDENCY =\n");
    // `override`: the package's own assignment, read later, must not win.
    expect(t).toContain("override HOST_FAKEROOT_DEPENDENCIES = host-skeleton\n");
    expect(t).toContain("override HOST_PATCHELF_DEPENDENCIES = host-skeleton\n");
    expect(t).toMatch(/define HOST_FAKEROOT_INSTALL_CMDS\n\t[^\n]+faked-sysv/);
    expect(t).toContain("\t$(INSTALL) -D -m 0644 /s/lfr/usr/lib/");
    expect(t).toContain("HOST_TAR_OVERRIDE_SRCDIR = /s/empty\n");
    expect(() => overrideFile({ overrides: {}, binaries: {}, emptyDir: "/e" })).toThrow(/fakeroot/);
  });

  it("quotes the host lines and refuses values Kconfig cannot hold", () => {
    const c = parseConfig(host);
    expect(c.get("BR2_TOOLCHAIN_EXTERNAL_PATH")).toBe('BR2_TOOLCHAIN_EXTERNAL_PATH="/c/toolchain"');
    expect(c.get("BR2_JLEVEL")).toBe("BR2_JLEVEL=2");
    expect([...c.keys()].sort()).toEqual([...hostConfigNames].sort());
    expect(() =>
      hostConfig({
        toolchain: '/a"b',
        dlDir: "",
        overrideFile: "",
        busyboxConfig: "",
        kernelBuildDir: "",
        moduleStage: "",
        jobs: 1,
      }),
    ).toThrow(/unsafe/);
  });

  it("saves as a fragment only what menuconfig changed, never the host lines", () => {
    const base = `BR2_x86_64=y\nBR2_PACKAGE_LAB_TESTS=y\n# BR2_TARGET_GENERIC_GETTY is not set\n${host}`;
    const saved = [
      "BR2_x86_64=y",
      "BR2_PACKAGE_STRACE=y",
      'BR2_TOOLCHAIN_EXTERNAL_PATH="/elsewhere"',
      "BR2_JLEVEL=8",
      "# BR2_TARGET_GENERIC_GETTY is not set",
    ].join("\n");
    const f = menuconfigFragment(base, saved, hostConfigNames);
    expect(f.split("\n").filter((l) => l && !l.startsWith("# Saved"))).toEqual([
      "# BR2_PACKAGE_LAB_TESTS is not set",
      "BR2_PACKAGE_STRACE=y",
    ]);
    expect(menuconfigFragment(base, base, hostConfigNames)).toBe("");
  });

  it("names the package Buildroot was building when it stopped", () => {
    const log = [
      "\x1b[7m>>> host-m4 1.4.19 Installing to host directory\x1b[27m",
      "\x1b[7m>>> host-tar custom Configuring\x1b[27m",
      "checking for gcc... gcc",
      "configure: error: you should not run configure as root",
    ].join("\n");
    expect(packageOfLine("\x1b[7m>>> busybox custom Building\x1b[27m")).toBe("busybox");
    expect(packageOfLine("checking whatever >>> x")).toBeUndefined();
    expect(failedPackage(log)).toBe("host-tar");
    expect(failedPackage(`${log}\n>>>   Finalizing target directory\nerror`)).toBe(
      "Finalizing target directory",
    );
    expect(failedPackage("make: *** no rule")).toBeUndefined();
  });
});
