import { describe, expect, it } from "vitest";
import {
  abiNumber,
  debFileName,
  formatPins,
  kernelPackageNames,
  loadPins,
  parsePins,
} from "./pins.ts";

const pkg = (name: string, version = "6.1.192-2", arch = "amd64") => ({
  name,
  version,
  arch,
  sha256: "a".repeat(64),
});
const good = {
  kernel: {
    series: { abi: "6.1.0", flavour: "amd64", kbuild: "linux-kbuild-6.1" },
    release: "6.1.0-56-amd64",
    packages: [
      pkg("linux-image-6.1.0-56-amd64"),
      pkg("linux-headers-6.1.0-56-amd64"),
      pkg("linux-headers-6.1.0-56-common", "6.1.192-2", "all"),
      pkg("linux-kbuild-6.1", "1:6.1.192-3"),
    ],
  },
  qemu: { source: "qemu", version: "1:7.2+dfsg-7+deb12u18", series: "7.2" },
};
const mutate = (f: (g: typeof good) => void) => {
  const g = structuredClone(good);
  f(g);
  return JSON.stringify(g);
};

describe("pin file", () => {
  it("the repository's vm/pins.json is valid: one ABI of its series, four packages", () => {
    const p = loadPins();
    const abi = abiNumber(p.kernel.series, p.kernel.release);
    expect(abi).toBeTypeOf("number");
    expect(p.kernel.packages.map((x) => x.name).sort()).toEqual(
      kernelPackageNames(p.kernel.series, abi as number).sort(),
    );
    expect(parsePins(formatPins(p))).toEqual(p);
  });

  it("parses a good file and round-trips it", () => {
    const p = parsePins(JSON.stringify(good));
    expect(p.kernel.packages).toHaveLength(4);
    expect(parsePins(formatPins(p))).toEqual(p);
  });

  it("names .deb files as apt-get download does", () => {
    const p = parsePins(JSON.stringify(good)).kernel.packages[3];
    expect(p && debFileName(p)).toBe("linux-kbuild-6.1_1%3a6.1.192-3_amd64.deb");
  });

  it("reads ABI numbers only within the series", () => {
    const s = good.kernel.series;
    expect(abiNumber(s, "6.1.0-57-amd64")).toBe(57);
    expect(abiNumber(s, "6.1.0-57-cloud-amd64")).toBeUndefined();
    expect(abiNumber(s, "6.1.0-57-amd64-dbg")).toBeUndefined();
    expect(abiNumber(s, "6.6.0-1-amd64")).toBeUndefined();
  });

  it("rejects malformed pins", () => {
    expect(() => parsePins("{")).toThrow(/JSON/);
    expect(() =>
      parsePins(mutate((g) => ((g.kernel.packages[0] as { sha256: string }).sha256 = "xyz"))),
    ).toThrow(/sha256/);
    expect(() => parsePins(mutate((g) => (g.kernel.packages = [])))).toThrow(/non-empty/);
    expect(() => parsePins(mutate((g) => (g.kernel.release = "6.1.0-57-amd64")))).toThrow(
      /linux-image-6\.1\.0-57-amd64/,
    );
    expect(() => parsePins(mutate((g) => (g.kernel.release = "6.6.0-1-amd64")))).toThrow(
      /is not 6\.1\.0-N-amd64/,
    );
    expect(() =>
      parsePins(
        mutate((g) =>
          g.kernel.packages.push({ ...(g.kernel.packages[1] as ReturnType<typeof pkg>) }),
        ),
      ),
    ).toThrow(/must be/);
    expect(() => parsePins(mutate((g) => (g.qemu.series = "seven")))).toThrow(/qemu\.series/);
  });
});
