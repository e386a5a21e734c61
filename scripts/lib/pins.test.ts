import { describe, expect, it } from "vitest";
import { debFileName, loadPins, parsePins } from "./pins.ts";

const good = {
  kernel: {
    release: "6.1.0-56-amd64",
    packages: [
      {
        name: "linux-image-6.1.0-56-amd64",
        version: "6.1.192-2",
        arch: "amd64",
        sha256: "a".repeat(64),
      },
      { name: "linux-kbuild-6.1", version: "1:6.1.192-2", arch: "amd64", sha256: "b".repeat(64) },
    ],
  },
};

describe("pin file", () => {
  it("the repository's vm/pins.json is valid and pins the brief's kernel", () => {
    const p = loadPins();
    expect(p.kernel.release).toBe("6.1.0-56-amd64");
    expect(p.kernel.packages.map((x) => x.name).sort()).toEqual([
      "linux-headers-6.1.0-56-amd64",
      "linux-headers-6.1.0-56-common",
      "linux-image-6.1.0-56-amd64",
      "linux-kbuild-6.1",
    ]);
  });

  it("parses a good file", () => {
    expect(parsePins(JSON.stringify(good)).kernel.packages).toHaveLength(2);
  });

  it("names .deb files as apt-get download does", () => {
    const p = parsePins(JSON.stringify(good)).kernel.packages[1];
    expect(p && debFileName(p)).toBe("linux-kbuild-6.1_1%3a6.1.192-2_amd64.deb");
  });

  it("rejects malformed pins", () => {
    const mutate = (f: (g: typeof good) => void) => {
      const g = structuredClone(good);
      f(g);
      return JSON.stringify(g);
    };
    expect(() => parsePins("{")).toThrow(/JSON/);
    expect(() =>
      parsePins(mutate((g) => ((g.kernel.packages[0] as { sha256: string }).sha256 = "xyz"))),
    ).toThrow(/sha256/);
    expect(() => parsePins(mutate((g) => (g.kernel.packages = [])))).toThrow(/non-empty/);
    expect(() => parsePins(mutate((g) => (g.kernel.release = "6.1.0-57-amd64")))).toThrow(
      /linux-image/,
    );
    expect(() =>
      parsePins(
        mutate((g) =>
          g.kernel.packages.push({ ...(g.kernel.packages[1] as (typeof g.kernel.packages)[1]) }),
        ),
      ),
    ).toThrow(/twice/);
  });
});
